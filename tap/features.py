"""The ADQL language features this service declares in its capabilities (TAPRegExt).

Only what the translator implements and the tests execute. ``features-adql-conditional``
(COALESCE works nonetheless) and ``features-adql-bitwise`` are not declared: STILTS taplint
reports a feature type it does not know as an error, and Debian's taplint 3.4.7 does not
know the first, current taplint (after ADQL 2.1 REC) not the second.
"""

from __future__ import annotations

from tap.adql import UDFS
from tap.vosi import Feature

_GEOMETRY = (
    "AREA", "BOX", "CENTROID", "CIRCLE", "CONTAINS", "COORD1", "COORD2", "COORDSYS",
    "DISTANCE", "INTERSECTS", "POINT", "POLYGON",
)  # fmt: skip

_OTHERS = (
    ("features-adql-string", "LOWER", "Lower case (ADQL 2.1 §4.4)"),
    ("features-adql-string", "UPPER", "Upper case"),
    ("features-adql-string", "ILIKE", "Case-insensitive LIKE"),
    ("features-adql-sets", "UNION", "Set union of query results"),
    ("features-adql-sets", "EXCEPT", "Set difference"),
    ("features-adql-sets", "INTERSECT", "Set intersection"),
    ("features-adql-common-table", "WITH", "Common table expressions"),
    ("features-adql-type", "CAST", "Type conversion (INTEGER, SMALLINT, BIGINT, REAL, "
     "DOUBLE PRECISION, CHAR, VARCHAR, TIMESTAMP)"),
    ("features-adql-unit", "IN_UNIT", "Convert a value to another VOUnit"),
    ("features-adql-offset", "OFFSET", "Skip rows of the result"),
)  # fmt: skip


def adql_features() -> tuple[Feature, ...]:
    geometry = [Feature("features-adqlgeo", form) for form in _GEOMETRY]
    others = [Feature(type_, form, description) for type_, form, description in _OTHERS]
    udfs = [Feature("features-udf", u.form, u.description) for u in UDFS.values()]
    return (*udfs, *geometry, *others)
