"""Filters compiled to SQLAlchemy expressions: values are bound parameters, never SQL text.

Hostile inputs are refused with :class:`~catalog.graphql.errors.InvalidFilter` or
:class:`~catalog.graphql.errors.LimitExceeded` before any SQL runs: non-finite numbers,
radius outside (0, 180], declination outside [-90, 90], empty text, lists or nesting past
the configured limits (:class:`~catalog.config.GraphQLSettings`).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

import sqlalchemy as sa

from catalog.config import GraphQLSettings
from catalog.graphql.access import visible_products
from catalog.graphql.context import Caller
from catalog.graphql.enums import waveband_edges
from catalog.graphql.errors import InvalidFilter, LimitExceeded
from catalog.graphql.filters import (
    CollectionFilter,
    ConeInput,
    FindingFilter,
    PolygonInput,
    ProductFilter,
    TargetFilter,
    TimeOverlapInput,
    WavebandFilter,
    WavelengthOverlapInput,
)
from catalog.model import Collection, Product, ProductFinding, Target, TargetAlias, product_target
from catalog.model.names import target_key
from catalog.sphere import SkyPoint, SkyPolygon, SPoly

F = TypeVar("F")
Condition = sa.ColumnElement[bool]
MJD_EPOCH = datetime(1858, 11, 17, tzinfo=UTC)
MAX_TEXT = 500
_OPERATORS = ("eq", "neq", "in_", "gt", "gte", "lt", "lte", "ilike", "is_null")
_NAMES = {"in_": "in", "is_null": "isNull"}


def mjd(moment: datetime) -> float:
    """A date-time (naive: UTC) as a Modified Julian Date."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (aware - MJD_EPOCH).total_seconds() / 86400.0


def _compare(expr: Any, op: str, value: Any) -> Condition:
    if op == "ilike":
        return expr.ilike(value)  # type: ignore[no-any-return]
    comparisons: dict[str, Callable[[Any, Any], Condition]] = {
        "eq": operator.eq,
        "neq": operator.ne,
        "gt": operator.gt,
        "gte": operator.ge,
        "lt": operator.lt,
        "lte": operator.le,
    }
    return comparisons[op](expr, value)


def _scircle(centre: SkyPoint, radius_deg: float) -> Any:
    return sa.func.scircle(
        sa.func.spoint(sa.func.radians(centre.ra), sa.func.radians(centre.dec)),
        sa.func.radians(radius_deg),
    )


_TERM = re.compile(r'(-?)"([^"]*)"|(-?)(\S+)')


def text_terms(text: str) -> list[tuple[bool, str]]:
    """Web-search syntax: words and "quoted phrases", each optionally excluded with '-'."""
    terms = []
    for quoted_neg, phrase, word_neg, word in _TERM.findall(text):
        term = phrase if phrase else word
        negated = bool(quoted_neg or word_neg)
        if term.strip("-"):
            terms.append((negated, f'"{term}"' if phrase else term.lstrip("-")))
    return terms


def tsquery(text: str, configs: Sequence[str]) -> Any:
    """A tsquery in which each term matches in any of ``configs`` (stemmed or not) and an
    excluded term in none: ``(e(w1) | s(w1)) & !(e(w2) | s(w2))``."""
    query: Any = None
    for negated, term in text_terms(text):
        either: Any = None
        for config in configs:
            q = sa.func.websearch_to_tsquery(sa.literal_column(f"'{config}'::regconfig"), term)
            either = q if either is None else sa.func.tsquery_or(either, q)
        combined = sa.func.tsquery_not(either) if negated else either
        query = combined if query is None else sa.func.tsquery_and(query, combined)
    return query


def _camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part.title() for part in rest)


class FilterCompiler:
    """Compiles one request's filters; counts values and depth against the limits."""

    def __init__(self, settings: GraphQLSettings, caller: Caller) -> None:
        self.settings = settings
        self.caller = caller
        self.values = 0

    # -- bookkeeping ---------------------------------------------------------------------

    def _count(self, n: int, path: str) -> None:
        self.values += n
        if self.values > self.settings.max_filter_values:
            raise LimitExceeded(
                f"The filter has more than {self.settings.max_filter_values} conditions and "
                f"values (at {path}); split the request or use fewer values.",
                limit=self.settings.max_filter_values,
            )

    def _list(self, items: Sequence[Any], path: str) -> None:
        if len(items) > self.settings.max_list_items:
            raise LimitExceeded(
                f"{path} has {len(items)} items; at most {self.settings.max_list_items} are "
                "allowed in one list.",
                limit=self.settings.max_list_items,
            )
        self._count(len(items), path)

    def _depth(self, depth: int, path: str) -> None:
        if depth > self.settings.max_filter_depth:
            raise LimitExceeded(
                f"The filter nests deeper than {self.settings.max_filter_depth} levels at "
                f"{path}; flatten and/or/not combinations.",
                limit=self.settings.max_filter_depth,
            )

    def _boolean(
        self, f: Any, depth: int, path: str, compile_: Callable[[Any, int, str], Condition]
    ) -> list[Condition]:
        parts: list[Condition] = []
        for name, join in (("and_", sa.and_), ("or_", sa.or_)):
            branches = getattr(f, name)
            if branches is None:
                continue
            where = f"{path}.{_camel(name)}"
            self._list(branches, where)
            if not branches:
                parts.append(sa.true() if name == "and_" else sa.false())
                continue
            parts.append(
                join(*(compile_(b, depth + 1, f"{where}[{i}]") for i, b in enumerate(branches)))
            )
        if f.not_ is not None:
            parts.append(sa.not_(compile_(f.not_, depth + 1, f"{path}.not")))
        return parts

    # -- scalar operators ------------------------------------------------------------------

    def _value(self, value: Any, path: str) -> Any:
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidFilter(f"{path} must be a finite number, got {value!r}.")
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    def scalar(self, expr: Any, f: Any, path: str) -> list[Condition]:
        parts: list[Condition] = []
        for op in _OPERATORS:
            raw = getattr(f, op, None)
            if raw is None:
                continue
            where = f"{path}.{_NAMES.get(op, op)}"
            self._count(1, where)
            if op == "is_null":
                parts.append(expr.is_(None) if raw else expr.is_not(None))
            elif op == "in_":
                self._list(raw, where)
                parts.append(expr.in_([self._value(v, where) for v in raw]))
            else:
                parts.append(_compare(expr, op, self._value(raw, where)))
        return parts

    def _fields(self, f: Any, columns: dict[str, Any], path: str) -> list[Condition]:
        parts: list[Condition] = []
        for name, expr in columns.items():
            sub = getattr(f, name)
            if sub is not None:
                parts.extend(self.scalar(expr, sub, f"{path}.{_camel(name)}"))
        return parts

    # -- text, sky, time, wavelength -------------------------------------------------------

    def _text(self, text: str, path: str) -> str:
        cleaned = text.strip()
        if not cleaned:
            raise InvalidFilter(f"{path} is empty; give at least one word or leave it out.")
        if len(cleaned) > MAX_TEXT:
            raise InvalidFilter(f"{path} is longer than {MAX_TEXT} characters.")
        self._count(1, path)
        return cleaned

    @staticmethod
    def _tsmatch(vector: Any, text: str, *configs: str) -> Condition:
        query = tsquery(text, configs)
        return sa.false() if query is None else vector.op("@@")(query)

    def collection_text(self, text: str, path: str) -> Condition:
        return self._tsmatch(Collection.search_text, self._text(text, path), "simple", "english")

    def target_ids_matching(self, text: str, path: str) -> Any:
        words = self._text(text, path)
        return sa.select(TargetAlias.target_id).where(
            sa.or_(
                self._tsmatch(TargetAlias.search_text, words, "simple"),
                TargetAlias.name_key == target_key(words),
            )
        )

    def _cone(
        self, cone: ConeInput, path: str, pos: Any, footprint: Any, bound: Any = None
    ) -> Condition:
        """Position inside the cone, or footprint overlapping it.

        pg_sphere circles stop at 90 degrees: a wider cone is everything that is not wholly
        inside the antipodal circle of radius 180 - r (boundary included either way)."""
        self._count(1, path)
        for name in ("ra_deg", "dec_deg", "radius_deg"):
            self._value(getattr(cone, name), f"{path}.{_camel(name)}")
        try:
            centre = SkyPoint.checked(cone.ra_deg, cone.dec_deg)
        except ValueError as exc:
            raise InvalidFilter(f"{path}: {exc}.") from None
        radius = cone.radius_deg
        if not 0.0 < radius <= 180.0:
            raise InvalidFilter(f"{path}.radiusDeg must lie in (0, 180] degrees, got {radius!r}.")
        if radius >= 180.0:
            located = [pos.is_not(None)] + ([] if footprint is None else [footprint.is_not(None)])
            return sa.or_(*located)
        if radius <= 90.0:
            return self._sky(pos, footprint, _scircle(centre, radius), bound)
        anti = _scircle(SkyPoint.checked(centre.ra + 180.0, -centre.dec), 180.0 - radius)
        outside = sa.and_(pos.is_not(None), sa.not_(pos.op("<@")(anti)))
        if footprint is None:
            return outside
        return sa.or_(outside, sa.and_(footprint.is_not(None), sa.not_(footprint.op("<@")(anti))))

    def _polygon(self, region: PolygonInput, path: str) -> Any:
        self._list(region.vertices, f"{path}.vertices")
        for i, v in enumerate(region.vertices):
            self._value(v.ra_deg, f"{path}.vertices[{i}].raDeg")
            self._value(v.dec_deg, f"{path}.vertices[{i}].decDeg")
        try:
            polygon = SkyPolygon.from_degrees((v.ra_deg, v.dec_deg) for v in region.vertices)
        except ValueError as exc:
            raise InvalidFilter(f"{path}: {exc}.") from None
        return sa.bindparam(None, polygon, type_=SPoly())

    def _sky(self, pos: Any, footprint: Any, shape: Any, bound: Any = None) -> Condition:
        """Position inside the shape, or footprint overlapping it; ``bound``, a circle
        holding the footprint, is tested first: its GiST index answers."""
        inside: Condition = pos.op("<@")(shape)
        if footprint is None:
            return inside
        overlaps: Condition = footprint.op("&&")(shape)
        if bound is not None:
            overlaps = sa.and_(bound.op("&&")(shape), overlaps)
        return sa.or_(inside, overlaps)

    def _time(self, t: TimeOverlapInput, path: str) -> list[Condition]:
        ends: dict[str, float | None] = {}
        for side in ("start", "end"):
            as_mjd, as_iso = getattr(t, f"{side}_mjd"), getattr(t, side)
            if as_mjd is not None and as_iso is not None:
                raise InvalidFilter(f"{path}: give {side}Mjd or {side}, not both.")
            if as_mjd is not None:
                ends[side] = self._value(as_mjd, f"{path}.{side}Mjd")
            else:
                ends[side] = None if as_iso is None else mjd(as_iso)
        start, end = ends["start"], ends["end"]
        if start is None and end is None:
            raise InvalidFilter(f"{path} needs a start, an end or both.")
        if start is not None and end is not None and start > end:
            raise InvalidFilter(f"{path}: the start ({start} MJD) is after the end ({end} MJD).")
        self._count(1, path)
        parts: list[Condition] = []
        if end is not None:
            parts.append(Product.t_min <= end)
        if start is not None:
            parts.append(Product.t_max >= start)
        return parts

    def _wavelength(self, w: WavelengthOverlapInput, path: str) -> list[Condition]:
        low, high = w.min_metres, w.max_metres
        for label, value in (("minMetres", low), ("maxMetres", high)):
            if value is not None and (not math.isfinite(value) or value <= 0):
                raise InvalidFilter(f"{path}.{label} must be a positive number of metres.")
        if low is None and high is None:
            raise InvalidFilter(f"{path} needs minMetres, maxMetres or both.")
        if low is not None and high is not None and low > high:
            raise InvalidFilter(f"{path}: minMetres ({low}) is larger than maxMetres ({high}).")
        self._count(1, path)
        parts: list[Condition] = []
        if high is not None:
            parts.append(Product.em_min <= high)
        if low is not None:
            parts.append(Product.em_max >= low)
        return parts

    def _waveband(self, w: WavebandFilter, path: str) -> Condition:
        bands = list(w.in_ or [])
        if w.in_ is not None:
            self._list(w.in_, f"{path}.in")
        if w.eq is not None:
            bands.append(w.eq)
        if not bands:
            return sa.false() if w.in_ is not None else sa.true()
        self._count(1, path)
        tests = []
        for band in dict.fromkeys(bands):
            low, high = waveband_edges(band)
            below = Product.em_min < high if math.isfinite(high) else Product.em_min.is_not(None)
            tests.append(sa.and_(below, sa.or_(Product.em_max > low, Product.em_min >= low)))
        return sa.or_(*tests)

    # -- the types -----------------------------------------------------------------------------

    def product(self, f: ProductFilter | None, depth: int = 0, path: str = "filter") -> Condition:
        """The predicate on ``hlsp.product`` for ``f`` (visibility included)."""
        visible = visible_products(self.caller)
        if f is None:
            return visible
        return sa.and_(visible, self._product(f, depth, path))

    def _product(self, f: ProductFilter, depth: int, path: str) -> Condition:
        self._depth(depth, path)
        p = Product
        parts = self._boolean(f, depth, path, self._product)
        parts += self._fields(
            f,
            {
                "file_name": p.file_name,
                "obs_id": p.obs_id,
                "product_type": p.product_type,
                "dataproduct_type": p.dataproduct_type,
                "product_version": p.product_version,
                "calib_level": p.calib_level,
                "observatory": p.observatory,
                "telescope": p.telescope,
                "instrument": p.instrument,
                "detector": p.detector,
                "filter_name": p.filter_name,
                "target_name": p.target_name,
                "ra_deg": p.s_ra,
                "dec_deg": p.s_dec,
                "fov_deg": p.s_fov,
                "t_min_mjd": p.t_min,
                "t_max_mjd": p.t_max,
                "exposure_seconds": p.t_exptime,
                "em_min_metres": p.em_min,
                "em_max_metres": p.em_max,
                "file_bytes": p.file_bytes,
                "simulated": p.simulated,
                "verdict": p.verdict,
                "last_harvested": p.last_harvested,
            },
            path,
        )
        if f.cone is not None:
            parts.append(self._cone(f.cone, f"{path}.cone", p.pos, p.footprint, p.footprint_bound))
        if f.region is not None:
            shape = self._polygon(f.region, f"{path}.region")
            parts.append(self._sky(p.pos, p.footprint, shape, p.footprint_bound))
        if f.time is not None:
            parts += self._time(f.time, f"{path}.time")
        if f.wavelength is not None:
            parts += self._wavelength(f.wavelength, f"{path}.wavelength")
        if f.waveband is not None:
            parts.append(self._waveband(f.waveband, f"{path}.waveband"))
        if f.text is not None:
            parts.append(self._product_text(f.text, f"{path}.text"))
        if f.collection is not None:
            inner = self._collection(f.collection, depth + 1, f"{path}.collection")
            parts.append(p.collection_id.in_(sa.select(Collection.collection_id).where(inner)))
        if f.targets is not None:
            inner = self._target(f.targets, depth + 1, f"{path}.targets")
            parts.append(
                p.product_id.in_(
                    sa.select(product_target.c.product_id)
                    .join(Target, Target.target_id == product_target.c.target_id)
                    .where(inner)
                )
            )
        if f.findings is not None:
            parts.append(p.product_id.in_(self._findings(f.findings, f"{path}.findings")))
        return sa.and_(sa.true(), *parts)

    def _product_text(self, text: str, path: str) -> Condition:
        words = self._text(text, path)
        in_collection = Product.collection_id.in_(
            sa.select(Collection.collection_id).where(self.collection_text(words, path))
        )
        of_target = Product.product_id.in_(
            sa.select(product_target.c.product_id).where(
                product_target.c.target_id.in_(self.target_ids_matching(words, path))
            )
        )
        return sa.or_(in_collection, of_target, Product.file_name == words, Product.obs_id == words)

    def _findings(self, f: FindingFilter, path: str) -> Any:
        parts = self._fields(
            f,
            {
                "code": ProductFinding.code,
                "severity": ProductFinding.severity,
                "keyword": ProductFinding.keyword,
            },
            path,
        )
        return sa.select(ProductFinding.product_id).where(sa.true(), *parts)

    def collection(
        self, f: CollectionFilter | None, depth: int = 0, path: str = "filter"
    ) -> Condition:
        return sa.true() if f is None else self._collection(f, depth, path)

    def _collection(self, f: CollectionFilter, depth: int, path: str) -> Condition:
        self._depth(depth, path)
        c = Collection
        parts = self._boolean(f, depth, path, self._collection)
        parts += self._fields(
            f,
            {
                "hlsp_id": c.hlsp_id,
                "title": c.title,
                "project_lead": c.project_lead,
                "doi": c.doi,
                "license": c.license,
                "release_date": c.release_date,
                "last_harvested": c.last_harvested,
            },
            path,
        )
        if f.text is not None:
            parts.append(self.collection_text(f.text, f"{path}.text"))
        if f.products is not None:
            inner = self.product(f.products, depth + 1, f"{path}.products")
            parts.append(c.collection_id.in_(sa.select(Product.collection_id).where(inner)))
        return sa.and_(sa.true(), *parts)

    def target(self, f: TargetFilter | None, depth: int = 0, path: str = "filter") -> Condition:
        return sa.true() if f is None else self._target(f, depth, path)

    def _target(self, f: TargetFilter, depth: int, path: str) -> Condition:
        self._depth(depth, path)
        t = Target
        parts = self._boolean(f, depth, path, self._target)
        parts += self._fields(
            f,
            {"name": t.name, "object_type": t.object_type, "ra_deg": t.s_ra, "dec_deg": t.s_dec},
            path,
        )
        if f.alias is not None:
            names = self.scalar(TargetAlias.name, f.alias, f"{path}.alias")
            parts.append(t.target_id.in_(sa.select(TargetAlias.target_id).where(*names)))
        if f.cone is not None:
            parts.append(self._cone(f.cone, f"{path}.cone", t.pos, None))
        if f.text is not None:
            parts.append(t.target_id.in_(self.target_ids_matching(f.text, f"{path}.text")))
        if f.products is not None:
            inner = self.product(f.products, depth + 1, f"{path}.products")
            parts.append(
                t.target_id.in_(
                    sa.select(product_target.c.target_id)
                    .join(Product, Product.product_id == product_target.c.product_id)
                    .where(inner)
                )
            )
        return sa.and_(sa.true(), *parts)
