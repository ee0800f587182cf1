"""Header values -> the fields of a product row, tolerant of the variants real HLSPs use.

Each ``*_of`` function reads one aspect (instrument, position, time, wavelength, targets,
provenance, software) from the headers, looking at the primary header first and then at
the extensions, and accepting the non-standard keywords of real collections (docs/hlsp-rules.md
§5: RA_OBJ, TARG_RA, MJD_BEG, XPTIME, TSTART/TSTOP + BJDREF, EXPSTART/EXPEND, DATE-OBS,
HLSP_VER, OBJECT/TICID/TARGNAME, ORIGIN/CREATOR, ...).

Times are MJD in the file's own time scale (TIMESYS, recorded in ``time_scale``); a
barycentric (TDB) and a UTC time differ by at most ~70 s plus the light-travel correction
(≤ 8.3 min), far below what ObsCore time-window searches resolve, so values are not
converted between scales.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from catalog.harvest import bands
from catalog.harvest.fits.reader import Header, Value
from catalog.harvest.fits.skywcs import (
    angular_distance,
    image_corners,
    length_unit,
    number,
    spectral_range,
)
from catalog.harvest.plausible import EXPOSURE_RANGE, TIME_RANGE, is_exposure, is_mjd
from catalog.harvest.records import CollectionFacts, InputRef, SoftwareRef, TargetRef

PLACEHOLDERS = frozenset(
    {"", "MULTI", "MULTIPLE", "ALL", "NONE", "N/A", "NA", "UNKNOWN", "ANY", "VARIOUS", "NULL", "-"}
)
_MJD_EPOCH = datetime(1858, 11, 17, tzinfo=UTC)
_SEXAGESIMAL = re.compile(
    r"^\s*([+-]?)(\d{1,3})[:\sh]\s*(\d{1,2})[:\sm]\s*(\d{1,2}(?:\.\d*)?)s?\s*$"
)


def text(value: Value) -> str | None:
    """A stripped string value, None for empty values and placeholders like 'MULTI'."""
    if value is None or isinstance(value, bool):
        return None
    result = str(value).strip()
    return None if result.upper() in PLACEHOLDERS else result


_LAST_VIEW: list[Any] = [None, {}]


def _view(headers: Sequence[Header]) -> dict[str, list[Value]]:
    """keyword -> its non-empty values, primary HDU first. Every lookup of one file's
    extraction reads this one dictionary (built once per headers list, kept for the last)."""
    if _LAST_VIEW[0] is headers:
        return _LAST_VIEW[1]  # type: ignore[no-any-return]
    values: dict[str, list[Value]] = {}
    for header in headers:
        for keyword, value in header.items():
            if value is None or (type(value) is str and not value.strip()):
                continue
            found = values.get(keyword)
            if found is None:
                values[keyword] = [value]
            else:
                found.append(value)
    _LAST_VIEW[0], _LAST_VIEW[1] = headers, values
    return values


def first(headers: Sequence[Header], *keywords: str) -> tuple[Value, str] | None:
    """The first (value, keyword) among ``keywords`` in priority order, primary HDU first."""
    values = _view(headers)
    for keyword in keywords:
        found = values.get(keyword)
        if found:
            return found[0], keyword
    return None


def first_id(headers: Sequence[Header], *keywords: str) -> int | None:
    """A positive catalogue number (int or digit string; floats lose digits of 64-bit ids)."""
    values = _view(headers)
    for keyword in keywords:
        for value in values.get(keyword, ()):
            if isinstance(value, bool):
                continue
            if isinstance(value, int) and value > 0:
                return value
            if isinstance(value, str) and value.strip().isdigit() and int(value) > 0:
                return int(value)
            if isinstance(value, float) and value.is_integer() and 0 < value < 2**53:
                return int(value)
    return None


def first_text(headers: Sequence[Header], *keywords: str) -> str | None:
    values = _view(headers)
    for keyword in keywords:
        for value in values.get(keyword, ()):
            result = text(value)
            if result is not None:
                return result
    return None


def first_number(headers: Sequence[Header], *keywords: str) -> float | None:
    values = _view(headers)
    for keyword in keywords:
        for value in values.get(keyword, ()):
            result = number(value)
            if result is not None:
                return result
    return None


# -- instrument ------------------------------------------------------------------------------


def canonical(value: str | None) -> str | None:
    """Upper-case, single-spaced form used for facets (observatory, instrument, filter)."""
    return " ".join(value.upper().split()) if value else None


def filters_of(headers: Sequence[Header], name_filter: str | None) -> list[str]:
    """Every filter a product was taken through (FILTER, FILTER1/2, FILTERnn, file name)."""
    found: list[str] = []
    for header in headers:
        # FILTER/FILTER1/FILTER2/PUPIL of one HDU are elements of one light path: joined
        # with ';' so the band lookup intersects them (NIRCam F444W + PUPIL F405N = F405N).
        path = [
            value
            for keyword in ("FILTER", "FILTER1", "FILTER2", "FILTNAM1", "FILTNAM2", "PUPIL")
            if (value := text(header.get(keyword))) and not value.upper().startswith("CLEAR")
        ]
        joined = ";".join(dict.fromkeys(path))
        if joined and joined not in found:
            found.append(joined)
    for keyword, values in _view(headers).items():
        if keyword.startswith("FILTER") and keyword[6:].isdigit() and len(keyword) > 7:
            for raw in values:
                value = text(raw)
                if value and value not in found:
                    found.append(value)
    if not found and name_filter and name_filter.lower() not in {"multi", "all", "none"}:
        found = [part for part in name_filter.split("-") if part]
    return found


# -- position --------------------------------------------------------------------------------

_POSITION_PAIRS = (
    ("RA_TARG", "DEC_TARG"), ("TARG_RA", "TARG_DEC"), ("RA_OBJ", "DEC_OBJ"),
    ("RA_NOM", "DEC_NOM"), ("OBJCTRA", "OBJCTDEC"), ("RA", "DEC"),
)  # fmt: skip


def angle(value: Value, *, hours: bool) -> float | None:
    """Degrees from a number or a sexagesimal string ('hh:mm:ss.s' for RA, 'dd:mm:ss' Dec)."""
    result = number(value)
    if result is not None:
        return result
    if isinstance(value, str) and (match := _SEXAGESIMAL.match(value)):
        sign, a, b, c = match.groups()
        degrees = int(a) + int(b) / 60 + float(c) / 3600
        return (-1 if sign == "-" else 1) * degrees * (15 if hours else 1)
    return None


def position_of(headers: Sequence[Header]) -> tuple[float, float] | None:
    """Target position in degrees from target keywords (RA in [0, 360), Dec in range)."""
    for ra_key, dec_key in _POSITION_PAIRS:
        for header in headers:
            if ra_key not in header or dec_key not in header:
                continue
            raw_ra = header.get(ra_key)
            ra = angle(raw_ra, hours=isinstance(raw_ra, str) and ":" in raw_ra)
            dec = angle(header.get(dec_key), hours=False)
            if ra is None or dec is None:
                continue
            if ra == 360.0:
                ra = 0.0
            if 0.0 <= ra < 360.0 and -90.0 <= dec <= 90.0:
                return ra, dec
            return None  # present but out of range: the rules report it
    return None


def footprint_of(headers: Sequence[Header]) -> tuple[list[tuple[float, float]], Header] | None:
    """Sky corners of the first 2-D image HDU with a celestial WCS."""
    for header in headers:
        if header.kind not in {"PRIMARY", "IMAGE"} or not header.get("NAXIS"):
            continue
        corners = image_corners(header)
        if corners is not None and len({(round(r, 9), round(d, 9)) for r, d in corners}) == 4:
            return corners, header
    return None


def field_of_view(corners: list[tuple[float, float]]) -> float | None:
    """Diameter (deg) of the field: the largest distance between two corners."""
    fov = max(
        (angular_distance(a, b) for n, a in enumerate(corners) for b in corners[n + 1 :]),
        default=0.0,
    )
    return fov if 0 < fov <= 360 else None


def centre(corners: list[tuple[float, float]]) -> tuple[float, float]:
    """Mean of the corners as unit vectors."""
    x = y = z = 0.0
    for ra, dec in corners:
        r, d = math.radians(ra), math.radians(dec)
        x, y, z = x + math.cos(d) * math.cos(r), y + math.cos(d) * math.sin(r), z + math.sin(d)
    ra = math.degrees(math.atan2(y, x)) % 360.0
    return (0.0 if ra >= 360.0 else ra), math.degrees(math.atan2(z, math.hypot(x, y)))


# -- time ------------------------------------------------------------------------------------


def iso_to_mjd(value: Value) -> float | None:
    """MJD of an ISO-8601 date/time string (no time zone = the file's time scale)."""
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip().replace("Z", "")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _MJD_EPOCH).total_seconds() / 86400.0


def _reference_mjd(header: Header, prefix: str) -> float | None:
    """MJD of a reference epoch given as <prefix>I + <prefix>F, or <prefix> (JD or MJD)."""
    whole, frac = number(header.get(prefix + "I")), number(header.get(prefix + "F"))
    total = (whole + (frac or 0.0)) if whole is not None else number(header.get(prefix))
    if total is None:
        return None
    return total - 2400000.5 if prefix.startswith(("BJD", "JD")) else total


def _relative_times(headers: Sequence[Header]) -> tuple[float, float] | None:
    """TSTART/TSTOP relative to BJDREF (TESS, Kepler) or MJDREF, in days or seconds."""
    for header in headers:
        start, stop = number(header.get("TSTART")), number(header.get("TSTOP"))
        if start is None or stop is None:
            continue
        reference = None
        for prefix in ("BJDREF", "MJDREF", "JDREF"):
            reference = _reference_mjd(header, prefix)
            if reference is not None:
                break
        if reference is None:
            continue
        unit = str(header.get("TIMEUNIT") or "d").strip().lower()
        scale = 1 / 86400 if unit == "s" else 1.0
        return reference + start * scale, reference + stop * scale
    return None


Dropped = list[tuple[str, str, str]]
"""Values extraction left out as implausible: (keyword, the value, what it should be)."""


def _drop(dropped: Dropped | None, keyword: str, value: Value, what: str) -> None:
    if dropped is not None:
        shown = repr(value) if isinstance(value, str) else str(value)
        dropped.append((keyword, shown if len(shown) <= 40 else shown[:37] + "...", what))


def _checked(
    mjd: float | None, keyword: str, value: Value, dropped: Dropped | None
) -> float | None:
    """``mjd`` if it is a plausible time; else None, the value noted in ``dropped``."""
    if mjd is None or is_mjd(mjd):
        return mjd
    _drop(dropped, keyword, value, TIME_RANGE)
    return None


def _time(
    headers: Sequence[Header], keywords: tuple[str, ...], dropped: Dropped | None
) -> float | None:
    """The first plausible MJD among ``keywords`` (implausible ones noted and passed over)."""
    values = _view(headers)
    for keyword in keywords:
        for value in values.get(keyword, ()):
            mjd = _checked(number(value), keyword, value, dropped)
            if mjd is not None:
                return mjd
    return None


def _date(headers: Sequence[Header], keyword: str, dropped: Dropped | None) -> float | None:
    """The MJD of an ISO-8601 date keyword, if plausible."""
    found = first(headers, keyword)
    return _checked(iso_to_mjd(found[0]), keyword, found[0], dropped) if found else None


def time_of(
    headers: Sequence[Header], dropped: Dropped | None = None
) -> tuple[float | None, float | None, str | None]:
    """(t_min, t_max) in MJD and the time scale, from the first convention that applies.

    A time outside the plausible range (:mod:`catalog.harvest.plausible`) counts as absent,
    whatever keyword it came from, and is noted in ``dropped``."""
    scale = first_text(headers, "TIMESYS")
    scale = scale.upper() if scale else None
    begin = _time(headers, ("MJD-BEG", "MJD_BEG"), dropped)
    end = _time(headers, ("MJD-END", "MJD_END"), dropped)
    if begin is None:
        begin = _date(headers, "DATE-BEG", dropped)
    if end is None:
        end = _date(headers, "DATE-END", dropped)
    if begin is None or end is None:
        relative = _relative_times(headers)
        if relative is not None:
            start = _checked(relative[0], "TSTART (as an MJD)", relative[0], dropped)
            stop = _checked(relative[1], "TSTOP (as an MJD)", relative[1], dropped)
            begin = begin if begin is not None else start
            end = end if end is not None else stop
    if begin is None or end is None:
        start, stop = _time(headers, ("EXPSTART",), dropped), _time(headers, ("EXPEND",), dropped)
        begin, end = begin if begin is not None else start, end if end is not None else stop
    if begin is None:
        date = first(headers, "DATE-OBS")
        if date is not None:
            clock = first_text(headers, "TIME-OBS")
            stamp = str(date[0]).strip()
            begin = _checked(
                iso_to_mjd(f"{stamp}T{clock}" if clock and "T" not in stamp else stamp),
                "DATE-OBS",
                date[0],
                dropped,
            )
            if end is None and begin is not None:
                exposure = exposure_of(headers, dropped)
                end = begin + exposure / 86400 if exposure is not None else None
                end = end if end is not None and is_mjd(end) else None
    if begin is not None and end is None:
        end = begin
    if begin is not None and end is not None and end < begin:
        return None, None, scale  # contradictory: the rules report it
    return begin, end, scale


def exposure_of(headers: Sequence[Header], dropped: Dropped | None = None) -> float | None:
    """Exposure time in seconds (XPOSURE, XPTIME, EXPTIME, or TESS/Kepler EXPOSURE in days);
    a value outside the plausible range (negative, over a century) counts as absent."""
    values = _view(headers)
    for keyword in ("XPOSURE", "XPTIME", "EXPTIME", "EFFEXPTM"):
        for value in values.get(keyword, ()):
            seconds = number(value)
            if seconds is None:
                continue
            if is_exposure(seconds):
                return seconds
            _drop(dropped, keyword, value, EXPOSURE_RANGE)
    for header in headers:
        value = header.get("EXPOSURE")
        days = number(value)
        if days is not None:
            unit = header.comment("EXPOSURE").lower()
            seconds = days * 86400 if "[d]" in unit or "day" in unit else days
            if is_exposure(seconds):
                return seconds
            _drop(dropped, "EXPOSURE", value, EXPOSURE_RANGE)
    return None


# -- wavelength ------------------------------------------------------------------------------

WAVE_COLUMNS = ("WAVELENGTH", "WAVE", "LAMBDA")
"""Table columns that hold a spectrum's wavelengths."""


def wavelength_of(
    headers: Sequence[Header],
    observatory: str | None,
    instrument: str | None,
    filters: list[str],
) -> tuple[float | None, float | None, int | None]:
    """(em_min, em_max) in metres and the spectral pixel count, if any source gives them."""
    for header in headers:
        found = spectral_range(header)
        if found is not None:
            return found
    for header in headers:
        fields = int(number(header.get("TFIELDS")) or 0)
        for n in range(1, fields + 1):
            if str(header.get(f"TTYPE{n}") or "").strip().upper() not in WAVE_COLUMNS:
                continue
            lo, hi = number(header.get(f"TDMIN{n}")), number(header.get(f"TDMAX{n}"))
            scale = length_unit(header.get(f"TUNIT{n}"), default=1e-10)
            if lo is not None and hi is not None and scale and 0 < lo <= hi:
                return lo * scale, hi * scale, None
    lo = first_number(headers, "MINWAVE", "WAVEMIN", "WAVMIN")
    hi = first_number(headers, "MAXWAVE", "WAVEMAX", "WAVMAX")
    if lo is not None and hi is not None and 0 < lo <= hi:
        return lo * 1e-10, hi * 1e-10, None  # Angstrom, as MAST's HLSPs write them
    found_band = bands.bands_range(observatory, instrument, filters or [""])
    if found_band is not None:
        return found_band[0], found_band[1], None
    return None, None, None


# -- targets ---------------------------------------------------------------------------------

_NAME_LIKE = re.compile(r"[a-z]")


def targets_of(
    headers: Sequence[Header],
    name_target: str | None,
    position: tuple[float, float] | None,
    observatory: str | None,
) -> list[TargetRef]:
    """Every name the file gives its (main) target, each with the product's position."""
    ra, dec = position if position else (None, None)
    names: list[TargetRef] = []

    def add(name: str | None, source: str) -> None:
        if name and all(n.name.lower() != name.lower() for n in names):
            names.append(TargetRef(name, source, ra, dec))

    for keyword in ("TARGNAME", "OBJECT", "HLSPTARG", "TARGET", "TARG_ID"):
        add(first_text(headers, keyword), keyword)
    tic = first_id(headers, "TICID", "TIC_ID")
    if tic is not None:
        add(f"TIC {tic}", "TICID")
    kepler = first_id(headers, "KEPLERID", "EPIC", "EPICID")
    if kepler is not None:
        is_k2 = (observatory or "").upper() == "K2" or first_text(headers, "MISSION") == "K2"
        add(f"{'EPIC' if is_k2 or kepler >= 200_000_000 else 'KIC'} {kepler}", "KEPLERID")
    gaia = first_id(headers, "GAIADR3", "GAIA_ID", "GAIAID")
    if gaia is not None:
        add(f"Gaia DR3 {gaia}", "GAIADR3")
    if (
        not names
        and name_target
        and _NAME_LIKE.search(name_target)
        and not (name_target.startswith(("all", "multi")) or _SECTOR.match(name_target))
    ):
        add(name_target, "file name")
    return names


_SECTOR = re.compile(r"s\d{4}")  # a TESS sector ('s0012'), not a target
_LIST_SEPARATORS = re.compile(r"[,;\s]+")
# -- provenance ------------------------------------------------------------------------------


def _values(value: Value) -> list[str]:
    """A keyword value that may list several ids ('[17147, 17518]', '17147,17518')."""
    if value is None or isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [str(int(value)) if float(value).is_integer() else str(value)]
    parts = _LIST_SEPARATORS.split(str(value).strip().strip("[]()"))
    return [p.strip("'\"") for p in parts if p.strip("'\"") and p.upper() not in PLACEHOLDERS]


def inputs_of(headers: Sequence[Header]) -> list[InputRef]:
    """FILEIDnn records (MAST observation ids or file names) and PROPOSID programs."""
    inputs: list[InputRef] = []
    seen: set[tuple[str, str]] = set()
    view = _view(headers)
    for keyword, values in view.items():
        if keyword.startswith("FILEID") and keyword[6:].isdigit():
            for value in values:
                for identifier in _values(value):
                    kind = "file" if "." in identifier else "observation"
                    if (kind, identifier) not in seen:
                        seen.add((kind, identifier))
                        inputs.append(InputRef(kind, identifier, keyword))
    for keyword in ("PROPOSID", "PROGRAM", "PROPID"):
        for value in view.get(keyword, ()):
            for identifier in _values(value):
                if ("program", identifier) not in seen:
                    seen.add(("program", identifier))
                    inputs.append(InputRef("program", identifier, keyword))
    return inputs


_SOFTWARE_KEYWORDS = (
    ("CREATOR", None), ("PIPELINE", None), ("PROCVER", "SPOC"), ("TGLCVER", "TGLC"),
    ("FFIVER", "TESS FFI calibration"), ("CAL_VER", None), ("OPUS_VER", "OPUS"),
    ("SDP_VER", "JWST science data processing"), ("DATA_REL", None), ("ORIGIN", None),
)  # fmt: skip
_VERSION_IN_TEXT = re.compile(r"^(.*?)[\s,:/-]+v?(\d+(?:\.\d+)+[a-z0-9.+-]*)\s*\)?$", re.IGNORECASE)


def software_of(headers: Sequence[Header], instrument: str | None) -> list[SoftwareRef]:
    """The software chain a file names (CREATOR, PIPELINE, PROCVER, CAL_VER, ORIGIN, ...)."""
    found: list[SoftwareRef] = []
    for keyword, fixed_name in _SOFTWARE_KEYWORDS:
        value = first_text(headers, keyword)
        if value is None or keyword == "DATA_REL":
            continue
        if fixed_name is not None:
            found.append(SoftwareRef(fixed_name, value, keyword))
        elif keyword == "CAL_VER":
            name = f"cal{instrument.lower()}" if instrument else "calibration pipeline"
            found.append(SoftwareRef(name, value, keyword))
        elif keyword == "PIPELINE":
            found.append(SoftwareRef(value, first_text(headers, "PIPEVER", "PIPE_VER"), keyword))
        else:
            match = _VERSION_IN_TEXT.match(value)
            if match and match.group(1).strip():
                found.append(SoftwareRef(match.group(1).strip(), match.group(2), keyword))
            else:
                found.append(SoftwareRef(value, None, keyword))
    return found


# -- collection facts and raw headers ---------------------------------------------------------


def collection_facts(headers: Sequence[Header]) -> CollectionFacts:
    return CollectionFacts(
        hlspid=first_text(headers, "HLSPID"),
        hlspver=first_text(headers, "HLSPVER", "HLSP_VER"),
        title=first_text(headers, "HLSPNAME", "HSLPNAME"),
        lead=first_text(headers, "HLSPLEAD", "HLSP_PI"),
        doi=first_text(headers, "DOI"),
        license=first_text(headers, "LICENSE"),
        license_url=first_text(headers, "LICENURL"),
        reference=first_text(headers, "REFERENC"),
    )


def _json_value(value: Value) -> Any:
    if isinstance(value, complex):
        return [value.real, value.imag]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.replace("\x00", "")  # PostgreSQL text cannot hold NUL
    return value


def headers_json(headers: Sequence[Header]) -> str:
    """The raw headers as JSON text: per HDU, its cards as [keyword, value, comment].

    The reader admits only printable ASCII, so no NUL reaches PostgreSQL's jsonb.
    """

    def document(convert: bool) -> list[dict[str, Any]]:
        return [
            {
                "hdu": h.index,
                "kind": h.kind,
                "extname": h.extname,
                "cards": [
                    [c.keyword, _json_value(c.value) if convert else c.value, c.comment]
                    for c in h.cards
                ],
            }
            for h in headers
        ]

    if _all_finite(headers):  # the common case: orjson, ~10x faster (it would write NaN as null)
        try:
            return orjson.dumps(document(False), default=_complex).decode()
        except orjson.JSONEncodeError:  # an integer beyond 64 bits: json writes it
            pass
    try:  # plain values, serialised in one C call
        return json.dumps(document(False), separators=(",", ":"), allow_nan=False, default=_complex)
    except ValueError:  # NaN or infinity in a value
        return json.dumps(document(True), separators=(",", ":"), allow_nan=False)


def _all_finite(headers: Sequence[Header]) -> bool:
    for header in headers:
        for card in header.cards:
            value = card.value
            if isinstance(value, float):
                if not math.isfinite(value):
                    return False
            elif isinstance(value, complex) and not (
                math.isfinite(value.real) and math.isfinite(value.imag)
            ):
                return False
    return True


def _complex(value: object) -> Any:
    if isinstance(value, complex):
        return [value.real, value.imag]
    raise TypeError(f"cannot serialise {type(value).__name__} in a header")
