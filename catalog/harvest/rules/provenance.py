"""Provenance: can MAST link the product to the mission data it was made from (P-PROV)?

Two accepted forms: numbered header records (FILEID01, FILEID02, ... and, for each keyword
whose value differs between the inputs, KEYWORD = 'MULTI' followed by records named with an
abbreviation of the keyword and a 2-digit number), or a BINTABLE extension with
EXTNAME = 'PROVENANCE', one row per input (which then gives the values of the 'MULTI'
keywords, as in ULLYSES).

No provenance at all is a warning, not an error: the guideline asks for it for products
derived from mission data (all HLSPs but simulations, which are not checked), yet the
product is usable and harvestable without it and MAST reviews it case by case.
"""

from __future__ import annotations

import re

from catalog.harvest.findings import Finding
from catalog.harvest.rules import codes
from catalog.harvest.rules.view import FileView, integer, label

_RECORD = re.compile(r"([A-Z][A-Z0-9_-]{2,5})([0-9]{2})")
_MULTI_SPELLINGS = frozenset({"MULTI", "multi", "Multi"})
_NOT_MULTI = ("TTYPE", "TFORM", "TUNIT", "TDISP", "EXTNAME", "OBJECT", "HLSPTARG")


_NONE = codes.NO_PROVENANCE(
    "No FILEIDnn keywords and no PROVENANCE extension: nothing says which mission "
    "observations this product was made from"
)


def check_provenance(view: FileView) -> list[Finding]:
    """Findings about the provenance records of one (non-simulated) product."""
    findings = [
        codes.PROVENANCE_EMPTY(
            f"The PROVENANCE extension ({label(table)}) has no rows",
            hdu=table.index,
            keyword="NAXIS2",
        )
        for table in view.provenance
        if not integer(view.of(table).get("NAXIS2"), 1, 2**62)
    ]
    multi = _multi_keywords(view)
    joined = "\n".join(view.present)
    fileids = joined.count("FILEID")
    if not fileids and not view.provenance:
        findings.append(_NONE)
    if not multi and _leading_run(view, "FILEID") == fileids:
        return findings  # nothing to match, FILEID01..FILEIDnn without gaps: skip the scan
    records, first_hdu = _records(view)
    checked = {"FILEID"} & records.keys()
    for keyword, hdu in multi.items():
        prefixes = [p for p in records if keyword.startswith(p)]
        if not prefixes and not view.provenance:  # a PROVENANCE table gives the values
            stem = keyword[:6]
            findings.append(
                codes.MULTI_WITHOUT_RECORDS(
                    f"{keyword} = 'MULTI' in HDU {hdu} but there are no {stem}01, {stem}02, ... "
                    f"records giving the value of each input",
                    hdu=hdu,
                    keyword=keyword,
                )
            )
        checked.update(prefixes)
    for prefix in sorted(checked):
        numbers = sorted(records[prefix])
        if numbers != list(range(1, len(numbers) + 1)):
            listed = ", ".join(f"{prefix}{n:02d}" for n in numbers[:6])
            more = ", ..." if len(numbers) > 6 else ""
            findings.append(
                codes.RECORDS_NOT_CONTIGUOUS(
                    f"The {prefix}nn records are {listed}{more}; expected {prefix}01 to "
                    f"{prefix}{len(numbers):02d}",
                    hdu=first_hdu[prefix],
                    keyword=f"{prefix}{numbers[0]:02d}",
                )
            )
    return findings


def _multi_keywords(view: FileView) -> dict[str, int]:
    """Keywords whose value is 'MULTI', with the first HDU holding each."""
    multi: dict[str, int] = {}
    for header, values in zip(view.headers, view.values, strict=True):
        if _MULTI_SPELLINGS.isdisjoint(values.values()):
            continue
        for keyword, value in values.items():
            if value in _MULTI_SPELLINGS and not keyword.startswith(_NOT_MULTI):
                multi.setdefault(keyword, header.index)
    return multi


def _leading_run(view: FileView, prefix: str) -> int:
    """How many of PREFIX01, PREFIX02, ... are present without a gap."""
    n = 0
    while view.has(f"{prefix}{n + 1:02d}"):
        n += 1
    return n


def _records(view: FileView) -> tuple[dict[str, set[int]], dict[str, int]]:
    """Numbered records: prefix -> numbers present, and prefix -> first HDU with one."""
    records: dict[str, set[int]] = {}
    first_hdu: dict[str, int] = {}
    for keyword in [k for k in view.present if k[-2:].isdigit()]:
        match = _RECORD.fullmatch(keyword)
        if match is not None:
            prefix = match.group(1)
            records.setdefault(prefix, set()).add(int(match.group(2)))
            hit = view.find(keyword)
            where = hit[0].index if hit is not None else 0
            first_hdu[prefix] = min(first_hdu.get(prefix, where), where)
    return records, first_hdu
