"""What a check finds: findings, the rules that produce them, and verdicts.

Every finding has a stable code, registered once here by the module that produces it with
:func:`rule`. Codes are grouped by letter:

    HLSP-Nnnn   file nomenclature (catalog.harvest.rules.nomenclature)
    HLSP-Knnn   header keywords and values (catalog.harvest.rules)
    HLSP-Pnnn   provenance (catalog.harvest.rules)
    HLSP-Cnnn   collection consistency (catalog.harvest.rules)
    HLSP-Rnnn   reading the file (catalog.harvest.fits.reader): a file that cannot be read
                is a harvest failure, not a product

Severities map to verdicts the way MAST's checker scores a field: ``error`` -> FAIL,
``warning`` -> NEEDS REVIEW, ``info`` -> no effect (advice). A file's verdict is the worst
of its findings; PASS when there is nothing worse than info.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Verdict(StrEnum):
    PASS = "PASS"  # noqa: S105 (a verdict, not a password)
    NEEDS_REVIEW = "NEEDS REVIEW"
    FAIL = "FAIL"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def worst(cls, verdicts: Iterable[Verdict]) -> Verdict:
        return max(verdicts, key=lambda v: _RANK[v], default=cls.PASS)


_RANK = {Verdict.PASS: 0, Verdict.NEEDS_REVIEW: 1, Verdict.FAIL: 2}
_VERDICT_OF = {
    Severity.ERROR: Verdict.FAIL,
    Severity.WARNING: Verdict.NEEDS_REVIEW,
    Severity.INFO: Verdict.PASS,
}
_CODE = re.compile(r"^HLSP-[NKPCR][0-9]{3}$")


class Finding(NamedTuple):
    """One thing a check found in one file (immutable; a tuple, so cheap to pickle)."""

    code: str
    severity: Severity
    message: str  # what is wrong, specifically, and how to fix it
    hdu: int | None = None  # 0 = primary
    keyword: str | None = None  # FITS keyword concerned
    field: str | None = None  # file-name field concerned (nomenclature findings)

    @property
    def verdict(self) -> Verdict:
        return _VERDICT_OF[self.severity]


@dataclass(frozen=True)
class Rule:
    """A registered finding kind: stable code, default severity, title and how to fix it."""

    code: str
    severity: Severity
    title: str  # short, e.g. "Required keyword missing"
    fix: str  # generic advice, e.g. "Add the keyword to the primary header."
    area: str = field(default="")  # documentation section, derived from the code letter

    def __call__(
        self,
        detail: str,
        *,
        hdu: int | None = None,
        keyword: str | None = None,
        field: str | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding of this kind; ``detail`` says what is wrong in this file."""
        detail = detail.rstrip()
        if detail and detail[-1] not in ".!?":
            detail += "."
        return Finding(
            code=self.code,
            severity=severity or self.severity,
            message=f"{detail} {self.fix}".strip(),
            hdu=hdu,
            keyword=keyword,
            field=field,
        )


AREAS = {
    "N": "File nomenclature",
    "K": "Header keywords",
    "P": "Provenance",
    "C": "Collection consistency",
    "R": "Reading files",
}
RULES: dict[str, Rule] = {}


def rule(code: str, severity: Severity, title: str, fix: str) -> Rule:
    """Register a finding kind. Codes are unique and never reused for another meaning."""
    if not _CODE.match(code):
        raise ValueError(f"finding code {code!r} does not match HLSP-<N|K|P|C|R><3 digits>")
    if code in RULES:
        raise ValueError(f"finding code {code} is registered twice")
    registered = Rule(code, severity, title, fix, AREAS[code[5]])
    RULES[code] = registered
    return registered


def verdict_of(findings: Iterable[Finding]) -> Verdict:
    """The worst verdict among the findings (PASS when there are none)."""
    severities = {f.severity for f in findings}  # (one set: called for every file and field)
    if Severity.ERROR in severities:
        return Verdict.FAIL
    return Verdict.NEEDS_REVIEW if Severity.WARNING in severities else Verdict.PASS
