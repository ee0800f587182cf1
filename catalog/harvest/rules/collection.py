"""Consistency across the files of one collection: one HLSPID, one DOI, a README.

Each file contributes a small :class:`MemberFacts` (picklable, so workers can send it back);
the collection check compares them. The value most files agree on is taken as the
collection's; ties go to the value equal to the file names' proj-id, then to the first in
alphabetical order. Per-file checks (HLSPID against the file name, HLSPVER against the
file-name version) are in :func:`catalog.harvest.rules.check_headers`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from catalog.harvest.findings import Finding, Rule
from catalog.harvest.fits.reader import Header, Value
from catalog.harvest.records import ProductRecord
from catalog.harvest.rules import codes

README = "readme"


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What the collection check needs from one file."""

    file_name: str
    hlspid: str | None
    hlspver: str | None
    doi: str | None
    name_proj_id: str | None
    name_version: str | None
    product_type: str | None

    def __reduce__(self) -> tuple[type[MemberFacts], tuple[object, ...]]:
        return MemberFacts, (
            self.file_name,
            self.hlspid,
            self.hlspver,
            self.doi,
            self.name_proj_id,
            self.name_version,
            self.product_type,
        )  # see native.py


def member_facts(
    file_name: str,
    headers: Sequence[Header],
    name_proj_id: str | None,
    name_version: str | None,
    product_type: str | None,
) -> MemberFacts:
    """The facts of one file: HLSPID, HLSPVER (or HLSP_VER) and DOI as written, first HDU first."""
    return MemberFacts(
        file_name=file_name,
        hlspid=_first(headers, "HLSPID"),
        hlspver=_first(headers, "HLSPVER") or _first(headers, "HLSP_VER"),
        doi=_first(headers, "DOI"),
        name_proj_id=name_proj_id,
        name_version=name_version,
        product_type=product_type,
    )


def member_of(record: ProductRecord) -> MemberFacts:
    """The facts of a file already read (its record), for the collection check."""
    return MemberFacts(
        file_name=record.file_name,
        hlspid=record.facts.hlspid,
        hlspver=record.facts.hlspver,
        doi=record.facts.doi,
        name_proj_id=record.name_proj_id,
        name_version=record.name_version,
        product_type=record.product_type,
    )


def _first(headers: Sequence[Header], keyword: str) -> str | None:
    for header in headers:
        if keyword in header:
            return _as_text(header[keyword])
    return None


def _as_text(value: Value) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    result = str(value).strip()
    return result or None


_GETTERS: dict[str, Callable[[MemberFacts], str | None]] = {
    "HLSPID": lambda m: m.hlspid,
    "DOI": lambda m: m.doi,
}


def check_collection(
    members: Sequence[MemberFacts], *, other_files: Sequence[str] = ()
) -> tuple[list[Finding], dict[str, list[Finding]]]:
    """(collection-level findings, findings per file name) for the files of one collection;
    ``other_files`` are the collection's other file names (README, previews, ...)."""
    collection: list[Finding] = []
    per_file: dict[str, list[Finding]] = {}
    if (members or other_files) and not _has_readme(members, other_files):
        collection.append(
            codes.README_MISSING(
                f"None of the collection's {len(members) + len(other_files)} files is a README"
            )
        )
    proj_ids = Counter(m.name_proj_id.lower() for m in members if m.name_proj_id)
    _agree(members, "HLSPID", codes.HLSPID_INCONSISTENT, per_file, proj_ids)
    _agree(members, "DOI", codes.DOI_INCONSISTENT, per_file)
    return collection, per_file


def is_readme(file_name: str, product_type: str | None = None) -> bool:
    """A README by its product type, its file-name product type, or a README* name."""
    if product_type is not None and product_type.strip().lower() == README:
        return True
    name = file_name.lower()
    if "/" in name or "\\" in name:
        name = PurePosixPath(name.replace("\\", "/")).name
    return name.startswith(README) or name.split(".")[0].rsplit("_", 1)[-1] == README


def _has_readme(members: Sequence[MemberFacts], other_files: Sequence[str]) -> bool:
    # The README is usually one of the other files: look there before the FITS members.
    return any(is_readme(name) for name in other_files) or any(
        is_readme(m.file_name, m.product_type) for m in members
    )


def _agree(
    members: Sequence[MemberFacts],
    keyword: str,
    rule: Rule,
    per_file: dict[str, list[Finding]],
    preferred: Counter[str] | None = None,
) -> None:
    """Report the files whose value of ``keyword`` differs from the collection's (case-blind)."""
    preferred = preferred or Counter()
    get = _GETTERS[keyword]
    values = [(m, v) for m in members if (v := get(m)) is not None]
    counts = Counter(v.lower() for _, v in values)
    if len(counts) < 2:
        return
    majority = min(counts, key=lambda v: (-counts[v], -preferred[v], v))
    spelled = next(v for _, v in values if v.lower() == majority)
    for member, value in values:
        if value.lower() != majority:
            per_file.setdefault(member.file_name, []).append(
                rule(
                    f"{keyword} = '{value}' here, but '{spelled}' in {counts[majority]} of the "
                    f"{len(values)} files that give {keyword}",
                    keyword=keyword,
                )
            )
