"""Translation rules (ADQL 2.1 §4.2 geometry, §4.4–4.10 optional features), each executed in
PostgreSQL + pg_sphere."""

from __future__ import annotations

import math

import pytest

from tap.adql import translate
from tap.errors import AdqlError
from tests.support.adql_db import METADATA, READER, AdqlDatabase

# -- geometry predicates and the index-friendly rewrites ---------------------------------------


@pytest.mark.parametrize(
    "where",
    [
        "DISTANCE(pos, POINT(10, 20)) < 0.6",
        "DISTANCE(POINT('ICRS', 10, 20), pos) <= 0.6",
        "0.6 > DISTANCE(pos, POINT(10, 20))",
        "0.6 >= DISTANCE(ra, dec, 10, 20)",
        "DISTANCE(POINT(ra, dec), POINT(10, 20)) < 0.6",
        "CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 0.6)) = 1",
        "1 = CONTAINS(pos, CIRCLE('ICRS', POINT(10, 20), 0.6))",
        "INTERSECTS(CIRCLE(10, 20, 0.6), POINT('', ra, dec)) = 1",
        "INTERSECTS(pos, CIRCLE(10, 20, 0.6)) = 1",
        "NOT CONTAINS(pos, CIRCLE(10, 20, 0.6)) = 0",
    ],
)
def test_cone(adql_db: AdqlDatabase, where: str) -> None:
    assert adql_db.ids(f"SELECT id FROM cat.src WHERE {where}") == [1, 2]


def test_distance_comparison_becomes_a_circle_containment(adql_db: AdqlDatabase) -> None:
    sql = adql_db.translate("SELECT id FROM cat.src WHERE DISTANCE(ra, dec, 10, 20) < 1").sql
    assert '"t1"."pos") <@ scircle(' in sql  # the declared spoint twin of (ra, dec)
    assert "<->" not in sql


def test_cone_uses_the_gist_index(adql_db: AdqlDatabase) -> None:
    for adql in (
        "SELECT id FROM cat.src WHERE DISTANCE(POINT(ra, dec), POINT(10, 20)) < 0.6",
        "SELECT id FROM cat.src WHERE CONTAINS(pos, CIRCLE(10, 20, 0.6)) = 1",
    ):
        assert "src_pos_idx" in adql_db.explain(adql)
    region = "SELECT id FROM cat.src WHERE INTERSECTS(s_region, CIRCLE(10, 20, 0.1)) = 1"
    assert "src_footprint_idx" in adql_db.explain(region)


def test_distance_radius_outside_pg_sphere_circles(adql_db: AdqlDatabase) -> None:
    assert adql_db.ids("SELECT id FROM cat.src WHERE DISTANCE(pos, POINT(10, 20)) < 120") == [
        1,
        2,
        3,
        5,
    ]
    assert adql_db.ids("SELECT id FROM cat.src WHERE DISTANCE(pos, POINT(10, 20)) < -1") == []
    adql = "SELECT id FROM cat.src WHERE DISTANCE(pos, POINT(10, 20)) < mag / 20"
    assert adql_db.ids(adql) == [1, 2]  # radius from a column: 0.625, 0.65, 0.725 degrees
    with pytest.raises(AdqlError, match="between 0 and 90"):
        adql_db.translate("SELECT CIRCLE(1, 2, 100) FROM cat.src")


def test_outside_the_cone(adql_db: AdqlDatabase) -> None:
    adql = "SELECT id FROM cat.src WHERE CONTAINS(pos, CIRCLE(10, 20, 0.6)) = 0"
    assert adql_db.ids(adql) == [3, 4, 5]
    adql = "SELECT id FROM cat.src WHERE DISTANCE(pos, POINT(10, 20)) > 0.6"
    assert adql_db.ids(adql) == [3, 4, 5]


def test_region_column_uses_its_geometric_twin(adql_db: AdqlDatabase) -> None:
    adql = "SELECT id FROM cat.src WHERE INTERSECTS(s_region, CIRCLE('', 10.3, 20, 0.15)) = 1"
    assert adql_db.ids(adql) == [1, 2]
    adql = "SELECT id FROM cat.src WHERE CONTAINS(POINT(200, -45), s_region) = 1"
    assert adql_db.ids(adql) == [4]
    # through a subquery, the twin travels as a hidden column
    adql = (
        "SELECT q.id FROM (SELECT * FROM cat.src WHERE mag < 14) AS q "
        "WHERE INTERSECTS(q.s_region, CIRCLE(10, 20, 0.1)) = 1"
    )
    assert adql_db.ids(adql) == [1]
    with pytest.raises(AdqlError, match="no geometric form"):  # DISTINCT drops the twin
        adql_db.translate(
            "SELECT q.id FROM (SELECT DISTINCT id, s_region FROM cat.src) AS q "
            "WHERE INTERSECTS(q.s_region, CIRCLE(10, 20, 0.1)) = 1"
        )
    adql = (
        "WITH w AS (SELECT id, s_region FROM cat.src) SELECT id FROM w "
        "WHERE INTERSECTS(s_region, CIRCLE(10, 20, 0.1)) = 1"
    )
    assert adql_db.ids(adql) == [1]
    [(text,)] = adql_db.rows("SELECT s_region FROM cat.src WHERE id = 4")
    assert text.startswith("Polygon ICRS 199.8 -45.2")  # REGION text passes through


def test_polygon_and_box(adql_db: AdqlDatabase) -> None:
    triangle = "POLYGON('ICRS', 9, 19, 12, 19, 10.5, 21)"
    assert adql_db.ids(f"SELECT id FROM cat.src WHERE CONTAINS(pos, {triangle}) = 1") == [1, 2, 3]
    by_points = "POLYGON(POINT(9, 19), POINT(10.2, 19), POINT(10.2, 21), POINT(9, 21))"
    assert adql_db.ids(f"SELECT id FROM cat.src WHERE CONTAINS(pos, {by_points}) = 1") == [1]
    from_columns = "POLYGON(ra - 1, dec - 1, ra + 1, dec - 1, ra, dec + 1)"
    assert adql_db.ids(f"SELECT id FROM cat.src WHERE CONTAINS(pos, {from_columns}) = 1") == [
        1,
        2,
        3,
        4,
        5,
    ]
    box = "BOX('', 10.25, 20, 0.6, 0.2)"
    assert adql_db.ids(f"SELECT id FROM cat.src WHERE CONTAINS(pos, {box}) = 1") == [1, 2]
    box_cols = "BOX(POINT(ra, dec), 1, 1)"
    assert adql_db.ids(
        f"SELECT id FROM cat.src WHERE CONTAINS(POINT(10.3, 20), {box_cols}) = 1"
    ) == [1, 2]


def test_region_literals(adql_db: AdqlDatabase) -> None:
    for region in (
        "Circle ICRS 10 20 0.6",
        "Polygon 9 19 10.7 19 10.7 21 9 21",
        "Box 10.25 20 0.6 0.2",
    ):
        adql = f"SELECT id FROM cat.src WHERE CONTAINS(pos, REGION('{region}')) = 1"
        assert adql_db.ids(adql) == [1, 2], region
    with pytest.raises(AdqlError, match="not supported"):
        adql_db.translate(
            "SELECT id FROM cat.src WHERE CONTAINS(pos, REGION('Union ICRS (Circle 1 2 3)')) = 1"
        )


def test_predicates_outside_comparisons(adql_db: AdqlDatabase) -> None:
    rows = adql_db.rows(
        "SELECT id, CONTAINS(pos, CIRCLE(10, 20, 0.6)) AS inside FROM cat.src ORDER BY id"
    )
    assert rows == [(1, 1), (2, 1), (3, 0), (4, 0), (5, 0)]
    with pytest.raises(AdqlError, match="compared with 0 or 1"):
        adql_db.translate("SELECT id FROM cat.src WHERE CONTAINS(pos, CIRCLE(10, 20, 1)) = 2")


# -- geometry values in the result ----------------------------------------------------------------


def test_geometry_results_are_dali_arrays(adql_db: AdqlDatabase) -> None:
    tr = adql_db.translate(
        "SELECT pos, POINT(ra, dec) AS p, CIRCLE(ra, dec, 1) AS c, "
        "POLYGON('', 0, 0, 10, 0, 10, 10) AS poly, BOX('', 10, 20, 2, 2) AS b, "
        "CENTROID(CIRCLE(ra, dec, 2)) AS ctr FROM cat.src WHERE id = 1"
    )
    [row] = adql_db.execute(tr.sql)
    pos, p, c, poly, b, ctr = row
    assert pos == pytest.approx([10, 20]) and p == pytest.approx([10, 20])
    assert c == pytest.approx([10, 20, 1])
    assert poly == pytest.approx([0, 0, 10, 0, 10, 10], abs=1e-9)
    assert b == pytest.approx([9, 19, 11, 19, 11, 21, 9, 21], abs=1e-9)
    assert ctr == pytest.approx([10, 20])
    types = [(c.datatype, c.arraysize, c.xtype) for c in tr.columns]
    assert types == [
        ("double", "2", "point"),
        ("double", "2", "point"),
        ("double", "3", "circle"),
        ("double", "*", "polygon"),
        ("double", "*", "polygon"),
        ("double", "2", "point"),
    ]
    assert tr.columns[0].unit == "deg" and tr.columns[0].description == "the pos"


def test_null_geometry_is_null(adql_db: AdqlDatabase) -> None:
    rows = adql_db.rows("SELECT POINT(mag, mag) FROM cat.src WHERE id = 5")
    assert rows == [(None,)]


def test_geometry_functions(adql_db: AdqlDatabase) -> None:
    [row] = adql_db.rows(
        "SELECT COORD1(pos), COORD2(pos), COORDSYS(pos), AREA(CIRCLE(0, 0, 1)), "
        "DISTANCE(POINT(0, 0), POINT(0, 1)), DISTANCE(0, 0, 3, 4), AREA(pos), "
        "CENTROID(pos) FROM cat.src WHERE id = 4"
    )
    lon, lat, sys, area, one, d, zero, centre = row
    assert (lon, lat, sys) == (pytest.approx(200), pytest.approx(-45), "ICRS")
    assert area == pytest.approx(math.pi, rel=1e-3)  # a small cap: ~ pi r^2 square degrees
    assert one == pytest.approx(1)
    assert d == pytest.approx(4.9977, abs=1e-3)
    assert zero == 0 and centre == pytest.approx([200, -45])


def test_cast_to_geometry(adql_db: AdqlDatabase) -> None:
    [row] = adql_db.rows(
        "SELECT CAST('12.5 45.5' AS POINT), CAST('1 2 3' AS CIRCLE), "
        "CAST('0 0 1 0 1 1' AS POLYGON) FROM cat.src WHERE id = 1"
    )
    assert row[0] == pytest.approx([12.5, 45.5]) and row[1] == pytest.approx([1, 2, 3])
    assert row[2] == pytest.approx([0, 0, 1, 0, 1, 1], abs=1e-9)


def test_coordinate_systems(adql_db: AdqlDatabase) -> None:
    assert adql_db.ids(
        "SELECT id FROM cat.src WHERE CONTAINS(pos, CIRCLE('J2000', 10, 20, 0.1)) = 1"
    ) == [1]
    with pytest.raises(AdqlError, match="GALACTIC"):
        adql_db.translate("SELECT POINT('GALACTIC', 1, 2) FROM cat.src")


# -- math, strings, types, units -------------------------------------------------------------------


def test_math_functions(adql_db: AdqlDatabase) -> None:
    [row] = adql_db.rows(
        "SELECT LOG(EXP(2)), LOG10(1000), ROUND(2.567, 2), TRUNCATE(2.567, 2), "
        "ROUND(ra + 0.456, 1), "
        "TRUNCATE(-2.5), MOD(7.5, 2), MOD(id, 3), POWER(2, 10), ATAN2(1, 1), PI(), "
        "CEILING(1.2), FLOOR(-1.2), ABS(-3), SQRT(16), DEGREES(PI()), RADIANS(180), "
        "COT(PI() / 4), RAND(), RAND(42) FROM cat.src WHERE id = 1"
    )
    expected = [
        2,
        3,
        2.57,
        2.56,
        10.5,
        -2,
        1.5,
        1,
        1024,
        math.pi / 4,
        math.pi,
        2,
        -2,
        3,
        4,
        180,
        math.pi,
        1,
    ]
    assert [float(v) for v in row[:18]] == pytest.approx(expected)
    assert 0 <= row[18] < 1 and 0 <= row[19] < 1


def test_string_functions_and_operators(adql_db: AdqlDatabase) -> None:
    rows = adql_db.rows(
        "SELECT LOWER(name), UPPER(name), name || '/' || band FROM cat.src JOIN cat.obs USING (id) "
        "WHERE name ILIKE 'alpha%' AND band LIKE 'V' ORDER BY 1"
    )
    assert rows == [("alpha cen", "ALPHA CEN", "Alpha Cen/V")]
    assert adql_db.ids("SELECT id FROM cat.src WHERE name NOT LIKE '%a%'") == []
    assert adql_db.ids("SELECT id FROM cat.src WHERE name IS NULL") == [5]


def test_cast_and_coalesce(adql_db: AdqlDatabase) -> None:
    tr = adql_db.translate(
        "SELECT CAST(mag AS INTEGER), CAST(name AS VARCHAR(3)), "
        "CAST('2021-01-14T11:25:00' AS TIMESTAMP), "
        "CAST(id AS DOUBLE PRECISION), COALESCE(flux, -1), COALESCE(name, 'anonymous') "
        "FROM cat.src WHERE id IN (2, 5) ORDER BY id"
    )
    rows = adql_db.execute(tr.sql)
    assert [r[0] for r in rows] == [13, None] and [r[1] for r in rows] == ["bet", None]
    assert str(rows[0][2]) == "2021-01-14 11:25:00"
    assert [r[4] for r in rows] == [-1, 3] and [r[5] for r in rows] == ["beta", "anonymous"]
    assert [c.datatype for c in tr.columns] == [
        "int",
        "unicodeChar",
        "char",
        "double",
        "double",
        "unicodeChar",
    ]
    assert tr.columns[2].xtype == "timestamp"


def test_in_unit(adql_db: AdqlDatabase) -> None:
    tr = adql_db.translate(
        "SELECT IN_UNIT(ra, 'arcsec') AS ra_s, IN_UNIT(wl, 'nm') AS wl_nm, "
        "IN_UNIT(\"size\", 'deg') FROM cat.src NATURAL JOIN cat.obs "
        "WHERE obs_id = 'o1'"
    )
    [row] = adql_db.execute(tr.sql)
    assert row == pytest.approx((36000, 550, 1 / 3600))
    assert [c.unit for c in tr.columns] == ["arcsec", "nm", "deg"]
    [(hypot,)] = adql_db.rows(
        "SELECT IN_UNIT(SQRT(POWER(ra, 2) + POWER(dec, 2)), 'arcmin') FROM cat.src WHERE id = 1"
    )
    assert hypot == pytest.approx(math.hypot(10, 20) * 60)
    with pytest.raises(AdqlError, match="dimensions differ"):
        adql_db.translate("SELECT IN_UNIT(ra, 'm') FROM cat.src")
    with pytest.raises(AdqlError, match="unknown unit"):
        adql_db.translate("SELECT IN_UNIT(ra, 'furlong') FROM cat.src")
    with pytest.raises(AdqlError, match="unit is known"):
        adql_db.translate("SELECT IN_UNIT(id, 'deg') FROM cat.src")


# -- query structure ----------------------------------------------------------------------------


def test_top_offset_and_row_limit(adql_db: AdqlDatabase) -> None:
    assert adql_db.ids("SELECT TOP 2 id FROM cat.src ORDER BY id") == [1, 2]
    assert adql_db.rows("SELECT TOP 2 id FROM cat.src ORDER BY id OFFSET 1") == [(2,), (3,)]
    tr = adql_db.translate("SELECT TOP 4 id FROM cat.src ORDER BY id", row_limit=3)
    assert tr.top == 4 and tr.sql.endswith("LIMIT 3")
    assert len(adql_db.execute(tr.sql)) == 3
    tr = adql_db.translate("SELECT TOP 2 id FROM cat.src", row_limit=3)
    assert tr.sql.endswith("LIMIT 2")
    assert adql_db.rows("SELECT TOP 0 id FROM cat.src") == []
    assert translate("SELECT id FROM cat.src", METADATA).sql.endswith('AS "t1"')


def test_set_operations(adql_db: AdqlDatabase) -> None:
    rows = adql_db.rows(
        "SELECT id FROM cat.src WHERE id <= 2 UNION SELECT id FROM cat.obs ORDER BY id DESC"
    )
    assert rows == [(4,), (2,), (1,)]
    assert adql_db.rows("SELECT id FROM cat.src EXCEPT SELECT id FROM cat.obs ORDER BY 1") == [
        (3,),
        (5,),
    ]
    rows = adql_db.rows("SELECT id FROM cat.src INTERSECT SELECT id FROM cat.obs ORDER BY 1")
    assert rows == [(1,), (2,), (4,)]
    rows = adql_db.rows("SELECT id FROM cat.obs UNION ALL SELECT id FROM cat.obs")
    assert len(rows) == 8
    rows = adql_db.rows(
        "(SELECT TOP 1 id FROM cat.src ORDER BY id ASC) UNION "
        "(SELECT TOP 1 id FROM cat.src ORDER BY id DESC) ORDER BY id"
    )
    assert rows == [(1,), (5,)]
    rows = adql_db.rows("SELECT id FROM cat.src UNION SELECT id FROM cat.obs", row_limit=2)
    assert len(rows) == 2
    with pytest.raises(AdqlError, match="same number"):
        adql_db.translate("SELECT id, ra FROM cat.src UNION SELECT id FROM cat.obs")


def test_common_table_expressions(adql_db: AdqlDatabase) -> None:
    rows = adql_db.rows(
        "WITH bright AS (SELECT * FROM cat.src WHERE mag < 13), "
        "seen AS (SELECT DISTINCT id FROM cat.obs) "
        "SELECT b.id, b.name FROM bright AS b JOIN seen USING (id) ORDER BY b.id"
    )
    assert rows == [(1, "Alpha Cen"), (4, "delta")]


def test_joins(adql_db: AdqlDatabase) -> None:
    assert adql_db.rows("SELECT COUNT(*) FROM cat.src NATURAL JOIN cat.obs") == [(4,)]
    rows = adql_db.rows(
        "SELECT s.id, o.obs_id FROM cat.src AS s LEFT OUTER JOIN cat.obs AS o "
        "ON s.id = o.id WHERE s.id IN (2, 3) ORDER BY s.id"
    )
    assert rows == [(2, "o3"), (3, None)]
    rows = adql_db.rows(
        "SELECT id, band FROM cat.src FULL JOIN cat.obs USING (id) ORDER BY id, band"
    )
    assert [r[0] for r in rows] == [1, 1, 2, 3, 4, 5]
    rows = adql_db.rows("SELECT COUNT(*) FROM cat.src RIGHT JOIN cat.obs USING (id)")
    assert rows == [(4,)]
    rows = adql_db.rows(
        "SELECT a.id, b.id FROM cat.src AS a, cat.src AS b "
        "WHERE DISTANCE(a.pos, b.pos) < 0.6 AND a.id < b.id"
    )
    assert rows == [(1, 2), (2, 3)]


def test_subqueries(adql_db: AdqlDatabase) -> None:
    assert adql_db.ids(
        "SELECT id FROM cat.src WHERE id IN (SELECT id FROM cat.obs WHERE band = 'V')"
    ) == [1, 2]
    assert adql_db.ids(
        "SELECT id FROM cat.src AS s WHERE NOT EXISTS "
        "(SELECT * FROM cat.obs AS o WHERE o.id = s.id)"
    ) == [3, 5]
    rows = adql_db.rows(
        "SELECT q.n, q.id FROM "
        "(SELECT COUNT(*) AS n, id FROM cat.obs GROUP BY id) AS q "
        "WHERE q.n > 1"
    )
    assert rows == [(2, 1)]


def test_grouping(adql_db: AdqlDatabase) -> None:
    rows = adql_db.rows(
        "SELECT band, COUNT(*) AS n, MAX(wl) AS longest, AVG(wl) FROM cat.obs GROUP BY band "
        "HAVING COUNT(*) >= 1 ORDER BY n DESC, band"
    )
    assert [r[:2] for r in rows] == [("V", 2), ("K", 1), ("R", 1)]
    tr = adql_db.translate("SELECT band, COUNT(*), MAX(wl), SUM(id) FROM cat.obs GROUP BY band")
    assert [(c.name, c.datatype, c.unit) for c in tr.columns] == [
        ("band", "unicodeChar", None),
        ("count", "long", None),
        ("max", "double", "m"),
        ("sum", "long", None),
    ]


# -- names and result metadata ------------------------------------------------------------------


def test_star_expansion_and_result_metadata(adql_db: AdqlDatabase) -> None:
    tr = adql_db.translate("SELECT * FROM cat.src WHERE id = 1")
    assert [c.name for c in tr.columns] == [
        "id",
        "name",
        "ra",
        "dec",
        "pos",
        "mag",
        "size",
        "flux",
        "obs_time",
        "tags",
        "s_region",
    ]
    row = adql_db.execute(tr.sql)[0]
    assert len(row) == len(tr.columns)  # the unpublished footprint and secret stay hidden
    ra = tr.columns[2]
    assert (ra.unit, ra.ucd, ra.description) == ("deg", "pos.eq.ra", "the ra")
    tr = adql_db.translate(
        'SELECT o.*, s.id, s.id, s.ra AS "RA deg" FROM cat.src AS s '
        "JOIN cat.obs AS o ON s.id = o.id"
    )
    assert [c.name for c in tr.columns] == ["obs_id", "id", "band", "wl", "id_2", "id_3", "RA deg"]
    assert len(adql_db.execute(tr.sql)) == 4
    tr = adql_db.translate("SELECT * FROM cat.src JOIN cat.obs USING (id)")
    assert [c.name for c in tr.columns][:2] == ["id", "name"] and tr.columns[-1].name == "wl"
    assert len(adql_db.execute(tr.sql)[0]) == len(tr.columns) == 14


def test_identifier_case_rules(adql_db: AdqlDatabase) -> None:
    assert adql_db.ids('SELECT ID FROM CAT.SRC WHERE "size" > 4') == [5]
    assert adql_db.ids('SELECT "id" FROM "cat"."src" WHERE "dec" < 0') == [4]
    with pytest.raises(AdqlError, match="unknown column"):
        adql_db.translate('SELECT "ID" FROM cat.src')
    with pytest.raises(AdqlError, match="unknown table"):
        adql_db.translate('SELECT id FROM "CAT"."SRC"')
    tr = adql_db.translate('SELECT name AS "Name", ra AS Alpha FROM cat.src')
    assert [c.name for c in tr.columns] == ["Name", "Alpha"]


def test_user_defined_functions(adql_db: AdqlDatabase) -> None:
    assert adql_db.ids("SELECT id FROM cat.src WHERE ivo_hasword(name, 'CEN') = 1") == [1]
    assert adql_db.ids("SELECT id FROM cat.src WHERE ivo_hasword(name, 'al') = 1") == []
    assert adql_db.ids("SELECT id FROM cat.src WHERE ivo_nocasematch(name, 'BETA') = 1") == [2]
    assert adql_db.ids("SELECT id FROM cat.src WHERE ivo_hashlist_has(tags, 'Faint') = 1") == [3, 5]
    rows = adql_db.rows("SELECT id, ivo_string_agg(band, ',') FROM cat.obs GROUP BY id ORDER BY id")
    assert rows[0][0] == 1 and sorted(rows[0][1].split(",")) == ["R", "V"]
    [(index,)] = adql_db.rows("SELECT ivo_healpix_index(0, ra, dec) FROM cat.src WHERE id = 1")
    assert 0 <= index < 12
    rows = adql_db.rows(
        "SELECT id FROM cat.src WHERE ivo_interval_overlaps(mag, mag + 1, 13.2, 14) = 1"
    )
    assert sorted(r[0] for r in rows) == [1, 2]


def test_upload_tables_resolve(adql_db: AdqlDatabase) -> None:
    from tap.metadata import Column, Schema, Table

    upload = Table(
        "TAP_UPLOAD",
        "t1",
        "an upload",
        (
            Column("ra", "double precision", "double", "", unit="deg"),
            Column("dec", "double precision", "double", "", unit="deg"),
            Column('"Name"', "text", "unicodeChar", "", arraysize="*"),
        ),
        sql_name='pg_temp."upload_t1"',
    )
    metadata = METADATA.with_tables([Schema("TAP_UPLOAD", "uploads")], [upload])
    adql = (
        'SELECT u."Name", s.id FROM TAP_UPLOAD.t1 AS u JOIN cat.src AS s '
        "ON DISTANCE(POINT(u.ra, u.dec), s.pos) < 0.1 ORDER BY s.id"
    )
    tr = adql_db.translate(adql, metadata=metadata)
    assert '"pg_temp"."upload_t1" AS "t1"' in tr.sql
    setup = (
        'CREATE TEMP TABLE upload_t1 (ra double precision, dec double precision, "Name" text)',
        "INSERT INTO pg_temp.upload_t1 VALUES (10, 20, 'mine'), (200, -45, 'yours')",
        f"GRANT SELECT ON pg_temp.upload_t1 TO {READER}",
    )
    assert adql_db.execute(tr.sql, setup=setup) == [("mine", 1), ("yours", 4)]


def test_tables_read_are_reported(adql_db: AdqlDatabase) -> None:
    tr = adql_db.translate("SELECT id FROM cat.src WHERE id IN (SELECT id FROM cat.obs)")
    assert [t.name for t in tr.tables] == ["src", "obs"]
