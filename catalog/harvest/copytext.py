"""PostgreSQL COPY text lines for the rows a product owns (findings, provenance, software).

The loader writes ~15 such rows per file; formatting them here, in one call per product
(compiled with mypyc, see :mod:`catalog.harvest.native`), costs a fraction of psycopg's
``write_row`` per row. The format is COPY's default text format: tab-separated, ``\\N``
for NULL, backslash escapes for backslash, newline, carriage return and tab.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from catalog.harvest.findings import Finding, Severity
from catalog.harvest.records import InputRef, SoftwareRef

NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def text(value: str | None) -> str:
    """A text field."""
    if value is None:
        return NULL
    if "\\" in value or "\n" in value or "\r" in value or "\t" in value:
        return value.translate(_ESCAPES)
    return value


def integer(value: int | None) -> str:
    return NULL if value is None else str(value)


def real(value: float | None) -> str:
    """A float8 field: the shortest text that reads back as the same double."""
    if value is None:
        return NULL
    if math.isfinite(value):
        return repr(value)
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def finding_lines(product_id: int, findings: Sequence[Finding]) -> str:
    """``product_finding (product_id, finding_index, code, severity, hdu, keyword, message)``
    of the errors and warnings (info-level advice is for ``hlsp check`` reports), numbered
    from 1."""
    pid = str(product_id)
    lines: list[str] = []
    n = 0
    for f in findings:
        if f.severity == Severity.INFO:
            continue
        n += 1
        lines.append(f"{pid}\t{n}\t{text(f.code)}\t{text(str(f.severity))}\t{integer(f.hdu)}\t"
                     f"{text(f.keyword or f.field)}\t{text(f.message)}\n")  # fmt: skip
    return "".join(lines)


def input_lines(product_id: int, inputs: Sequence[InputRef]) -> str:
    """``provenance_input (product_id, input_index, kind, identifier, source, program_id,
    telescope, instrument, t_min, t_max)``, numbered from 1."""
    pid = str(product_id)
    return "".join(
        f"{pid}\t{n}\t{text(i.kind)}\t{text(i.identifier)}\t{text(i.source)}\t"
        f"{text(i.program_id)}\t{text(i.telescope)}\t{text(i.instrument)}\t{real(i.t_min)}\t"
        f"{real(i.t_max)}\n"
        for n, i in enumerate(inputs, start=1)
    )


def software_lines(product_id: int, software: Sequence[SoftwareRef]) -> str:
    """``provenance_software (product_id, software_index, name, software_version, source)``,
    numbered from 1."""
    pid = str(product_id)
    return "".join(
        f"{pid}\t{n}\t{text(s.name)}\t{text(s.version)}\t{text(s.source)}\n"
        for n, s in enumerate(software, start=1)
    )
