"""Filter inputs: one style for every type, as in Hasura / pg_graphql.

Every field of a ``…Filter`` is optional; the fields given are combined with AND; ``and``,
``or`` and ``not`` combine whole filters; a relation field (``collection``, ``targets``,
``products``, ``findings``) matches when some related row matches its filter. Scalar
operators: ``eq, neq, in, gt, gte, lt, lte, ilike, isNull``. Sky, time and wavelength
inputs are compiled to pg_sphere and range predicates (:mod:`catalog.graphql.predicates`).
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from catalog.graphql.enums import DataproductType, Long, Severity, Verdict, Waveband
from catalog.graphql.inputs import convert_given_fields

_IN = "Any of these values (at most the configured list size, 1000 by default)."
_ILIKE = "Case-insensitive SQL LIKE pattern: % matches any run of characters, _ one character."
_NULL = "true: the value is missing; false: the value is present."


@strawberry.input(description="Conditions on a text value (all given ones must hold).")
class StringFilter:
    eq: str | None = None
    neq: str | None = None
    in_: list[str] | None = strawberry.field(name="in", default=None, description=_IN)
    gt: str | None = None
    gte: str | None = None
    lt: str | None = None
    lte: str | None = None
    ilike: str | None = strawberry.field(default=None, description=_ILIKE)
    is_null: bool | None = strawberry.field(default=None, description=_NULL)


@strawberry.input(description="Conditions on a floating-point value (all given ones must hold).")
class FloatFilter:
    eq: float | None = None
    neq: float | None = None
    in_: list[float] | None = strawberry.field(name="in", default=None, description=_IN)
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    is_null: bool | None = strawberry.field(default=None, description=_NULL)


@strawberry.input(description="Conditions on an integer value (all given ones must hold).")
class IntFilter:
    eq: int | None = None
    neq: int | None = None
    in_: list[int] | None = strawberry.field(name="in", default=None, description=_IN)
    gt: int | None = None
    gte: int | None = None
    lt: int | None = None
    lte: int | None = None
    is_null: bool | None = strawberry.field(default=None, description=_NULL)


@strawberry.input(description="Conditions on a 64-bit integer (all given ones must hold).")
class LongFilter:
    eq: Long | None = None
    neq: Long | None = None
    in_: list[Long] | None = strawberry.field(name="in", default=None, description=_IN)
    gt: Long | None = None
    gte: Long | None = None
    lt: Long | None = None
    lte: Long | None = None
    is_null: bool | None = strawberry.field(default=None, description=_NULL)


@strawberry.input(description="Conditions on a date-time (ISO 8601; without a zone, UTC).")
class DateTimeFilter:
    eq: datetime | None = None
    neq: datetime | None = None
    in_: list[datetime] | None = strawberry.field(name="in", default=None, description=_IN)
    gt: datetime | None = None
    gte: datetime | None = None
    lt: datetime | None = None
    lte: datetime | None = None
    is_null: bool | None = strawberry.field(default=None, description=_NULL)


@strawberry.input(description="Conditions on a true/false value.")
class BooleanFilter:
    eq: bool | None = None
    is_null: bool | None = strawberry.field(default=None, description=_NULL)


@strawberry.input(description="Conditions on a data product type.")
class DataproductTypeFilter:
    eq: DataproductType | None = None
    neq: DataproductType | None = None
    in_: list[DataproductType] | None = strawberry.field(name="in", default=None)
    is_null: bool | None = strawberry.field(default=None, description=_NULL)


@strawberry.input(description="Conditions on a guideline verdict (null: not checked).")
class VerdictFilter:
    eq: Verdict | None = None
    neq: Verdict | None = None
    in_: list[Verdict] | None = strawberry.field(name="in", default=None)
    is_null: bool | None = strawberry.field(default=None, description=_NULL)


@strawberry.input(description="Conditions on a finding severity.")
class SeverityFilter:
    eq: Severity | None = None
    neq: Severity | None = None
    in_: list[Severity] | None = strawberry.field(name="in", default=None)


@strawberry.input(
    description="Products whose wavelength range overlaps a band (see Waveband); ``in`` "
    "matches any of the bands, as a portal's tag facet does."
)
class WavebandFilter:
    eq: Waveband | None = None
    in_: list[Waveband] | None = strawberry.field(name="in", default=None)


@strawberry.input(description="A position on the sky, ICRS, in degrees.")
class SkyPointInput:
    ra_deg: float = strawberry.field(description="Right ascension (ICRS), degrees.")
    dec_deg: float = strawberry.field(description="Declination (ICRS), degrees, -90 to 90.")


@strawberry.input(
    description="A cone: everything within radiusDeg of a position (ICRS, degrees). A product "
    "matches when its position is inside, or its footprint overlaps the cone."
)
class ConeInput:
    ra_deg: float = strawberry.field(description="Right ascension of the centre, degrees.")
    dec_deg: float = strawberry.field(description="Declination of the centre, degrees.")
    radius_deg: float = strawberry.field(description="Radius, degrees, in (0, 180].")


@strawberry.input(
    description="A spherical polygon (great-circle edges, ICRS, degrees), 3 or more vertices "
    "in order. A product matches when its position is inside, or its footprint overlaps it."
)
class PolygonInput:
    vertices: list[SkyPointInput]


@strawberry.input(
    description="Time overlap: products observed at some moment between start and end (both "
    "inclusive; either may be left open). Give each end as MJD or as an ISO 8601 date-time "
    "(UTC), not both. Times compare with t_min/t_max in the file's time scale (TDB/TT differ "
    "from UTC by about a minute)."
)
class TimeOverlapInput:
    start_mjd: float | None = strawberry.field(default=None, description="Start, MJD (days).")
    end_mjd: float | None = strawberry.field(default=None, description="End, MJD (days).")
    start: datetime | None = strawberry.field(default=None, description="Start, ISO 8601.")
    end: datetime | None = strawberry.field(default=None, description="End, ISO 8601.")


@strawberry.input(
    description="Wavelength overlap: products whose [emMin, emMax] range overlaps "
    "[minMetres, maxMetres] (either end may be left open). Metres: 500 nm is 5e-7."
)
class WavelengthOverlapInput:
    min_metres: float | None = None
    max_metres: float | None = None


@strawberry.input(description="Conditions on a guideline finding of a product.")
class FindingFilter:
    code: StringFilter | None = None
    severity: SeverityFilter | None = None
    keyword: StringFilter | None = None


@strawberry.input(description="Conditions on collections (HLSPs).")
class CollectionFilter:
    and_: list[CollectionFilter] | None = strawberry.field(name="and", default=None)
    or_: list[CollectionFilter] | None = strawberry.field(name="or", default=None)
    not_: CollectionFilter | None = strawberry.field(name="not", default=None)
    hlsp_id: StringFilter | None = None
    title: StringFilter | None = None
    project_lead: StringFilter | None = None
    doi: StringFilter | None = None
    license: StringFilter | None = None
    release_date: DateTimeFilter | None = None
    last_harvested: DateTimeFilter | None = None
    text: str | None = strawberry.field(
        default=None, description="Full text over id, title, lead and description."
    )
    products: ProductFilter | None = strawberry.field(
        default=None, description="Collections with at least one product matching."
    )


@strawberry.input(description="Conditions on targets (named objects and fields).")
class TargetFilter:
    and_: list[TargetFilter] | None = strawberry.field(name="and", default=None)
    or_: list[TargetFilter] | None = strawberry.field(name="or", default=None)
    not_: TargetFilter | None = strawberry.field(name="not", default=None)
    name: StringFilter | None = strawberry.field(default=None, description="Preferred name.")
    alias: StringFilter | None = strawberry.field(
        default=None, description="Any name the target is known by."
    )
    object_type: StringFilter | None = None
    ra_deg: FloatFilter | None = None
    dec_deg: FloatFilter | None = None
    cone: ConeInput | None = None
    text: str | None = strawberry.field(default=None, description="Full text over all names.")
    products: ProductFilter | None = strawberry.field(
        default=None, description="Targets observed by at least one product matching."
    )


@strawberry.input(description="Conditions on products (files).")
class ProductFilter:
    and_: list[ProductFilter] | None = strawberry.field(name="and", default=None)
    or_: list[ProductFilter] | None = strawberry.field(name="or", default=None)
    not_: ProductFilter | None = strawberry.field(name="not", default=None)
    file_name: StringFilter | None = None
    obs_id: StringFilter | None = None
    product_type: StringFilter | None = None
    dataproduct_type: DataproductTypeFilter | None = None
    product_version: StringFilter | None = None
    calib_level: IntFilter | None = None
    observatory: StringFilter | None = None
    telescope: StringFilter | None = None
    instrument: StringFilter | None = None
    detector: StringFilter | None = None
    filter_name: StringFilter | None = None
    target_name: StringFilter | None = None
    ra_deg: FloatFilter | None = None
    dec_deg: FloatFilter | None = None
    fov_deg: FloatFilter | None = None
    t_min_mjd: FloatFilter | None = None
    t_max_mjd: FloatFilter | None = None
    exposure_seconds: FloatFilter | None = None
    em_min_metres: FloatFilter | None = None
    em_max_metres: FloatFilter | None = None
    file_bytes: LongFilter | None = None
    simulated: BooleanFilter | None = None
    verdict: VerdictFilter | None = None
    last_harvested: DateTimeFilter | None = None
    cone: ConeInput | None = None
    region: PolygonInput | None = None
    time: TimeOverlapInput | None = None
    wavelength: WavelengthOverlapInput | None = None
    waveband: WavebandFilter | None = None
    text: str | None = strawberry.field(
        default=None,
        description="Free text: matches the collection's text (id, title, lead, description) "
        "or any name of a target of the product (all words must match; 'quotes' and -not as "
        "in a web search), or the file name or obs_id exactly.",
    )
    collection: CollectionFilter | None = None
    targets: TargetFilter | None = strawberry.field(
        default=None, description="Products with at least one target matching."
    )
    findings: FindingFilter | None = strawberry.field(
        default=None, description="Products with at least one guideline finding matching."
    )


convert_given_fields(
    StringFilter,
    FloatFilter,
    IntFilter,
    LongFilter,
    DateTimeFilter,
    BooleanFilter,
    DataproductTypeFilter,
    VerdictFilter,
    SeverityFilter,
    WavebandFilter,
    SkyPointInput,
    ConeInput,
    PolygonInput,
    TimeOverlapInput,
    WavelengthOverlapInput,
    FindingFilter,
    CollectionFilter,
    TargetFilter,
    ProductFilter,
)
