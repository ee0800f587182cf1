"""Every finding kind of the metadata rules, registered once with a stable code.

Codes are never renumbered or reused. ``HLSP-Knnn``: header keywords and their values;
``HLSP-Pnnn``: provenance; ``HLSP-Cnnn``: consistency across the files of a collection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from catalog.harvest.findings import Finding, Severity, rule

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

# Presence of keywords (levels of MAST's HLSP metadata pages)
REQUIRED_MISSING = rule(
    "HLSP-K001",
    ERROR,
    "Required keyword missing",
    "MAST's HLSP guidelines require it; the file fails review until it is added.",
)
RECOMMENDED_MISSING = rule(
    "HLSP-K002",
    WARNING,
    "Recommended keyword missing",
    "MAST derives recommended keywords at ingest when they are absent; "
    "supply it to control the value.",
)
SUGGESTED_MISSING = rule(
    "HLSP-K003",
    INFO,
    "Suggested keyword missing",
    "Suggested keywords help archive users; nothing fails without it.",
)
NON_STANDARD = rule(
    "HLSP-K004",
    WARNING,
    "Non-standard keyword used",
    "The file is harvestable as it is; rename the keyword to the standard name "
    "in the next delivery.",
)
UNEXPECTED_HDU = rule(
    "HLSP-K005",
    WARNING,
    "Keyword in an unexpected HDU",
    "Keywords are read from the HDU they belong to; move or copy the keyword there.",
)

# Values of keywords
LICENSE_WRONG = rule(
    "HLSP-K006",
    ERROR,
    "LICENSE is not 'CC BY 4.0'",
    "HLSPs are published under CC BY 4.0: set LICENSE = 'CC BY 4.0'.",
)
LICENURL_SPELLING = rule(
    "HLSP-K007",
    WARNING,
    "LICENURL spelled differently",
    "Write exactly LICENURL = 'https://creativecommons.org/licenses/by/4.0/'.",
)
LICENURL_WRONG = rule(
    "HLSP-K008",
    ERROR,
    "LICENURL is not the CC BY 4.0 URL",
    "Set LICENURL = 'https://creativecommons.org/licenses/by/4.0/'.",
)
DOI_MALFORMED = rule(
    "HLSP-K009",
    ERROR,
    "DOI malformed",
    "DOI holds the collection's bare DOI under MAST's prefix, e.g. DOI = '10.17909/qsyr-ny68' "
    "(no 'doi:' or https://doi.org/ prefix); it is shown on the collection's HLSP page.",
)
EQUINOX_WITH_ICRS = rule(
    "HLSP-K010",
    ERROR,
    "EQUINOX used with RADESYS = 'ICRS'",
    "ICRS has no equinox: delete EQUINOX, or set RADESYS to the FK4/FK5 frame it refers to.",
)
RADESYS_VALUE = rule(
    "HLSP-K011",
    WARNING,
    "Unexpected RADESYS",
    "MAST's guidelines allow RADESYS = 'ICRS' (preferred) or 'FK5'.",
)
CD_AND_PC = rule(
    "HLSP-K012",
    ERROR,
    "CD and PC matrices both present",
    "A WCS uses either CDi_j or PCi_j with CDELTi, never both: delete one of them.",
)
IMPLICIT_PC = rule(
    "HLSP-K013",
    INFO,
    "WCS without a CD or PC matrix",
    "Valid FITS (PCi_j defaults to the identity), but MAST lists CDi_j or PCi_j with CDELTi: "
    "write the matrix explicitly.",
)
NOT_A_NUMBER = rule(
    "HLSP-K014",
    ERROR,
    "Value is not a number",
    "Write the value as a FITS number (no quotes) in the unit the keyword defines.",
)
OUT_OF_RANGE = rule(
    "HLSP-K015",
    ERROR,
    "Value out of range",
    "Correct the value; coordinates are decimal degrees, RA in [0, 360), Dec in [-90, 90], "
    "durations non-negative seconds (an exposure at most a century), times MJD or dates "
    "between the years 1000 and 3000.",
)
DATE_NOT_ISO = rule(
    "HLSP-K016",
    ERROR,
    "Date not in ISO-8601",
    "Write dates as 'YYYY-MM-DD' or 'YYYY-MM-DDThh:mm:ss[.sss]' in the time scale TIMESYS.",
)
TIMES_DISORDERED = rule(
    "HLSP-K017",
    ERROR,
    "Start, middle and end times out of order",
    "The start (DATE-BEG/MJD-BEG) must not be after the middle (DATE-AVG/MJD-MID) "
    "nor the end (DATE-END/MJD-END): check which value is wrong.",
)
SIMULATD_VALUE = rule(
    "HLSP-K018",
    ERROR,
    "SIMULATD not a logical, or not T on simulated data",
    "Simulated products carry SIMULATD = T (the FITS logical, not a string) "
    "in the primary header; real data omit it or set F.",
)
HLSPID_NAME_MISMATCH = rule(
    "HLSP-K019",
    ERROR,
    "HLSPID differs from the file-name proj-id",
    "HLSPID and the proj-id field of the file name both name the collection; "
    "make them equal (case does not matter).",
)
HLSPVER_NAME_MISMATCH = rule(
    "HLSP-K020",
    WARNING,
    "HLSPVER differs from the file-name version",
    "Keep HLSPVER and the version field of the file name in step "
    "('v1', '1' and '1.0' count as equal).",
)
COLUMN_UNNAMED = rule(
    "HLSP-K021",
    ERROR,
    "Table column without TTYPEn",
    "Every column of a table needs a name: add TTYPEn.",
)
COLUMN_NO_UNIT = rule(
    "HLSP-K022",
    ERROR,
    "Table column without TUNITn",
    "Add TUNITn to every physical column (TUNITn = '' for a dimensionless one); "
    "integer, logical and text columns may omit it.",
)
EPOCH_DEPRECATED = rule(
    "HLSP-K023",
    WARNING,
    "Deprecated EPOCH keyword",
    "EPOCH is deprecated in FITS: write EQUINOX instead (none at all with RADESYS = 'ICRS').",
)
BAD_TYPE = rule(
    "HLSP-K024",
    ERROR,
    "Keyword value of the wrong type",
    "Write the value as a FITS character string in single quotes.",
)

# Provenance
NO_PROVENANCE = rule(
    "HLSP-P001",
    WARNING,
    "No provenance",
    "MAST links each HLSP product to the mission data it was made from: add FILEID01, "
    "FILEID02, ... (the MAST observation IDs, or file names, of the inputs) or a BINTABLE "
    "extension with EXTNAME = 'PROVENANCE' and one row per input.",
)
MULTI_WITHOUT_RECORDS = rule(
    "HLSP-P002",
    WARNING,
    "'MULTI' keyword without its numbered records",
    "A keyword set to 'MULTI' is followed by one record per input, named with an abbreviation "
    "of the keyword and a 2-digit number from 01 (e.g. INSTRUME = 'MULTI', INSTRU01, INSTRU02).",
)
RECORDS_NOT_CONTIGUOUS = rule(
    "HLSP-P003",
    WARNING,
    "Numbered provenance records not contiguous",
    "Number the records 01, 02, ... without gaps, one per input, in the same order for "
    "every keyword.",
)
PROVENANCE_EMPTY = rule(
    "HLSP-P004",
    WARNING,
    "PROVENANCE extension without rows",
    "The PROVENANCE extension is a BINTABLE with one row per contributing observation: "
    "fill it or remove it.",
)

# Collection consistency
HLSPID_INCONSISTENT = rule(
    "HLSP-C001",
    ERROR,
    "HLSPID differs within the collection",
    "A collection has one HLSPID: use the same value in every file.",
)
DOI_INCONSISTENT = rule(
    "HLSP-C002",
    ERROR,
    "DOI differs within the collection",
    "DOI is the DOI of the whole collection: use the same value in every file.",
)
README_MISSING = rule(
    "HLSP-C003",
    ERROR,
    "README missing",
    "Every HLSP collection includes a README (e.g. hlsp_<proj-id>_readme.txt or .md) with "
    "contacts, date, version and changes, references and how the files are organised.",
)

_SHARED: dict[tuple[object, ...], Finding] = {}
_SHARED_MAX = 4096


def shared(key: tuple[object, ...], make: Callable[..., Finding], *args: Any) -> Finding:
    """The finding ``make(*args)`` builds for ``key``, built once: findings are immutable,
    and the files of one collection repeat the same ones (the rules run on every file)."""
    found = _SHARED.get(key)
    if found is None:
        if len(_SHARED) >= _SHARED_MAX:
            _SHARED.clear()
        found = _SHARED[key] = make(*args)
    return found
