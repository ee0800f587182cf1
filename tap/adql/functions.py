"""The function allow-list: ADQL's math, string and aggregate functions, and the UDFs.

Only what is listed here (and the geometry functions of :mod:`tap.adql.geometry`) reaches the
database; any other name is an :class:`~tap.errors.AdqlError`. :data:`UDFS` is what the
capabilities document declares (``form`` and ``description`` of each).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tap.adql.units import power_of, root_of
from tap.adql.values import NUMERIC_RANK, Value, wider
from tap.errors import AdqlError

# ADQL name -> PostgreSQL name, for one-argument numeric functions returning double.
_DOUBLE_FUNCTIONS = {
    "DEGREES": "degrees",
    "RADIANS": "radians",
    "EXP": "exp",
    "LOG": "ln",
    "LOG10": "log",
    "SQRT": "sqrt",
    "ACOS": "acos",
    "ASIN": "asin",
    "ATAN": "atan",
    "COS": "cos",
    "COT": "cot",
    "SIN": "sin",
    "TAN": "tan",
    "CEILING": "ceiling",
    "FLOOR": "floor",
}


def _numeric(name: str, value: Value) -> None:
    if value.kind not in NUMERIC_RANK and value.kind != "null":
        raise AdqlError(f"{name} needs a numeric argument, not a {value.kind} value")


def _string(name: str, value: Value) -> None:
    if value.kind not in ("string", "null", "region"):
        raise AdqlError(f"{name} needs a string argument, not a {value.kind} value")


def translate_builtin(  # noqa: PLR0911, PLR0912
    name: str, args: list[Value], literal_ints: list[int | None]
) -> Value:
    """Math and string functions (not aggregates, geometry or IN_UNIT)."""
    if name == "SQRT":
        _numeric(name, args[0])
        return Value(f"sqrt({args[0].sql})", "double", root_of(args[0].unit))
    if name in _DOUBLE_FUNCTIONS:
        _numeric(name, args[0])
        return Value(f"{_DOUBLE_FUNCTIONS[name]}({args[0].sql})", "double")
    if name == "ABS":
        _numeric(name, args[0])
        return Value(f"abs({args[0].sql})", args[0].kind, args[0].unit)
    if name in ("ATAN2", "POWER"):
        for arg in args:
            _numeric(name, arg)
        unit = None
        if name == "POWER" and literal_ints[1] is not None:
            unit = power_of(args[0].unit, literal_ints[1])
        return Value(f"{name.lower()}({args[0].sql}, {args[1].sql})", "double", unit)
    if name == "MOD":
        for arg in args:
            _numeric(name, arg)
        if all(a.kind in ("short", "int", "long") for a in args):
            return Value(f"mod({args[0].sql}, {args[1].sql})", wider(args[0].kind, args[1].kind))
        return Value(
            f"mod(({args[0].sql})::numeric, ({args[1].sql})::numeric)::double precision", "double"
        )
    if name == "PI":
        return Value("pi()", "double")
    if name == "RAND":
        return Value("random()", "double")  # PostgreSQL's random() takes no seed
    if name in ("ROUND", "TRUNCATE"):
        _numeric(name, args[0])
        pg = "round" if name == "ROUND" else "trunc"
        if len(args) == 1:
            return Value(f"{pg}({args[0].sql})", "double", args[0].unit)
        return Value(
            f"{pg}(({args[0].sql})::numeric, {literal_ints[1]})::double precision",
            "double",
            args[0].unit,
        )
    if name in ("LOWER", "UPPER"):
        _string(name, args[0])
        return Value(f"{name.lower()}({args[0].sql})", "string")
    if name == "COALESCE":
        kind = next((a.kind for a in args if a.kind != "null"), "null")
        return Value(f"coalesce({', '.join(a.sql for a in args)})", kind, args[0].unit)
    raise AdqlError(f"the function {name} is not supported")  # pragma: no cover


def translate_aggregate(name: str, arg: Value | None, distinct: bool) -> Value:
    if arg is None:
        return Value("count(*)", "long")
    quantifier = "DISTINCT " if distinct else ""
    sql = f"{name.lower()}({quantifier}{arg.sql})"
    if name == "COUNT":
        return Value(sql, "long")
    if name in ("AVG", "SUM"):
        _numeric(name, arg)
        if name == "SUM" and arg.kind in ("short", "int", "long"):
            return Value(sql, "long", arg.unit)
        return Value(sql, "double", arg.unit)
    # MIN/MAX keep the argument's type and metadata
    if arg.kind in ("point", "circle", "polygon"):
        raise AdqlError(f"{name} of a geometry is not defined")
    return Value(sql, arg.kind, arg.unit, arg.column)


# -- user-defined functions ------------------------------------------------------------------


@dataclass(frozen=True)
class Udf:
    """A user-defined function: ``form`` as TAPRegExt declares it, and how to translate it."""

    name: str
    form: str
    description: str
    arity: int
    kind: str  # result kind
    render: Callable[[list[str]], str]
    aggregate: bool = False


_REGEX_SPECIALS = r"regexp_replace({0}, '([^[:alnum:][:space:]])', '\\\1', 'g')"

UDFS: Mapping[str, Udf] = {
    udf.name: udf
    for udf in (
        Udf(
            "IVO_HASWORD",
            "ivo_hasword(haystack TEXT, needle TEXT) -> INTEGER",
            "1 if needle occurs in haystack as a whole word (case-insensitive), else 0.",
            2,
            "int",
            lambda a: (
                f"(CASE WHEN ({a[0]}) ~* ('\\m' || {_REGEX_SPECIALS.format(a[1])} "
                "|| '\\M') THEN 1 ELSE 0 END)"
            ),
        ),
        Udf(
            "IVO_NOCASEMATCH",
            "ivo_nocasematch(value TEXT, pattern TEXT) -> INTEGER",
            "1 if value matches the LIKE pattern ignoring case, else 0.",
            2,
            "int",
            lambda a: f"(CASE WHEN ({a[0]}) ILIKE ({a[1]}) THEN 1 ELSE 0 END)",
        ),
        Udf(
            "IVO_HASHLIST_HAS",
            "ivo_hashlist_has(hashlist TEXT, item TEXT) -> INTEGER",
            "1 if item is one of the '#'-separated words of hashlist (case-insensitive), else 0.",
            2,
            "int",
            lambda a: (
                f"(CASE WHEN lower({a[1]}) = ANY(string_to_array(lower({a[0]}), '#')) "
                "THEN 1 ELSE 0 END)"
            ),
        ),
        Udf(
            "IVO_STRING_AGG",
            "ivo_string_agg(expr TEXT, delimiter TEXT) -> TEXT",
            "Aggregate: the values of expr in a group joined by delimiter.",
            2,
            "string",
            lambda a: f"string_agg(({a[0]})::text, {a[1]})",
            aggregate=True,
        ),
        Udf(
            "IVO_INTERVAL_OVERLAPS",
            "ivo_interval_overlaps(l1 DOUBLE, h1 DOUBLE, l2 DOUBLE, h2 DOUBLE) -> INTEGER",
            "1 if the closed intervals [l1, h1] and [l2, h2] overlap, else 0.",
            4,
            "int",
            lambda a: (
                f"(CASE WHEN ({a[0]}) <= ({a[3]}) AND ({a[2]}) <= ({a[1]}) THEN 1 ELSE 0 END)"
            ),
        ),
        Udf(
            "IVO_HEALPIX_INDEX",
            "ivo_healpix_index(order INTEGER, ra DOUBLE, dec DOUBLE) -> BIGINT",
            "The nested HEALPix index at the given order of the position (ra, dec) in degrees.",
            3,
            "long",
            lambda a: f"healpix_nest(({a[0]})::integer, spoint(radians({a[1]}), radians({a[2]})))",
        ),
        Udf(
            "IVO_HEALPIX_CENTER",
            "ivo_healpix_center(order INTEGER, index BIGINT) -> POINT",
            "The centre of the nested HEALPix cell index at the given order.",
            2,
            "point",
            lambda a: f"center_of_healpix_nest(({a[0]})::integer, ({a[1]})::bigint)",
        ),
    )
}


def udf_signature_only(name: str, arity: int, kind: str = "double") -> Udf:
    """A declared function that is only checked, never translated (for syntax verdicts)."""

    def refuse(_: list[str]) -> str:
        raise AdqlError(f"the function {name.lower()} is declared but cannot be translated")

    return Udf(name.upper(), f"{name.lower()}(…)", "", arity, kind, refuse)
