"""Values of present keywords: licence, DOI, reference frame, dates, MJDs, positions, versions.

Each keyword is checked in every HDU that holds it; the same bad value repeated in several
HDUs is reported once, at the first.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator, Set
from datetime import datetime
from itertools import pairwise

from catalog.harvest.findings import Finding, Severity
from catalog.harvest.fits.reader import Header, Value
from catalog.harvest.plausible import EXPOSURE_MAX, EXPOSURE_RANGE, MJD_MAX, MJD_MIN, TIME_RANGE
from catalog.harvest.rules import codes
from catalog.harvest.rules.view import FileView, label, number, shown, text

LICENSE = "CC BY 4.0"
LICENURL = "https://creativecommons.org/licenses/by/4.0/"
DOI = re.compile(r"^10\.17909/[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")
_HTTP = re.compile(r"^http://", re.IGNORECASE)
_DOI_PREFIX = re.compile(r"^(doi:\s*|https?://(dx\.)?doi\.org/)", re.IGNORECASE)
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?Z?$"
)  # FITS dates (ISO-8601 subset); a trailing Z is tolerated (TESS writes it)
_FK_FRAMES = frozenset({"FK4", "FK5", "FK4-NO-E"})
_VALID_FRAMES = frozenset({"ICRS", "FK5"})
_OTHER_FITS_FRAMES = frozenset({"FK4", "FK4-NO-E", "GAPPT", "ICRF"})
DATES = ("DATE-BEG", "DATE-AVG", "DATE-END", "DATE-OBS")
MJDS = ("MJD-BEG", "MJD-MID", "MJD-END", "MJD-AVG", "MJD-OBS", "MJD_BEG", "MJD_MID", "MJD_END")
RAS = ("RA_TARG", "RA_OBJ", "TARG_RA")
DECS = ("DEC_TARG", "DEC_OBJ", "TARG_DEC")
DURATIONS = ("XPOSURE", "TELAPSE")
_NUMERIC = MJDS + RAS + DECS + DURATIONS
_FRAME_KEYWORDS = frozenset({"RADESYS", "EQUINOX"})
_UNITS = {
    **dict.fromkeys(MJDS, "days (MJD)"),
    **dict.fromkeys(RAS + DECS, "decimal degrees"),
    **dict.fromkeys(DURATIONS, "seconds"),
}
_CHECKED = frozenset(  # keywords whose values are checked
    (
        "LICENSE",
        "LICENURL",
        "DOI",
        "RADESYS",
        "EQUINOX",
        "EPOCH",
        *DATES,
        *MJDS,
        *RAS,
        *DECS,
        *DURATIONS,
    )
)


def check_values(view: FileView) -> list[Finding]:
    """Findings for the values of present keywords (not their presence)."""
    present = view.present & _CHECKED  # (mypyc: a frozenset's & takes only a frozenset)
    if not present:
        return []
    findings: list[Finding] = []
    if "LICENSE" in present or "LICENURL" in present:
        findings.extend(_licence(view))
    if "DOI" in present:
        findings.extend(_doi(view))
    if present & _FRAME_KEYWORDS:
        findings.extend(_frames(view))
    findings.extend(_dates(view, present))
    findings.extend(_numbers(view, present))
    findings.extend(_order(view))
    if "EPOCH" in present:
        findings.extend(
            codes.EPOCH_DEPRECATED(
                f"{label(h)} has EPOCH = {shown(v)}", hdu=h.index, keyword="EPOCH"
            )
            for h, v in _distinct(view, "EPOCH")
        )
    return findings


def _distinct(view: FileView, keyword: str) -> Iterator[tuple[Header, Value]]:
    """Each distinct value of the keyword, with the first HDU holding it."""
    hits = view.everywhere(keyword)
    if len(hits) == 1:
        yield hits[0]
        return
    seen: list[Value] = []
    for header, value in hits:
        if not any(type(value) is type(s) and value == s for s in seen):
            seen.append(value)
            yield header, value


def _licence(view: FileView) -> Iterator[Finding]:
    for h, v in _distinct(view, "LICENSE"):
        if text(v) != LICENSE:
            yield codes.LICENSE_WRONG(
                f"LICENSE = {shown(v)} in {label(h)}", hdu=h.index, keyword="LICENSE"
            )
    for h, v in _distinct(view, "LICENURL"):
        url = text(v)
        if url == LICENURL:
            continue
        rule = codes.LICENURL_SPELLING if _near_licenurl(url) else codes.LICENURL_WRONG
        yield rule(f"LICENURL = {shown(v)} in {label(h)}", hdu=h.index, keyword="LICENURL")


def _near_licenurl(url: str | None) -> bool:
    """The CC BY 4.0 URL but for http, 'www.' or the trailing slash."""
    if url is None:
        return False
    canonical = _HTTP.sub("https://", url.rstrip("/") + "/").replace("://www.", "://", 1)
    return canonical == LICENURL


def _doi(view: FileView) -> Iterator[Finding]:
    for h, v in _distinct(view, "DOI"):
        doi = text(v)
        if doi is not None and DOI.match(doi):
            continue
        hint = ""
        if doi is not None and _DOI_PREFIX.match(doi):
            hint = f"; write it as DOI = '{_DOI_PREFIX.sub('', doi)}'"
        elif doi is not None and not doi.startswith("10.17909/"):
            hint = "; HLSP collection DOIs start with 10.17909/"
        yield codes.DOI_MALFORMED(
            f"DOI = {shown(v)} in {label(h)} is not a DOI of the form 10.17909/xxxx-xxxx{hint}",
            hdu=h.index,
            keyword="DOI",
        )


def _frames(view: FileView) -> Iterator[Finding]:
    frames = view.everywhere("RADESYS")
    for h, v in _distinct(view, "RADESYS"):
        frame = text(v)
        if frame is None:
            yield codes.BAD_TYPE(
                f"RADESYS = {shown(v)} in {label(h)} is not a frame name; write RADESYS = 'ICRS'",
                hdu=h.index,
                keyword="RADESYS",
            )
        elif frame.upper() not in _VALID_FRAMES:
            known = frame.upper() in _OTHER_FITS_FRAMES
            yield codes.RADESYS_VALUE(
                f"RADESYS = {shown(v)} in {label(h)}"
                + ("" if known else " is not a FITS reference frame"),
                hdu=h.index,
                keyword="RADESYS",
                severity=None if known else Severity.ERROR,
            )
    equinoxes = view.everywhere("EQUINOX")
    for h, v in _distinct(view, "EQUINOX"):
        if number(v) is None:
            yield codes.NOT_A_NUMBER(
                f"EQUINOX = {shown(v)} in {label(h)} is not a number (e.g. 2000.0)",
                hdu=h.index,
                keyword="EQUINOX",
            )
    # an HDU without RADESYS is in the primary header's frame, else in the file's first one
    frame_of = {id(h): (text(v) or "").upper() for h, v in frames}
    default = frame_of.get(id(view.primary)) or (frame_of[id(frames[0][0])] if frames else "")
    icrs = [h for h, _ in equinoxes if frame_of.get(id(h), default) == "ICRS"]
    if icrs:
        where = ", ".join(str(h.index) for h in icrs[:8]) + (
            f" and {len(icrs) - 8} more" if len(icrs) > 8 else ""
        )
        yield codes.EQUINOX_WITH_ICRS(
            f"EQUINOX = {shown(equinoxes[0][1])} is set in HDU {where} where RADESYS = 'ICRS'",
            hdu=icrs[0].index,
            keyword="EQUINOX",
        )
    fk = next(((h, v) for h, v in frames if frame_of[id(h)] in _FK_FRAMES), None)
    if fk is not None and not equinoxes:
        yield codes.REQUIRED_MISSING(
            f"RADESYS = {shown(fk[1])} in {label(fk[0])} but EQUINOX is not in any "
            f"HDU; add the equinox of the frame, e.g. EQUINOX = 2000.0",
            hdu=fk[0].index,
            keyword="EQUINOX",
        )


def parse_date(value: Value) -> datetime | None:
    """The FITS ISO-8601 date as a datetime (leap second 60 read as 59), or None."""
    return _parse_date(value) if isinstance(value, str) else None


@functools.lru_cache(maxsize=512)  # each date is read twice: its format, then the order
def _parse_date(value: str) -> datetime | None:
    match = _ISO.match(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            min(int(second or 0), 59),
            int((fraction or "0")[:6].ljust(6, "0")),
        )
    except ValueError:
        return None


def _dates(view: FileView, present: Set[str]) -> Iterator[Finding]:
    for keyword in DATES:
        if keyword not in present:
            continue
        for h, v in _distinct(view, keyword):
            if parse_date(v) is None:
                yield codes.DATE_NOT_ISO(
                    f"{keyword} = {shown(v)} in {label(h)} is not an ISO-8601 date",
                    hdu=h.index,
                    keyword=keyword,
                )


_RANGES: dict[str, tuple[float, float, bool, str]] = {  # low, high, high included, rule
    **dict.fromkeys(RAS, (0.0, 360.0, False, "right ascension must be in [0, 360) degrees")),
    **dict.fromkeys(DECS, (-90.0, 90.0, True, "declination must be in [-90, 90] degrees")),
    **dict.fromkeys(DURATIONS, (0.0, math.inf, True, "a duration cannot be negative")),
    "XPOSURE": (0.0, EXPOSURE_MAX, True, f"it must be {EXPOSURE_RANGE}"),
    **dict.fromkeys(MJDS, (MJD_MIN, MJD_MAX, True, f"it must be {TIME_RANGE}")),
}


def _numbers(view: FileView, present: Set[str]) -> Iterator[Finding]:
    for keyword in _NUMERIC:
        if keyword not in present:
            continue
        bounds = _RANGES.get(keyword)
        for h, v in _distinct(view, keyword):
            x = number(v)
            if x is None:
                yield codes.NOT_A_NUMBER(
                    f"{keyword} = {shown(v)} in {label(h)} is not a finite number; "
                    f"write it in {_UNITS[keyword]}",
                    hdu=h.index,
                    keyword=keyword,
                )
            elif bounds is not None and not (
                bounds[0] <= x < bounds[1] or (bounds[2] and x == bounds[1])
            ):
                yield codes.OUT_OF_RANGE(
                    f"{keyword} = {shown(v)} in {label(h)}: {bounds[3]}",
                    hdu=h.index,
                    keyword=keyword,
                )


_EPOCH = datetime(2000, 1, 1)
# start, middle, end: each the first present of its keywords (standard, then variant)
_TIME_TRIPLES = (
    (("MJD-BEG", "MJD_BEG"), ("MJD-MID", "MJD_MID"), ("MJD-END", "MJD_END")),
    (("DATE-BEG",), ("DATE-AVG",), ("DATE-END",)),
)
_TIMES = tuple((t, frozenset(k for names in t for k in names)) for t in _TIME_TRIPLES)


def _time_point(
    view: FileView, keywords: tuple[str, ...]
) -> tuple[str, Header, Value, float] | None:
    """(keyword, HDU, value, comparable number) of the first of ``keywords`` present."""
    for keyword in keywords:
        hit = view.find(keyword)
        if hit is None:
            continue
        header, value = hit
        if keyword.startswith("MJD"):
            x = number(value)
        else:
            date = parse_date(value)
            x = (date - _EPOCH).total_seconds() if date is not None else None
        return (keyword, header, value, x) if x is not None else None
    return None


def _order(view: FileView) -> Iterator[Finding]:
    for triple, keywords in _TIMES:
        if len(view.present & keywords) < 2:
            continue
        points = [p for p in (_time_point(view, names) for names in triple) if p is not None]
        for (k1, h1, v1, x1), (k2, _, v2, x2) in pairwise(points):
            if x1 > x2:
                yield codes.TIMES_DISORDERED(
                    f"{k1} = {shown(v1)} is after {k2} = {shown(v2)}",
                    hdu=h1.index,
                    keyword=k1,
                )
                break
