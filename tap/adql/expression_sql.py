"""Translating value expressions and search conditions to PostgreSQL.

Literals are re-rendered from their parsed values (numbers from Python numbers, strings with
quotes doubled); identifiers come from :mod:`tap.adql.scope`; functions from the allow-list.
Rewrites for the GiST indexes: ``DISTANCE(p, q) < r`` (or ``<=``, or ``r > DISTANCE(…)``)
becomes ``p <@ scircle(q, radians(r))``; ``CONTAINS(a, b) = 1`` becomes ``a <@ b``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tap.adql import geometry
from tap.adql.functions import Udf, translate_aggregate, translate_builtin
from tap.adql.nodes import (
    Between,
    BoolOp,
    Cast,
    Chain,
    ColumnRef,
    Compare,
    Cond,
    Exists,
    Expr,
    Func,
    InList,
    InQuery,
    IsNull,
    Like,
    Literal,
    Not,
    Paren,
    Query,
    Unary,
)
from tap.adql.scope import Scope, suggestion
from tap.adql.units import conversion_factor
from tap.adql.values import NUMERIC_RANK, Value, wider
from tap.adql.words import AGGREGATES, BUILTIN_ARITY
from tap.errors import AdqlError

_CAST_SQL = {
    "SMALLINT": ("smallint", "short"),
    "INTEGER": ("integer", "int"),
    "BIGINT": ("bigint", "long"),
    "REAL": ("real", "float"),
    "DOUBLE PRECISION": ("double precision", "double"),
    "CHAR": ("char", "string"),
    "VARCHAR": ("varchar", "string"),
    "TIMESTAMP": ("timestamp", "timestamp"),
}
_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "=", "<>": "<>"}


def literal_sql(node: Literal) -> Value:
    if node.kind == "int":
        assert isinstance(node.value, int)
        kind = "int" if -(2**31) <= node.value < 2**31 else "long"
        return Value(str(node.value) if node.value >= 0 else f"({node.value})", kind)
    if node.kind == "float":
        assert isinstance(node.value, float)
        text = repr(node.value)
        return Value(text if node.value >= 0 else f"({text})", "double")
    if node.kind == "string":
        assert isinstance(node.value, str)
        return Value("'" + node.value.replace("'", "''") + "'", "string")
    return Value("NULL", "null")


def _is_number(value: Value) -> bool:
    return value.kind in NUMERIC_RANK or value.kind == "null"


class ExpressionTranslator:
    """Values and conditions in one scope; subqueries go to :meth:`subquery`."""

    def __init__(self, udfs: Mapping[str, Udf]) -> None:
        self.udfs = udfs

    # -- values ----------------------------------------------------------------------------
    def value(self, node: Expr, scope: Scope) -> Value:  # noqa: PLR0911
        if isinstance(node, ColumnRef):
            return scope.resolve(node)
        if isinstance(node, Literal):
            return literal_sql(node)
        if isinstance(node, Func):
            return self.function(node, scope)
        if isinstance(node, Chain):
            return self.chain(node, scope)
        if isinstance(node, Paren):
            inner = self.value(node.expr, scope)
            return Value(
                f"({inner.sql})",
                inner.kind,
                inner.unit,
                inner.column,
                inner.geometry,
                bound=inner.bound,
            )
        if isinstance(node, Unary):
            operand = self.value(node.operand, scope)
            if not _is_number(operand):
                raise AdqlError(f"a sign needs a number, not a {operand.kind} value")
            return Value(f"({node.op}{operand.sql})", operand.kind, operand.unit)
        if isinstance(node, Cast):
            return self.cast(node, scope)
        raise AdqlError(f"unsupported expression {type(node).__name__}")  # pragma: no cover

    def chain(self, node: Chain, scope: Scope) -> Value:
        first = self.value(node.first, scope)
        parts = [first.sql]
        kind, unit = first.kind, first.unit
        for op, operand_node in node.rest:
            operand = self.value(operand_node, scope)
            if op == "||":
                kind, unit = "string", None
            else:
                for side in (first, operand) if len(parts) == 1 else (operand,):
                    if not _is_number(side):
                        raise AdqlError(
                            f"'{op}' needs numbers, not a {side.kind} value; use || to join strings"
                        )
                kind = wider(kind, operand.kind)
                if op in ("+", "-") and unit == operand.unit:
                    pass
                else:
                    unit = None
            parts.append(op)
            parts.append(operand.sql)
        return Value(f"({' '.join(parts)})", kind, unit)

    def cast(self, node: Cast, scope: Scope) -> Value:
        if node.target in ("POINT", "CIRCLE", "POLYGON"):
            if not (isinstance(node.expr, Literal) and node.expr.kind == "string"):
                raise AdqlError(f"CAST to {node.target} is supported for string literals only")
            assert isinstance(node.expr.value, str)
            return geometry.cast_literal(node.expr.value, node.target)
        inner = self.value(node.expr, scope)
        if inner.kind in ("point", "circle", "polygon"):
            raise AdqlError(f"a {inner.kind} cannot be CAST to {node.target}")
        sql_type, kind = _CAST_SQL[node.target]
        if node.target in ("CHAR", "VARCHAR") and node.length is not None:
            sql_type = f"{sql_type}({node.length})"
        return Value(f"CAST({inner.sql} AS {sql_type})", kind)

    # -- functions -------------------------------------------------------------------------
    def function(self, node: Func, scope: Scope) -> Value:
        name = node.name
        if name in AGGREGATES:
            if node.star:
                return translate_aggregate(name, None, False)
            return translate_aggregate(name, self.value(node.args[0], scope), node.distinct)
        if name in _GEOMETRY:
            return _GEOMETRY[name](self, node, scope)
        if name == "IN_UNIT":
            return self.in_unit(node, scope)
        if name in BUILTIN_ARITY:
            args = [self.value(a, scope) for a in node.args]
            ints = [
                a.value if isinstance(a, Literal) and a.kind == "int" else None for a in node.args
            ]
            return translate_builtin(name, args, ints)  # type: ignore[arg-type]
        udf = self.udfs.get(name)
        if udf is None:
            known = [u.name.lower() for u in self.udfs.values()]
            raise AdqlError(
                f"unknown function {name.lower()}(): it is not an ADQL function "
                "nor one this service declares" + suggestion(name.lower(), known)
            )
        if len(node.args) != udf.arity:
            raise AdqlError(f"{udf.form} takes {udf.arity} arguments, got {len(node.args)}")
        args = [self.value(a, scope) for a in node.args]
        return Value(udf.render([a.sql for a in args]), udf.kind)

    def in_unit(self, node: Func, scope: Scope) -> Value:
        value = self.value(node.args[0], scope)
        target = node.args[1]
        assert isinstance(target, Literal) and isinstance(target.value, str)
        if not _is_number(value):
            raise AdqlError(f"IN_UNIT needs a number, not a {value.kind} value")
        if not value.unit:
            raise AdqlError(
                "IN_UNIT needs a value whose unit is known (a column with a "
                "declared unit, or simple arithmetic on one)"
            )
        factor = conversion_factor(value.unit, target.value)
        return Value(f"(({value.sql}) * {factor!r})", "double", target.value)

    def points(self, node: Func, scope: Scope, args: list[Expr]) -> Value:
        """A point from ``[sys,] x, y`` (a declared lon/lat pair becomes its spoint column)."""
        if len(args) == 3:
            self._coord_sys(args[0])
            args = args[1:]
        lon, lat = (self.value(a, scope) for a in args)
        if lon.column is not None and lat.column is not None:
            twin = _point_twin(lon, lat, scope)
            if twin is not None:
                return twin
        return geometry.point(lon, lat)

    @staticmethod
    def _coord_sys(arg: Expr) -> None:
        if isinstance(arg, Literal) and arg.kind in ("string", "null"):
            geometry.check_coord_sys(arg.value if isinstance(arg.value, str) else None)

    def _centred(
        self, node: Func, scope: Scope, extra: int
    ) -> tuple[Value, list[Value], list[float] | None]:
        args = list(node.args)
        if args and isinstance(args[0], Literal) and args[0].kind in ("string", "null"):
            self._coord_sys(args[0])
            args = args[1:]
        constants = _constants(args) if len(args) == extra + 2 else None
        if len(args) == extra + 2:
            centre = self.points(node, scope, args[:2])
            rest = args[2:]
        else:
            centre = self.value(args[0], scope)
            rest = args[1:]
        return centre, [self.value(a, scope) for a in rest], constants

    def polygon(self, node: Func, scope: Scope) -> Value:
        args = list(node.args)
        if args and isinstance(args[0], Literal) and args[0].kind in ("string", "null"):
            self._coord_sys(args[0])
            args = args[1:]
        values = [self.value(a, scope) for a in args]
        if all(v.kind == "point" for v in values):
            return geometry.polygon(values)
        if len(values) % 2 or len(values) < 6:
            raise AdqlError("POLYGON takes at least three points, or lon, lat pairs")
        constants = _constants(args)
        if constants is not None:
            return geometry.polygon([], constants)
        return geometry.polygon(
            [geometry.point(values[i], values[i + 1]) for i in range(0, len(values), 2)]
        )

    # -- conditions ------------------------------------------------------------------------
    def condition(self, node: Cond, scope: Scope) -> str:  # noqa: PLR0911
        if isinstance(node, BoolOp):
            joiner = f" {node.op} "
            return "(" + joiner.join(self.condition(c, scope) for c in node.items) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.condition(node.cond, scope)})"
        if isinstance(node, Compare):
            return self.compare(node, scope)
        if isinstance(node, Between):
            values = [self.value(e, scope) for e in (node.expr, node.low, node.high)]
            negation = "NOT " if node.negated else ""
            return f"({values[0].sql} {negation}BETWEEN {values[1].sql} AND {values[2].sql})"
        if isinstance(node, InList):
            left = self.value(node.expr, scope)
            items = ", ".join(self.value(e, scope).sql for e in node.items)
            return f"({left.sql} {'NOT ' if node.negated else ''}IN ({items}))"
        if isinstance(node, InQuery):
            left = self.value(node.expr, scope)
            sql = self.subquery(node.query, scope, single_column=True)
            return f"({left.sql} {'NOT ' if node.negated else ''}IN {sql})"
        if isinstance(node, Like):
            left, pattern = self.value(node.expr, scope), self.value(node.pattern, scope)
            for side in (left, pattern):
                if side.kind not in ("string", "null", "region"):
                    raise AdqlError(f"LIKE needs strings, not a {side.kind} value")
            op = ("NOT " if node.negated else "") + ("ILIKE" if node.ilike else "LIKE")
            return f"({left.sql} {op} {pattern.sql})"
        if isinstance(node, IsNull):
            value = self.value(node.expr, scope)
            return f"({value.sql} IS {'NOT ' if node.negated else ''}NULL)"
        if isinstance(node, Exists):
            return f"(EXISTS {self.subquery(node.query, scope, single_column=False)})"
        raise AdqlError(f"unsupported condition {type(node).__name__}")  # pragma: no cover

    def subquery(self, query: Query, scope: Scope, *, single_column: bool) -> str:
        """The parenthesised SQL of a subquery: the query translator provides it."""
        raise NotImplementedError  # pragma: no cover

    def compare(self, node: Compare, scope: Scope) -> str:
        left, op, right = node.left, node.op, node.right
        for a, b, flipped in ((left, right, False), (right, left, True)):
            if isinstance(a, Func) and a.name in ("CONTAINS", "INTERSECTS"):
                return self.predicate_comparison(a, _FLIP[op] if flipped else op, b, scope)
        # DISTANCE(p, q) < r  ->  p <@ scircle(q, radians(r))
        if isinstance(left, Func) and left.name == "DISTANCE" and op in ("<", "<="):
            return self.within(left, right, op, scope)
        if isinstance(right, Func) and right.name == "DISTANCE" and op in (">", ">="):
            return self.within(right, left, _FLIP[op], scope)
        lv, rv = self.value(left, scope), self.value(right, scope)
        mixed = (_is_number(lv) and rv.kind == "string") or (_is_number(rv) and lv.kind == "string")
        if mixed and "null" not in (lv.kind, rv.kind):
            raise AdqlError(f"cannot compare a {lv.kind} value with a {rv.kind} value")
        return f"({lv.sql} {op} {rv.sql})"

    def predicate_comparison(self, func: Func, op: str, other: Expr, scope: Scope) -> str:
        if not (
            isinstance(other, Literal)
            and other.kind == "int"
            and other.value in (0, 1)
            and op in ("=", "<>")
        ):
            raise AdqlError(
                f"{func.name} must be compared with 0 or 1 (= or <>), e.g. {func.name}(…) = 1"
            )
        a, b = (self.value(arg, scope) for arg in func.args)
        sql = geometry.contains(a, b) if func.name == "CONTAINS" else geometry.intersects(a, b)
        truth = (other.value == 1) == (op == "=")
        return f"({sql})" if truth else f"(NOT ({sql}))"

    def within(self, func: Func, radius: Expr, op: str, scope: Scope) -> str:
        p, q = self.distance_points(func, scope)
        constant = _constants([radius])
        value = self.value(radius, scope)
        return f"({geometry.within(p, q, value, op, constant[0] if constant else None)})"

    def distance_points(self, func: Func, scope: Scope) -> tuple[Value, Value]:
        if len(func.args) == 4:
            return (
                self.points(func, scope, func.args[:2]),
                self.points(func, scope, func.args[2:]),
            )
        p, q = (self.value(a, scope) for a in func.args)
        return p, q


def _constants(args: list[Expr]) -> list[float] | None:
    out: list[float] = []
    for arg in args:
        if not (isinstance(arg, Literal) and arg.kind in ("int", "float")):
            return None
        assert isinstance(arg.value, int | float)
        out.append(float(arg.value))
    return out


def _point_twin(lon: Value, lat: Value, scope: Scope) -> Value | None:
    """The spoint column declared for this (lon, lat) column pair, if any."""
    search: Scope | None = scope
    while search is not None:
        for source in search.sources:
            table = source.table
            if table is None or not table.point_columns:
                continue
            for lon_name, lat_name, spoint in table.point_columns:
                lon_col, lat_col = table.column(lon_name), table.column(lat_name)
                if (
                    lon.column is lon_col
                    and lat.column is lat_col
                    and lon.sql.startswith(f'"{source.alias}".')
                    and lat.sql.startswith(f'"{source.alias}".')
                ):
                    return Value(f'"{source.alias}".{_quote(spoint)}', "point")
        search = search.parent
    return None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _point(t: ExpressionTranslator, node: Func, scope: Scope) -> Value:
    return t.points(node, scope, node.args)


def _circle(t: ExpressionTranslator, node: Func, scope: Scope) -> Value:
    centre, (radius,), _ = t._centred(node, scope, 1)
    constant = _constants(node.args[-1:])
    return geometry.circle(centre, radius, constant[0] if constant else None)


def _box(t: ExpressionTranslator, node: Func, scope: Scope) -> Value:
    centre, (width, height), constants = t._centred(node, scope, 2)
    if constants is not None:
        return geometry.box(centre, centre, width, height, constants)
    return geometry.box_around(centre, width, height)


def _contains_value(t: ExpressionTranslator, node: Func, scope: Scope) -> Value:
    a, b = (t.value(arg, scope) for arg in node.args)
    sql = geometry.contains(a, b) if node.name == "CONTAINS" else geometry.intersects(a, b)
    return Value(f"(CASE WHEN {sql} THEN 1 ELSE 0 END)", "int")


def _distance(t: ExpressionTranslator, node: Func, scope: Scope) -> Value:
    return geometry.distance(*t.distance_points(node, scope))


def _region(t: ExpressionTranslator, node: Func, scope: Scope) -> Value:
    arg = node.args[0]
    assert isinstance(arg, Literal) and isinstance(arg.value, str)
    return geometry.region(arg.value)


def _coordsys(t: ExpressionTranslator, node: Func, scope: Scope) -> Value:
    value = t.value(node.args[0], scope)
    geometry.geometry_sql(value, "COORDSYS")
    return Value("'ICRS'", "string")


_GEOMETRY: dict[str, Callable[[ExpressionTranslator, Func, Scope], Value]] = {
    "POINT": _point,
    "CIRCLE": _circle,
    "BOX": _box,
    "POLYGON": lambda t, n, s: t.polygon(n, s),
    "REGION": _region,
    "CONTAINS": _contains_value,
    "INTERSECTS": _contains_value,
    "DISTANCE": _distance,
    "CENTROID": lambda t, n, s: geometry.centroid(t.value(n.args[0], s)),
    "AREA": lambda t, n, s: geometry.area(t.value(n.args[0], s)),
    "COORD1": lambda t, n, s: geometry.coordinate(t.value(n.args[0], s), 1),
    "COORD2": lambda t, n, s: geometry.coordinate(t.value(n.args[0], s), 2),
    "COORDSYS": _coordsys,
}
