"""``hlsp check``: validate a contribution against the HLSP guidelines, without a database.

Every file under the given paths gets a verdict: FITS files are read and checked
(nomenclature + metadata rules), other files (README, previews, CSV catalogs) get the
nomenclature check. Collection-level rules run over each collection's files.
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from catalog.harvest.findings import RULES, Finding, Severity, Verdict, verdict_of
from catalog.harvest.perfile import process_file, start_reader
from catalog.harvest.records import FileFailure, FileResult, FileTask, ProductRecord
from catalog.harvest.rules import MemberFacts, check_collection, member_of
from catalog.harvest.rules.nomenclature import FieldCheck, check_name
from catalog.harvest.walk import Walk
from catalog.model.names import hlsp_id

CHUNK = 32
"""Files handed to a pool worker at a time."""


@dataclass
class FileReport:
    path: str
    file_name: str
    collection: str | None
    verdict: Verdict
    findings: list[Finding]
    fields: tuple[FieldCheck, ...] = ()
    kind: str | None = None
    readable: bool = True


@dataclass
class CheckReport:
    roots: list[str]
    files: list[FileReport] = field(default_factory=list)
    collection_findings: dict[str, list[Finding]] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        collection = (f.verdict for fs in self.collection_findings.values() for f in fs)
        return Verdict.worst([*(f.verdict for f in self.files), *collection])

    def counts(self) -> dict[str, int]:
        counts = {v.value: 0 for v in Verdict}
        for report in self.files:
            counts[report.verdict.value] += 1
        return counts

    @property
    def exit_code(self) -> int:
        """0 PASS, 1 NEEDS REVIEW, 3 FAIL (2 is kept for usage and environment errors)."""
        return {Verdict.PASS: 0, Verdict.NEEDS_REVIEW: 1, Verdict.FAIL: 3}[self.verdict]


def _failure_report(failure: FileFailure, collection: str | None) -> FileReport:
    rule = RULES.get(failure.code)
    finding = Finding(failure.code, rule.severity if rule else Severity.ERROR, failure.reason)
    return FileReport(
        failure.path, Path(failure.path).name, collection, Verdict.FAIL, [finding], readable=False
    )


def read_files(tasks: Iterable[FileTask], jobs: int) -> Iterator[FileResult]:
    """process_file over the tasks, on a pool of ``jobs`` processes (in-process for 1),
    handed out ``CHUNK`` at a time."""
    iterator = iter(tasks)
    first = next(iterator, None)
    if first is None:  # nothing to read: no pool at all
        return
    if jobs <= 1:
        yield from map(process_file, itertools.chain([first], iterator))
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(jobs, initializer=start_reader) as pool:
        try:
            yield from pool.imap_unordered(process_file, itertools.chain([first], iterator), CHUNK)
        finally:
            pool.terminate()


def run_check(
    paths: Sequence[Path], *, collection: str | None = None, jobs: int = 1
) -> CheckReport:
    """Check every file under ``paths``; nothing is written anywhere."""
    walk = Walk(list(paths), collection=collection)
    report = CheckReport([str(p) for p in paths])
    members: dict[str, list[MemberFacts]] = {}
    tasks: dict[str, FileTask] = {}

    def remember(items: Iterable[FileTask]) -> Iterator[FileTask]:
        for task in items:
            tasks[task.path] = task
            yield task

    for result in read_files(remember(walk.tasks()), jobs):
        if isinstance(result, FileFailure):
            task = tasks.get(result.path)
            fallback = task.collection or task.directory_collection if task else None
            report.files.append(_failure_report(result, hlsp_id(fallback)))
            continue
        report.files.append(_product_report(result))
        if result.collection:
            members.setdefault(result.collection, []).append(member_of(result))
    for failure in walk.failures:
        report.files.append(_failure_report(failure, collection))
    owners: dict[str | None, Counter[str]] = {}
    for report_file in report.files:
        task = tasks.get(report_file.path)
        if task is not None and report_file.collection:
            owners.setdefault(task.directory_collection, Counter())[report_file.collection] += 1
    found = {c for counts in owners.values() for c in counts}
    only = next(iter(found)) if len(found) == 1 else None
    for group, names in walk.other_files.items():
        # README, previews, CSV: expected to belong to the collection the FITS files of
        # their directory tree belong to (not to a sub-directory's name).
        majority = owners.get(hlsp_id(group), Counter()).most_common(1)
        expected = hlsp_id(collection) or (majority[0][0] if majority else only)
        for path in names:
            report.files.append(_other_file_report(path, expected))
    by_name = {(r.collection, r.file_name): r for r in report.files}
    for coll, facts in members.items():
        collection_level, per_file = check_collection(
            facts, other_files=[Path(p).name for p in walk.other_files.get(coll, [])]
        )
        if collection_level:
            report.collection_findings[coll] = collection_level
        for file_name, findings in per_file.items():
            target = by_name.get((coll, file_name))
            if target is not None and findings:
                target.findings.extend(findings)
                target.verdict = verdict_of(target.findings)
    report.files.sort(key=lambda r: (r.collection or "", r.path))
    return report


def _product_report(record: ProductRecord) -> FileReport:
    name = check_name(record.file_name, record.collection)
    return FileReport(
        record.path,
        record.file_name,
        record.collection,
        record.verdict,
        list(record.findings),
        name.fields,
        record.kind,
    )


def _other_file_report(path: str, expected: str | None) -> FileReport:
    name = Path(path).name
    check = check_name(name, expected)
    return FileReport(
        path,
        name,
        expected,
        check.verdict,
        list(check.findings),
        check.fields,
        "readme" if check.product_type == "readme" else "other",
    )
