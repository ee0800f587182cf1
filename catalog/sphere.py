"""pg_sphere geometry as SQLAlchemy column types, in degrees on the Python side.

pg_sphere stores radians; astronomers think in degrees. ``SPoint`` and ``SPoly`` convert at
the boundary, so call sites never format or parse SQL geometry themselves::

    product.pos = SkyPoint(ra=83.6331, dec=22.0145)
    product.footprint = SkyPolygon.from_degrees([(10, 20), (11, 20), (11, 21)])

Values are validated on the way in (finite, -90 <= dec <= 90, RA wrapped into [0, 360));
pg_sphere's text output (radians, or degrees with ``d`` when a session switched
``set_sphere_output('DEG')``) is parsed on the way out. The values themselves, and their
parsing, are in :mod:`catalog.sky` (no SQLAlchemy there).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import UserDefinedType

from catalog.sky import (
    BOUND_MARGIN_DEG,
    SkyCircle,
    SkyPoint,
    SkyPolygon,
    bounding_circle,
    parse_scircle,
    parse_spoint,
    parse_spoly,
    wrap_ra,
)

__all__ = [
    "BOUND_MARGIN_DEG",
    "SCircle",
    "SPoint",
    "SPoly",
    "SkyCircle",
    "SkyPoint",
    "SkyPolygon",
    "bounding_circle",
    "cone",
    "parse_scircle",
    "parse_spoint",
    "parse_spoly",
    "wrap_ra",
]


class _SphereType(UserDefinedType[Any]):
    """Shared plumbing: bind as a degree literal cast to the type, read back as text."""

    cache_ok = True
    pg_name = ""
    value_type: type = object  # the Python class a column of the type holds

    @property
    def python_type(self) -> type:
        return self.value_type

    def get_col_spec(self, **kw: Any) -> str:
        return self.pg_name

    def bind_expression(self, bindvalue: Any) -> Any:
        return sa.cast(bindvalue, self)

    def column_expression(self, colexpr: Any) -> Any:
        return sa.type_coerce(sa.cast(colexpr, sa.Text()), self)

    def _to_literal(self, value: Any) -> str:
        raise NotImplementedError

    def _from_text(self, text: str) -> Any:
        raise NotImplementedError

    def bind_processor(self, dialect: Any) -> Callable[[Any], str | None]:
        def process(value: Any) -> str | None:
            return None if value is None else self._to_literal(value)

        return process

    def result_processor(self, dialect: Any, coltype: Any) -> Callable[[Any], Any]:
        def process(value: Any) -> Any:
            return None if value is None else self._from_text(value)

        return process


class SPoint(_SphereType):
    """pg_sphere ``spoint`` <-> :class:`SkyPoint` (degrees)."""

    cache_ok = True
    pg_name = "spoint"
    value_type = SkyPoint

    def _to_literal(self, value: Any) -> str:
        ra, dec = value
        return SkyPoint.checked(ra, dec).pgsphere_literal()

    def _from_text(self, text: str) -> SkyPoint:
        return parse_spoint(text)


class SPoly(_SphereType):
    """pg_sphere ``spoly`` <-> :class:`SkyPolygon` (vertices in degrees)."""

    cache_ok = True
    pg_name = "spoly"
    value_type = SkyPolygon

    def _to_literal(self, value: Any) -> str:
        vertices = value.vertices if isinstance(value, SkyPolygon) else value
        return SkyPolygon.from_degrees(vertices).pgsphere_literal()

    def _from_text(self, text: str) -> SkyPolygon:
        return parse_spoly(text)


class SCircle(_SphereType):
    """pg_sphere ``scircle`` <-> :class:`SkyCircle` (degrees)."""

    cache_ok = True
    pg_name = "scircle"
    value_type = SkyCircle

    def _to_literal(self, value: Any) -> str:
        centre, radius = value
        return SkyCircle(SkyPoint.checked(*centre), float(radius)).pgsphere_literal()

    def _from_text(self, text: str) -> SkyCircle:
        return parse_scircle(text)


def cone(column: Any, ra: float, dec: float, radius_deg: float) -> Any:
    """``column <@ scircle(...)``: an index-friendly cone predicate (degrees in)."""
    centre = SkyPoint.checked(ra, dec)
    if not (math.isfinite(radius_deg) and 0.0 < radius_deg <= 180.0):
        raise ValueError(f"cone radius must lie in (0, 180] degrees, got {radius_deg!r}")
    circle = sa.func.scircle(
        sa.func.spoint(sa.func.radians(centre.ra), sa.func.radians(centre.dec)),
        sa.func.radians(radius_deg),
    )
    return column.op("<@")(circle)


def _register_reflection() -> None:
    """Let SQLAlchemy reflection (and alembic's drift check) recognise the pg_sphere types."""
    from sqlalchemy.dialects.postgresql.base import ischema_names

    ischema_names.setdefault("spoint", SPoint)
    ischema_names.setdefault("spoly", SPoly)
    ischema_names.setdefault("scircle", SCircle)


_register_reflection()
