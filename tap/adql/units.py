"""A small VOUnit converter for ADQL ``IN_UNIT(value, 'unit')``.

Units are products of (prefixed) base units with optional ``**n`` powers, joined by ``.``
and ``/`` (``km/s``, ``mas/yr``, ``erg.s**-1.cm**-2``). Each base unit has a factor to a
reference unit and a dimension vector; angles are a dimension of their own so that degrees
never convert to metres. Conversions are factors only (no offsets, no logarithmic units).
"""

from __future__ import annotations

import math
import re

from tap.errors import AdqlError

# dimension order: length, mass, time, angle, temperature, current, amount, luminous, solid angle
_L, _M, _T, _A, _K = (
    (1, 0, 0, 0, 0),
    (0, 1, 0, 0, 0),
    (0, 0, 1, 0, 0),
    (0, 0, 0, 1, 0),
    (0, 0, 0, 0, 1),
)
_NONE = (0, 0, 0, 0, 0)


def _dim(*parts: tuple[tuple[int, ...], int]) -> tuple[int, ...]:
    out = [0, 0, 0, 0, 0]
    for vector, power in parts:
        for i, v in enumerate(vector):
            out[i] += v * power
    return tuple(out)


_DEG = math.pi / 180
_DAY = 86400.0
_JY = 1e-26  # W m-2 Hz-1 -> kg s-2
_BASE: dict[str, tuple[float, tuple[int, ...]]] = {
    # angles
    "rad": (1.0, _A),
    "deg": (_DEG, _A),
    "arcmin": (_DEG / 60, _A),
    "arcsec": (_DEG / 3600, _A),
    "mas": (_DEG / 3.6e6, _A),
    "uas": (_DEG / 3.6e9, _A),
    "sr": (1.0, _dim((_A, 2))),
    # length
    "m": (1.0, _L),
    "Angstrom": (1e-10, _L),
    "angstrom": (1e-10, _L),
    "AU": (1.495978707e11, _L),
    "au": (1.495978707e11, _L),
    "pc": (3.0856775814913673e16, _L),
    "lyr": (9.4607304725808e15, _L),
    "solRad": (6.957e8, _L),
    "Rsun": (6.957e8, _L),
    # mass
    "g": (1e-3, _M),
    "solMass": (1.98840987e30, _M),
    "Msun": (1.98840987e30, _M),
    "u": (1.66053906660e-27, _M),
    # time
    "s": (1.0, _T),
    "min": (60.0, _T),
    "h": (3600.0, _T),
    "d": (_DAY, _T),
    "yr": (365.25 * _DAY, _T),
    "a": (365.25 * _DAY, _T),
    "Hz": (1.0, _dim((_T, -1))),
    # temperature
    "K": (1.0, _K),
    # energy, power, flux density
    "J": (1.0, _dim((_M, 1), (_L, 2), (_T, -2))),
    "erg": (1e-7, _dim((_M, 1), (_L, 2), (_T, -2))),
    "eV": (1.602176634e-19, _dim((_M, 1), (_L, 2), (_T, -2))),
    "W": (1.0, _dim((_M, 1), (_L, 2), (_T, -3))),
    "Jy": (_JY, _dim((_M, 1), (_T, -2))),
    "N": (1.0, _dim((_M, 1), (_L, 1), (_T, -2))),
    # dimensionless
    "pix": (1.0, _NONE),
    "count": (1.0, _NONE),
    "ct": (1.0, _NONE),
    "%": (0.01, _NONE),
}
_PREFIX = {
    "y": 1e-24,
    "z": 1e-21,
    "a": 1e-18,
    "f": 1e-15,
    "p": 1e-12,
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "c": 1e-2,
    "d": 1e-1,
    "da": 1e1,
    "h": 1e2,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Z": 1e21,
    "Y": 1e24,
}
# Base units that take no SI prefix (a prefixed form would be a different unit).
_NO_PREFIX = frozenset(
    [
        "deg",
        "arcmin",
        "min",
        "h",
        "d",
        "yr",
        "AU",
        "au",
        "solMass",
        "Msun",
        "solRad",
        "Rsun",
        "%",
        "pix",
        "count",
        "ct",
        "Angstrom",
        "angstrom",
    ]
)

_TERM = re.compile(r"(?P<name>[A-Za-z%]+)(?:\*\*(?P<power>[+-]?\d+)|(?P<bare>[+-]?\d+))?$")


class UnitError(AdqlError):
    code = "TAP-E210"


def _base(name: str) -> tuple[float, tuple[int, ...]]:
    if name in _BASE:
        return _BASE[name]
    for length in (2, 1):
        prefix, rest = name[:length], name[length:]
        if prefix in _PREFIX and rest in _BASE and rest not in _NO_PREFIX:
            factor, dims = _BASE[rest]
            return _PREFIX[prefix] * factor, dims
    raise UnitError(
        f"unknown unit {name!r}: use VOUnit names such as deg, arcsec, mas, m, nm, "
        "Angstrom, s, d, yr, Hz, GHz, Jy, erg"
    )


_POWERED = re.compile(r"^\((?P<inner>[^()]+)\)\*\*(?P<power>[+-]?\d+)$")


def power_of(unit: str | None, power: int) -> str | None:
    """The unit of a value raised to an integer power (``(mas/yr)**2``)."""
    if unit is None:
        return None
    if power == 1:
        return unit
    return f"({unit})**{power}"


def root_of(unit: str | None) -> str | None:
    """The unit of a square root, when the unit is a square written by :func:`power_of`."""
    match = _POWERED.match(unit or "")
    if match and match.group("power") == "2":
        return match.group("inner")
    return None


def parse_unit(text: str) -> tuple[float, tuple[int, ...]]:
    """(factor to the reference units, dimension vector) of a VOUnit string."""
    unit = text.strip()
    if not unit:
        raise UnitError("an empty unit string cannot be converted")
    powered = _POWERED.match(unit)
    if powered:
        inner_factor, inner_dims = parse_unit(powered.group("inner"))
        power = int(powered.group("power"))
        return inner_factor**power, tuple(d * power for d in inner_dims)
    factor, dims = 1.0, [0, 0, 0, 0, 0]
    sign = 1
    for piece in re.split(r"([./])", unit):
        if piece == ".":
            sign = 1
            continue
        if piece == "/":
            sign = -1
            continue
        match = _TERM.match(piece)
        if match is None:
            raise UnitError(f"cannot read the unit {text!r} (at {piece!r})")
        power_text = match.group("power") or match.group("bare") or "1"
        power = int(power_text) * sign
        base_factor, base_dims = _base(match.group("name"))
        factor *= base_factor**power
        for i, v in enumerate(base_dims):
            dims[i] += v * power
    return factor, tuple(dims)


def conversion_factor(source: str, target: str) -> float:
    """The factor turning a value in ``source`` units into ``target`` units."""
    source_factor, source_dims = parse_unit(source)
    target_factor, target_dims = parse_unit(target)
    if source_dims != target_dims:
        raise UnitError(f"cannot convert {source!r} into {target!r}: the dimensions differ")
    return source_factor / target_factor
