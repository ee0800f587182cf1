"""The input parameters a DataLink ``#cutout`` service descriptor declares for one product
(SODA 1.0 §4.2, DataLink 1.1 §4): :func:`inputs` gives them as
:class:`~catalog.delivery.descriptor.InputParam` values, which
:func:`~catalog.delivery.descriptor.service_descriptor` writes as the ``PARAM`` elements of
the descriptor's ``inputParams`` group.

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

from catalog.delivery.descriptor import InputParam

SPATIAL_TYPES = frozenset({"image", "cube"})
SPECTRAL_TYPES = frozenset({"cube", "spectrum"})


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
            name="ID",
            ucd="meta.ref.url;meta.curation",
            description="The product to cut (its publisher DID)",
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
                name="POS",
                ucd="pos.outline;obs",
                description="Region to cut out, as CIRCLE ra dec radius, RANGE ra1 ra2 dec1 "
                "dec2 or POLYGON ra1 dec1 ra2 dec2 ... (ICRS degrees); cut as its bounding box",
            ),
            InputParam(
                name="CIRCLE",
                datatype="double",
                arraysize="3",
                ucd="pos.outline;obs",
                unit="deg",
                xtype="circle",
                description="A circle (ra dec radius, ICRS degrees) the cutout covers",
                maximum=covering,
            ),
            InputParam(
                name="POLYGON",
                datatype="double",
                arraysize="*",
                ucd="pos.outline;obs",
                unit="deg",
                xtype="polygon",
                description="A polygon (ra dec pairs, ICRS degrees) the cutout covers",
                maximum=outline,
            ),
        ]
    if dataproduct_type in SPECTRAL_TYPES:
        low, high = wavelengths if wavelengths is not None else (math.nan, math.nan)
        params.append(
            InputParam(
                name="BAND",
                datatype="double",
                arraysize="2",
                ucd="em.wl;stat.interval",
                unit="m",
                xtype="interval",
                description="The wavelength interval to extract (metres; -Inf or +Inf for an "
                "open end)",
                minimum=f"{low:.10g}" if math.isfinite(low) else None,
                maximum=f"{high:.10g}" if math.isfinite(high) else None,
            )
        )
    return params
