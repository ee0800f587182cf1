"""PostgreSQL COPY text lines for a product's row and the rows it owns (findings, provenance,
software, target links).

The loader writes ~15 such rows per file; formatting them here, in one call per product
(compiled with mypyc, see :mod:`catalog.harvest.native`), costs a fraction of psycopg's
``write_row`` per row. The format is COPY's default text format: tab-separated, ``\\N``
for NULL, backslash escapes for backslash, newline, carriage return and tab.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from catalog.harvest.findings import Finding, Severity
from catalog.harvest.records import InputRef, ProductRecord, SoftwareRef, TargetRef
from catalog.model.base import HLSP_CALIB_LEVEL
from catalog.sphere import SkyCircle

NULL = "\\N"
_INFO = Severity.INFO
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


def finding_lines(product_id: int, findings: Sequence[Finding], start: int = 1) -> str:
    """``product_finding (product_id, finding_index, code, severity, hdu, keyword, message)``
    of the errors and warnings (info-level advice is for ``hlsp check`` reports), numbered
    from ``start``."""
    pid = str(product_id)
    lines: list[str] = []
    n = start - 1
    info = _INFO  # not ``Severity.INFO``: compiled, that is a class attribute lookup a finding
    for f in findings:
        severity = f.severity
        if severity == info:
            continue
        n += 1
        lines.append(
            f"{pid}\t{n}\t{text(f.code)}\t{text(str(severity))}\t{integer(f.hdu)}\t"
            f"{text(f.keyword or f.field)}\t{text(f.message)}\n"
        )
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


def _two(value: int) -> str:
    return str(value) if value >= 10 else "0" + str(value)


def timestamp(ns: int) -> str:
    """A timestamptz field from nanoseconds since the epoch, to the microsecond (truncated,
    as ``load.exact_mtime``), in UTC: ``str()`` of that datetime, which psycopg sends.

    Integer arithmetic (the proleptic Gregorian calendar, Howard Hinnant's days-to-civil):
    a third of the cost of building the datetime and printing it."""
    days, micros = divmod(ns // 1000, 86_400_000_000)
    seconds, fraction = divmod(micros, 1_000_000)
    z = days + 719_468  # days since 0000-03-01
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    if not 1 <= year <= 9999:
        raise ValueError(f"year {year} is out of range")  # as datetime would
    clock = f"{_two(seconds // 3600)}:{_two(seconds // 60 % 60)}:{_two(seconds % 60)}"
    if fraction:
        clock += "." + str(1_000_000 + fraction)[1:]
    return f"{str(10_000 + year)[1:]}-{_two(month)}-{_two(day)} {clock}+00:00"


def point(ra: float | None, dec: float | None) -> str:
    """An spoint literal in degrees (``sphere.SkyPoint.pgsphere_literal``), or NULL."""
    if ra is None or dec is None:
        return NULL
    return "(" + repr(ra) + "d, " + repr(dec) + "d)"


def polygon(vertices: list[tuple[float, float]] | None) -> str:
    """An spoly literal in degrees, RA wrapped into [0, 360) (``sphere.wrap_ra``), or NULL
    when there are none."""
    if not vertices:
        return NULL
    parts: list[str] = []
    for ra, dec in vertices:
        wrapped = ra % 360.0
        parts.append("(" + repr(0.0 if wrapped >= 360.0 else wrapped) + "d, " + repr(dec) + "d)")
    return "{" + ",".join(parts) + "}"


def circle(bound: SkyCircle | None) -> str:
    """An scircle literal in degrees (``sphere.SkyCircle.pgsphere_literal``), or NULL."""
    if bound is None:
        return NULL
    centre = bound.centre
    return "<(" + repr(centre.ra) + "d, " + repr(centre.dec) + "d), " + repr(bound.radius) + "d>"


PRODUCT_COLUMNS = (
    "collection_id",
    "file_name",
    "file_path",
    "file_format",
    "file_bytes",
    "file_mtime",
    "hdu_count",
    "product_version",
    "product_type",
    "dataproduct_type",
    "calib_level",
    "observatory",
    "telescope",
    "instrument",
    "detector",
    "filter_name",
    "aperture",
    "disperser",
    "target_name",
    "pos",
    "footprint",
    "footprint_bound",
    "s_fov",
    "s_xel1",
    "s_xel2",
    "t_min",
    "t_max",
    "time_scale",
    "t_exptime",
    "t_xel",
    "em_min",
    "em_max",
    "em_xel",
    "simulated",
    "headers",
    "verdict",
    "harvest_run_id",
)
"""The ``hlsp.product`` columns a harvest writes, in the order :func:`product_line` writes
them: a column added here is added there, in the same place (the loader stages and upserts
exactly these; ``load.NOT_HARVESTED`` lists the table's other columns, and a test fails
naming any column in neither)."""
_CALIB_LEVEL: Final = str(HLSP_CALIB_LEVEL)


def product_line(no: int, r: ProductRecord, collection_id: int, run_id: int, end: str) -> str:
    """``no`` and the :data:`PRODUCT_COLUMNS` of a sanitized record, as one COPY line of
    ``stage_product``/``product``, followed by ``end`` (the newline, or the last columns'
    text and the newline).

    One call and one string per product, where psycopg's ``write_row`` would dump its 37
    values one by one (a quarter of the loader's time)."""
    return (
        f"{no}\t{collection_id}\t{text(r.file_name)}\t{text(r.path)}\t{text(r.file_format)}\t"
        f"{r.file_bytes}\t{timestamp(r.mtime_ns)}\t{r.hdu_count}\t{text(r.product_version)}\t"
        f"{text(r.product_type)}\t{text(r.dataproduct_type)}\t{_CALIB_LEVEL}\t"
        f"{text(r.observatory)}\t{text(r.telescope)}\t{text(r.instrument)}\t"
        f"{text(r.detector)}\t{text(r.filter_name)}\t{text(r.aperture)}\t{text(r.disperser)}\t"
        f"{text(r.target_name)}\t{point(r.ra, r.dec)}\t{polygon(r.footprint)}\t"
        f"{circle(r.footprint_bound)}\t"
        f"{real(r.s_fov)}\t{integer(r.s_xel1)}\t{integer(r.s_xel2)}\t{real(r.t_min)}\t"
        f"{real(r.t_max)}\t{text(r.time_scale)}\t{real(r.t_exptime)}\t{integer(r.t_xel)}\t"
        f"{real(r.em_min)}\t{real(r.em_max)}\t{integer(r.em_xel)}\t"
        f"{'t' if r.simulated else 'f'}\t{text(r.headers)}\t{text(str(r.verdict))}\t"
        f"{run_id}{end}"
    )


def target_lines(targets: list[tuple[int, TargetRef]]) -> str:
    """``target (target_id, name, pos)`` of new targets."""
    return "".join(
        [f"{target_id}\t{text(ref.name)}\t{point(ref.ra, ref.dec)}\n" for target_id, ref in targets]
    )


def alias_lines(aliases: list[tuple[str, int, str]]) -> str:
    """``target_alias (name_key, target_id, name)``."""
    return "".join(
        [f"{text(key)}\t{target_id}\t{text(name)}\n" for key, target_id, name in aliases]
    )


def link_lines(links: list[tuple[int, int]]) -> str:
    """``product_target (product_id, target_id)``."""
    return "".join([f"{product_id}\t{target_id}\n" for product_id, target_id in links])


# -- array literals ---------------------------------------------------------------------------
# The batch's keys travel to PostgreSQL as arrays (``= ANY(%s::text[])``, ``unnest``). psycopg
# dumps a list element by element in Python (~1 µs an element); these build the same arrays'
# text form in one call. Bind the result as a string and cast it to the array type.


def int_array(values: Sequence[int]) -> str:
    """A ``bigint[]``/``int[]`` literal."""
    return "{" + ",".join([str(v) for v in values]) + "}"


def text_array(values: Sequence[str]) -> str:
    """A ``text[]`` literal: every element double-quoted (so commas, braces, spaces and the
    word NULL stay text), backslash and double quote escaped with a backslash."""
    parts: list[str] = []
    for value in values:
        quoted = value.replace("\\", "\\\\") if "\\" in value else value
        if '"' in quoted:
            quoted = quoted.replace('"', '\\"')
        parts.append('"' + quoted + '"')
    return "{" + ",".join(parts) + "}"


def real_array(values: Sequence[float | None]) -> str:
    """A ``float8[]`` literal, None as NULL (each value as :func:`real` writes it)."""
    return "{" + ",".join(["NULL" if v is None else real(v) for v in values]) + "}"
