"""The input parameters a DataLink ``#cutout`` service descriptor declares for one product
(SODA 1.0 §4.2, DataLink 1.1 §4): :func:`inputs` gives them as data, :class:`InputParam`,
which the DataLink writer turns into VOTable ``PARAM`` elements of the descriptor's
``inputParams`` group.

What a product offers follows its ObsCore ``dataproduct_type``: images POS, CIRCLE and
POLYGON; cubes those and BAND; spectra BAND; other products no cutout (an empty list: the
writer then declares no ``#cutout`` link). ``VALUES`` say where data are, as SODA §4.2 asks:
CIRCLE's MAX is a circle covering the product (centre and radius), POLYGON's MAX the
product's footprint, BAND's MIN and MAX its wavelength range in metres. ID carries the
product's identifier as its value, so a client need not fill it in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SPATIAL_TYPES = frozenset({"image", "cube"})
SPECTRAL_TYPES = frozenset({"cube", "spectrum"})


@dataclass(frozen=True)
class InputParam:
    """One ``PARAM`` of a service descriptor: the VOTable attributes, and ``minimum`` /
    ``maximum`` for its ``VALUES`` (``MIN``/``MAX`` ``value`` text; None: no element)."""

    name: str
    datatype: str
    ucd: str
    description: str
    arraysize: str | None = None
    xtype: str | None = None
    unit: str | None = None
    value: str = ""
    minimum: str | None = None
    maximum: str | None = None


def _numbers(values: Sequence[float]) -> str:
    return " ".join(f"{v:.10g}" for v in values)


def offers_cutout(dataproduct_type: str | None) -> bool:
    """Whether a product of this ObsCore type has a ``#cutout`` link."""
    return dataproduct_type in SPATIAL_TYPES | SPECTRAL_TYPES


def inputs(
    product_id: str,
    dataproduct_type: str | None,
    *,
    footprint: Sequence[tuple[float, float]] | None = None,
    circle: tuple[float, float, float] | None = None,
    wavelengths: tuple[float, float] | None = None,
) -> list[InputParam]:
    """The inputs of ``product_id``'s cutout service: ``footprint`` its (ra, dec) vertices,
    ``circle`` a covering (ra, dec, radius), ``wavelengths`` (em_min, em_max) in metres;
    non-finite numbers are left out of ``VALUES``."""
    if not offers_cutout(dataproduct_type):
        return []
    params = [
        InputParam(
            "ID",
            "char",
            "meta.ref.url;meta.curation",
            "The product to cut (its publisher DID)",
            arraysize="*",
            value=product_id,
        )
    ]
    if dataproduct_type in SPATIAL_TYPES:
        covering = (
            _numbers(circle) if circle is not None and all(map(math.isfinite, circle)) else None
        )
        outline = (
            _numbers([c for vertex in footprint for c in vertex])
            if footprint and all(math.isfinite(c) for v in footprint for c in v)
            else None
        )
        params += [
            InputParam(
                "POS",
                "char",
                "pos.outline;obs",
                "Region to cut out, as CIRCLE ra dec radius, RANGE ra1 ra2 dec1 dec2 or "
                "POLYGON ra1 dec1 ra2 dec2 ... (ICRS degrees); cut as its bounding box",
                arraysize="*",
            ),
            InputParam(
                "CIRCLE",
                "double",
                "pos.outline;obs",
                "A circle (ra dec radius, ICRS degrees) the cutout covers",
                arraysize="3",
                xtype="circle",
                unit="deg",
                maximum=covering,
            ),
            InputParam(
                "POLYGON",
                "double",
                "pos.outline;obs",
                "A polygon (ra dec pairs, ICRS degrees) the cutout covers",
                arraysize="*",
                xtype="polygon",
                unit="deg",
                maximum=outline,
            ),
        ]
    if dataproduct_type in SPECTRAL_TYPES:
        low, high = wavelengths if wavelengths is not None else (math.nan, math.nan)
        params.append(
            InputParam(
                "BAND",
                "double",
                "em.wl;stat.interval",
                "The wavelength interval to extract (metres; -Inf or +Inf for an open end)",
                arraysize="2",
                xtype="interval",
                unit="m",
                minimum=f"{low:.10g}" if math.isfinite(low) else None,
                maximum=f"{high:.10g}" if math.isfinite(high) else None,
            )
        )
    return params
