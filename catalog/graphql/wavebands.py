"""The coarse wavebands a product's wavelength range touches, as the GraphQL API names them.

    WAVEBANDS              (name, lower edge in metres), short to long wavelength
    waveband(em_min, em_max) -> the names of the bands the range touches

The filter band edges that give a product its range are the harvester's
(:mod:`catalog.harvest.bands`); the names of the coarse bands are the API's.
"""

from __future__ import annotations

import math

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
