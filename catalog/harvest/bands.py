"""Wavelength ranges of common filters: the em_min/em_max fallback of the harvester.

``data/bands.csv`` gives, for each facility/instrument/filter, the band edges in Angstrom
defined as the SVO Filter Profile Service defines WavelengthMin/WavelengthMax: the first and
last wavelength at which the response curve reaches 1 % of its peak. docs/bands.md lists the
sources and how to add a filter.

Lookups tolerate the ways FITS headers name things (case, aliases, HST ``CLEAR1L;F814W``,
JWST filter + pupil, ``Ks``/``K_s``, ``g.00000``, ``ch1``/``3.6``...). Resolution order for a
filter: the named instrument, then its family (``WFC3`` -> UVIS and IR, ``NICMOS`` -> NIC1-3),
then, when the instrument is missing or unknown, every instrument of the facility; several
matching rows give their union. A recognised instrument with no row for the filter gives None.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

ANGSTROM = 1e-10

Range = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Band:
    """One row of the table; em_min/em_max in metres."""

    facility: str
    instrument: str
    filter: str
    em_min: float
    em_max: float
    curve: str  # "system" (full response) or "filter" (filter transmission only)
    source: str


# -- names ------------------------------------------------------------------------------------

_FACILITIES = {
    "HST": "HST", "HUBBLE": "HST", "HUBBLESPACETELESCOPE": "HST",
    "JWST": "JWST", "WEBB": "JWST", "JAMESWEBBSPACETELESCOPE": "JWST",
    "TESS": "TESS",
    "KEPLER": "Kepler", "K2": "Kepler",
    "GALEX": "GALEX",
    "PS1": "PS1", "PANSTARRS": "PS1", "PANSTARRS1": "PS1",
    "SDSS": "SDSS", "SLOAN": "SDSS",
    "2MASS": "2MASS", "TWOMASS": "2MASS",
    "WISE": "WISE", "ALLWISE": "WISE", "NEOWISE": "WISE", "NEOWISER": "WISE",
    "SPITZER": "Spitzer", "SST": "Spitzer",
}  # fmt: skip

_ACS = ("ACS/WFC", "ACS/HRC", "ACS/SBC")
_WFC3 = ("WFC3/UVIS", "WFC3/IR")
_NICMOS = ("NICMOS/NIC1", "NICMOS/NIC2", "NICMOS/NIC3")

# normalised instrument name -> (facility, the instruments it names, their family)
_INSTRUMENTS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "ACS": ("HST", (), _ACS),
    "ACSWFC": ("HST", ("ACS/WFC",), _ACS), "WFC": ("HST", ("ACS/WFC",), _ACS),
    "ACSHRC": ("HST", ("ACS/HRC",), _ACS), "HRC": ("HST", ("ACS/HRC",), _ACS),
    "ACSSBC": ("HST", ("ACS/SBC",), _ACS), "SBC": ("HST", ("ACS/SBC",), _ACS),
    "WFC3": ("HST", (), _WFC3),
    "WFC3UVIS": ("HST", ("WFC3/UVIS",), _WFC3), "UVIS": ("HST", ("WFC3/UVIS",), _WFC3),
    "WFC3IR": ("HST", ("WFC3/IR",), _WFC3),
    "WFPC2": ("HST", ("WFPC2",), ("WFPC2",)),
    "NICMOS": ("HST", (), _NICMOS),
    "NIC1": ("HST", ("NICMOS/NIC1",), _NICMOS), "NICMOS1": ("HST", ("NICMOS/NIC1",), _NICMOS),
    "NIC2": ("HST", ("NICMOS/NIC2",), _NICMOS), "NICMOS2": ("HST", ("NICMOS/NIC2",), _NICMOS),
    "NIC3": ("HST", ("NICMOS/NIC3",), _NICMOS), "NICMOS3": ("HST", ("NICMOS/NIC3",), _NICMOS),
    "STIS": ("HST", ("STIS",), ("STIS",)), "COS": ("HST", ("COS",), ("COS",)),
    "NIRCAM": ("JWST", ("NIRCam",), ("NIRCam",)), "NRC": ("JWST", ("NIRCam",), ("NIRCam",)),
    "NIRISS": ("JWST", ("NIRISS",), ("NIRISS",)), "NIS": ("JWST", ("NIRISS",), ("NIRISS",)),
    "MIRI": ("JWST", ("MIRI",), ("MIRI",)), "MIRIMAGE": ("JWST", ("MIRI",), ("MIRI",)),
    "NIRSPEC": ("JWST", ("NIRSpec",), ("NIRSpec",)), "NRS": ("JWST", ("NIRSpec",), ("NIRSpec",)),
    "FGS": ("JWST", ("FGS",), ("FGS",)),
    "IRAC": ("Spitzer", ("IRAC",), ("IRAC",)), "MIPS": ("Spitzer", ("MIPS",), ("MIPS",)),
    "TESS": ("TESS", ("TESS",), ("TESS",)),
    "KEPLER": ("Kepler", ("Kepler",), ("Kepler",)), "K2": ("Kepler", ("Kepler",), ("Kepler",)),
    "KEPLERPHOTOMETER": ("Kepler", ("Kepler",), ("Kepler",)),
    "GALEX": ("GALEX", ("GALEX",), ("GALEX",)),
    "GPC1": ("PS1", ("GPC1",), ("GPC1",)), "PS1": ("PS1", ("GPC1",), ("GPC1",)),
    "SDSS": ("SDSS", ("SDSS",), ("SDSS",)),
    "2MASS": ("2MASS", ("2MASS",), ("2MASS",)),
    "WISE": ("WISE", ("WISE",), ("WISE",)),
}  # fmt: skip

# Facilities whose every product is in their one band, whatever the filter keyword says.
_SINGLE_BAND = {"TESS": "TESS", "Kepler": "KP"}

# Per-facility filter aliases: normalised alias -> normalised canonical filter.
_ALIASES: dict[str, dict[str, str]] = {
    "TESS": {"T": "TESS", "RED": "TESS", "TESSRED": "TESS"},
    "Kepler": {"KEPLER": "KP", "K2": "KP", "KEPLERBAND": "KP", "KEPLERK": "KP", "K": "KP"},
    "GALEX": {"N": "NUV", "F": "FUV", "1": "NUV", "2": "FUV"},
    "PS1": {f"{b}P1": b for b in "GRIZYW"},
    "2MASS": {"K": "KS", "KSHORT": "KS"},
    "WISE": {
        "1": "W1", "2": "W2", "3": "W3", "4": "W4",
        "3.4": "W1", "4.6": "W2", "12": "W3", "22": "W4",
    },
    "Spitzer": {
        **{alias: f"I{n}" for n in "1234" for alias in (n, f"CH{n}", f"I{n}")},
        "3.6": "I1", "36": "I1", "4.5": "I2", "45": "I2",
        "5.8": "I3", "58": "I3", "8.0": "I4", "8": "I4", "80": "I4",
    },
}  # fmt: skip

# Prefixes a filter value may carry before the band name ("WISE W1", "IRAC_ch1", "2MASS-J").
_PREFIXES = ("TWOMASS", "2MASS", "GALEX", "SDSS", "PS1", "WISE", "IRAC", "MIPS", "TESS")
_NOT_KEY = re.compile(r"[^A-Z0-9.]")
_UNITS = re.compile(r"(UM|MICRONS?|MU)$")
_PS1_SUFFIX = re.compile(r"\.0+$")
_PATH_SPLIT = re.compile(r"[;,+|/&\s]+")
# HST/JWST-style names that identify a filter without a facility (F606W, FQ232N, F150W2...).
_SPECIFIC = re.compile(r"^F[Q]?\d{3,4}[A-Z]{1,2}\d?$")


def _norm(value: str) -> str:
    """Upper-case with everything but letters, digits and '.' removed."""
    return _NOT_KEY.sub("", value.upper())


def _filter_keys(value: str) -> tuple[str, ...]:
    """The normalised forms a filter token may match, most literal first."""
    key = _norm(value)
    keys = [key]
    stripped = _PS1_SUFFIX.sub("", key)
    if stripped != key and stripped:
        keys.append(stripped)
    for prefix in _PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            keys.append(key[len(prefix) :])
    for candidate in list(keys):
        without_unit = _UNITS.sub("", candidate)
        if without_unit != candidate and without_unit:
            keys.append(without_unit)
    return tuple(keys)


def _facility(observatory: str | None) -> str | None:
    return _FACILITIES.get(_norm(observatory)) if observatory else None


def _instrument(instrument: str | None) -> tuple[str, tuple[str, ...], tuple[str, ...]] | None:
    if not instrument:
        return None
    key = _norm(instrument)
    found = _INSTRUMENTS.get(key)
    if found is None:  # "JWST/NIRCAM", "HST WFC3/UVIS"
        for prefix in ("HST", "JWST", "SPITZER"):
            if key.startswith(prefix) and key != prefix:
                found = _INSTRUMENTS.get(key[len(prefix) :])
                break
    return found


# -- the table --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Table:
    rows: tuple[Band, ...]
    # (facility, normalised filter) -> rows with that filter
    by_filter: dict[tuple[str, str], tuple[Band, ...]]
    # normalised canonical filter -> facilities that have it
    facilities_of: dict[str, frozenset[str]]


@cache
def _table() -> _Table:
    text = resources.files("catalog.harvest").joinpath("data", "bands.csv").read_text("utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    rows = tuple(
        Band(
            facility=r["facility"],
            instrument=r["instrument"],
            filter=r["filter"],
            em_min=float(r["wl_min_angstrom"]) * ANGSTROM,
            em_max=float(r["wl_max_angstrom"]) * ANGSTROM,
            curve=r["curve"],
            source=r["source"],
        )
        for r in csv.DictReader(lines)
    )
    grouped: dict[tuple[str, str], list[Band]] = {}
    facilities: dict[str, set[str]] = {}
    for band in rows:
        key = _norm(band.filter)
        grouped.setdefault((band.facility, key), []).append(band)
        facilities.setdefault(key, set()).add(band.facility)
    return _Table(
        rows=rows,
        by_filter={k: tuple(v) for k, v in grouped.items()},
        facilities_of={k: frozenset(v) for k, v in facilities.items()},
    )


def rows() -> tuple[Band, ...]:
    """Every row of the table, in file order."""
    return _table().rows


# -- lookup -----------------------------------------------------------------------------------


def _union(ranges: Iterable[Range]) -> Range | None:
    found = list(ranges)
    if not found:
        return None
    return min(lo for lo, _ in found), max(hi for _, hi in found)


def _candidates(facility: str, token: str) -> tuple[Band, ...]:
    by_filter = _table().by_filter
    aliases = _ALIASES.get(facility, {})
    for key in _filter_keys(token):
        found = by_filter.get((facility, key)) or by_filter.get((facility, aliases.get(key, "")))
        if found:
            return found
    return ()


def _token_range(
    facility: str, scope: tuple[tuple[str, ...], tuple[str, ...]] | None, token: str
) -> Range | None:
    """The range of one filter name within a facility (and instrument scope, if known)."""
    candidates = _candidates(facility, token)
    if scope is not None:
        exact, family = scope
        for allowed in (exact, family):
            chosen = [(b.em_min, b.em_max) for b in candidates if b.instrument in allowed]
            if chosen:
                return _union(chosen)
        return None
    return _union((b.em_min, b.em_max) for b in candidates)


def _guess_facility(tokens: list[str]) -> str | None:
    """The one facility that has a specific filter name (F606W...), when none is given."""
    found: set[str] = set()
    facilities_of = _table().facilities_of
    for token in tokens:
        for part in token.split("-"):
            key = _norm(part)
            if _SPECIFIC.match(key) or key in {"W1", "W2", "W3", "W4", "NUV", "FUV"}:
                found |= facilities_of.get(key, frozenset())
    return found.pop() if len(found) == 1 else None


def _path_range(
    facility: str, scope: tuple[tuple[str, ...], tuple[str, ...]] | None, tokens: list[str]
) -> Range | None:
    """Intersection of the filters in one light path; tokens that match nothing are ignored."""
    ranges: list[Range] = []
    for token in tokens:
        found = _token_range(facility, scope, token)
        if found is None and "-" in token:  # "f606w-f814w": a product made from several
            found = _union(
                r for part in token.split("-") if (r := _token_range(facility, scope, part))
            )
        if found is not None:
            ranges.append(found)
    if not ranges:
        single = _SINGLE_BAND.get(facility)
        if single is None:
            return None
        return _union((b.em_min, b.em_max) for b in _table().by_filter[(facility, single)])
    lo = max(r[0] for r in ranges)
    hi = min(r[1] for r in ranges)
    return (lo, hi) if lo < hi else _union(ranges)  # disjoint: a header error, stay wide


@lru_cache(maxsize=16384)
def band_range(
    observatory: str | None, instrument: str | None, filter_name: str | None
) -> Range | None:
    """(em_min, em_max) in metres of one filter setting, or None when it is not known.

    ``filter_name`` may hold the elements of one light path (``CLEAR1L;F814W``,
    ``F444W;F405N``): their ranges are intersected, CLEAR and unknown elements ignored.
    TESS and Kepler/K2 have one band, returned whatever the filter says.
    """
    tokens = [t for t in _PATH_SPLIT.split(filter_name or "") if t]
    facility = _facility(observatory)
    inst = _instrument(instrument)
    if inst is not None and facility is not None and inst[0] != facility:
        inst = None  # an instrument of another facility: trust the observatory
    if facility is None and inst is not None:
        facility = inst[0]
    if facility is None:
        facility = _guess_facility(tokens)
        if facility is None:
            return None
    scope = (inst[1], inst[2]) if inst is not None else None
    return _path_range(facility, scope, tokens)


@lru_cache(maxsize=4096)
def _bands_range(
    observatory: str | None, instrument: str | None, filters: tuple[str, ...]
) -> Range | None:
    return _union(r for f in filters if (r := band_range(observatory, instrument, f)))


def bands_range(
    observatory: str | None, instrument: str | None, filters: Iterable[str | None]
) -> Range | None:
    """Union of :func:`band_range` over several filters (FILTER01..nn, ``f606w-f814w``).

    Filters that resolve to nothing are skipped; None when none resolves.
    """
    return _bands_range(observatory, instrument, tuple(f or "" for f in filters))
