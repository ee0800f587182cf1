"""Enumerations and scalars: the fixed vocabularies of the model as GraphQL enums."""

from __future__ import annotations

import math
from enum import Enum
from typing import NewType

import strawberry

Long = NewType("Long", int)
"""A 64-bit integer; its GraphQL scalar is :data:`LONG_SCALAR` (in the schema's scalar_map)."""


def _parse_long(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"Long must be an integer, got {value!r}")
    if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
        raise ValueError(f"Long must be an integer, got {value!r}")
    number = int(value)
    if not -(2**63) <= number < 2**63:
        raise ValueError(f"Long must fit in 64 bits, got {value!r}")
    return number


LONG_SCALAR = strawberry.scalar(
    name="Long",
    description="A 64-bit integer (file sizes, sample counts), sent as a JSON number.",
    serialize=int,
    parse_value=_parse_long,
)


@strawberry.enum(description="ObsCore data product type.")
class DataproductType(Enum):
    IMAGE = "image"
    CUBE = "cube"
    SPECTRUM = "spectrum"
    SED = "sed"
    TIMESERIES = "timeseries"
    VISIBILITY = "visibility"
    EVENT = "event"
    MEASUREMENTS = "measurements"


@strawberry.enum(description="Verdict of the guideline check of a product.")
class Verdict(Enum):
    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    NEEDS_REVIEW = "NEEDS REVIEW"
    FAIL = "FAIL"


@strawberry.enum(description="Severity of a guideline finding.")
class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@strawberry.enum(description="Kind of a provenance input.")
class InputKind(Enum):
    OBSERVATION = "observation"
    FILE = "file"
    DATASET = "dataset"
    PROGRAM = "program"
    PRODUCT = "product"


# Lower wavelength edge (metres) of each band; a band runs up to the next one's edge, and an
# edge belongs to the longer-wavelength band. After the IVOA note "Electromagnetic spectrum
# description in UCD" (2004) and the Resource Metadata spectral coverage list.
WAVEBANDS: tuple[tuple[str, float], ...] = (
    ("gamma-ray", 0.0),
    ("x-ray", 1e-11),  # 0.1 Angstrom (~120 keV)
    ("euv", 1e-8),  # 10 nm
    ("uv", 1e-7),  # 100 nm
    ("optical", 3e-7),  # 300 nm
    ("infrared", 1e-6),  # 1 um
    ("millimeter", 1e-4),  # 100 um
    ("radio", 1e-2),  # 10 mm
)


def waveband(em_min: float, em_max: float) -> tuple[str, ...]:
    """The coarse bands that [em_min, em_max] (metres) touches, short to long wavelength."""
    if not (math.isfinite(em_min) and math.isfinite(em_max)) or em_min <= 0 or em_min > em_max:
        raise ValueError(f"not a wavelength range in metres: {em_min!r}..{em_max!r}")
    touched: list[str] = []
    for i, (name, lo) in enumerate(WAVEBANDS):
        hi = WAVEBANDS[i + 1][1] if i + 1 < len(WAVEBANDS) else math.inf
        overlaps = em_min < hi and em_max > lo if em_min < em_max else lo <= em_min < hi
        if overlaps:
            touched.append(name)
    return tuple(touched)


@strawberry.enum(
    description="Coarse electromagnetic band (IVOA 'Electromagnetic spectrum description in "
    "UCD'): GAMMA_RAY < 0.1 Å ≤ X_RAY < 10 nm ≤ EUV < 100 nm ≤ UV < 300 nm ≤ OPTICAL < 1 µm "
    "≤ INFRARED < 100 µm ≤ MILLIMETER < 10 mm ≤ RADIO. A product is in every band its "
    "wavelength range overlaps."
)
class Waveband(Enum):
    GAMMA_RAY = "gamma-ray"
    X_RAY = "x-ray"
    EUV = "euv"
    UV = "uv"
    OPTICAL = "optical"
    INFRARED = "infrared"
    MILLIMETER = "millimeter"
    RADIO = "radio"


def waveband_edges(band: Waveband) -> tuple[float, float]:
    """[low, high) of a band in metres (high is infinite for RADIO)."""
    names = [name for name, _ in WAVEBANDS]
    i = names.index(band.value)
    high = WAVEBANDS[i + 1][1] if i + 1 < len(WAVEBANDS) else math.inf
    return WAVEBANDS[i][1], high


@strawberry.enum(description="Sort direction.")
class Direction(Enum):
    ASC = "asc"
    DESC = "desc"
