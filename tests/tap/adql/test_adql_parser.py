"""ADQL syntax: what the parser accepts, and where and why it refuses the rest."""

from __future__ import annotations

import pytest

from tap.adql import parse
from tap.adql.nodes import Chain, Func, Literal, Query, Select, SelectItem, SetOp
from tap.errors import AdqlError, AdqlSyntaxError


def error(text: str) -> AdqlSyntaxError:
    with pytest.raises(AdqlSyntaxError) as caught:
        parse(text)
    return caught.value


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("SELECT a FROM t WHERE", 1, 22, "expected a value"),
        ("SELECT a\nFROM t\nWHERE b = = 3", 3, 11, "expected a value"),
        ("SELECT a FROM t WHERE b", 1, 24, "a value alone is not a condition"),
        ("SELECT FROM t", 1, 8, "expected a select list item"),
        ("SELECT a, FROM t", 1, 11, "expected a select list item"),
        ("SELECT a b c FROM t", 1, 12, "expected ',' or FROM"),
        ("SELECT a FROM t JOIN u", 1, 23, "expected ON or USING"),
        ("SELECT a FROM (SELECT b FROM c)", 1, 32, "needs a correlation name"),
        ("SELECT TOP -1 a FROM t", 1, 12, "non-negative integer"),
        ("SELECT a FROM t OFFSET 1.5", 1, 24, "unsigned integer"),
        ("SELECT 'abc FROM t", 1, 8, "unterminated string"),
        ('SELECT "abc FROM t', 1, 8, "unterminated delimited identifier"),
        ("SELECT _x FROM t", 1, 8, "must start with a letter"),
        ("SELECT size FROM t", 1, 8, "reserved word"),
        ("SELECT distance FROM t", 1, 8, "is a function"),
        ("SELECT a FROM t; SELECT b FROM t", 1, 18, "only one statement"),
        ("SELECT a FROM t /* x */", 1, 17, "expected the end of the query"),
        ("SELECT a & b FROM t", 1, 10, "'&' is not supported"),
        ("SELECT a FROM t WHERE (a = 1", 1, 29, "')'"),
        ("SELECT a FROM t WHERE a = 1)", 1, 28, "unbalanced parenthesis"),
        ("SELECT CAST(a AS FLOAT) FROM t", 1, 18, "expected a CAST type"),
        ("SELECT ROUND(a, b) FROM t", 1, 17, "number of decimals"),
        ("SELECT COALESCE() FROM t", 1, 8, "at least 1 argument"),
        ("SELECT POINT('icrs', 1) FROM t", 1, 14, "POINT expects a numeric coordinate"),
        ("SELECT CIRCLE('', 1, 2) FROM t", 1, 19, "centre of CIRCLE must be a point"),
        ("SELECT POLYGON('', 1, 2, 3, 4, 5) FROM t", 1, 8, "even number of coordinates"),
        ("SELECT a FROM t WHERE a IN ()", 1, 29, "expected a value"),
        ("SELECT * FROM (WITH q AS (SELECT a FROM t) SELECT a FROM q) AS s", 1, 16, "WITH"),
        ("SELECT IN_UNIT(a, b) FROM t", 1, 19, "unit string"),
        ("SELECT a FROM t WHERE a = 'x\x00'", 1, 27, "NUL"),
        ("SELECT é FROM t", 1, 8, "U+00E9"),
    ],
)
def test_syntax_errors_say_where_and_what(text: str, line: int, column: int, words: str) -> None:
    exc = error(text)
    assert (exc.line, exc.column) == (line, column), exc.message
    assert words in exc.message
    assert f"(line {line}, column {column})" in exc.message
    assert exc.code == "TAP-E201"


def test_found_token_is_named() -> None:
    exc = error("SELECT a FROM t WHERE a = 1 GROUP a")
    assert "expected BY, found 'a'" in exc.message


@pytest.mark.parametrize(
    "text",
    [
        "select top 4* from (select * from amanda.nucand)x",
        "SELECT ROUND(5)as x from y",
        "SELECT a FROM t;",
        "SELECT a FROM t -- comment\n",
        'SELECT "size", "Strange ""name""" FROM "My Schema"."t"',
        "SELECT t.* , 1 AS one FROM s.t AS t",
        "SELECT * FROM (a JOIN b USING (x)) JOIN c ON (c.y = b.y)",
        "SELECT * FROM ((a NATURAL JOIN b) LEFT OUTER JOIN c USING (z))",
        "SELECT * FROM ((SELECT a FROM t) UNION (SELECT a FROM u)) AS q",
        "SELECT * FROM t WHERE (a + 1) * 2 > 3 AND NOT (b IS NULL OR c NOT LIKE 'x%')",
        "SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.a = t.a)",
        "SELECT * FROM t WHERE a NOT IN (SELECT b FROM u) AND c NOT BETWEEN 1 AND 2",
        "SELECT COUNT(*), COUNT(DISTINCT a), SUM(ALL b) FROM t GROUP BY c HAVING COUNT(*) > 1",
        "SELECT CAST(a AS DOUBLE PRECISION), CAST(b AS VARCHAR(10)) FROM t",
        "SELECT a FROM t ORDER BY 1 DESC, a ASC OFFSET 10",
        "WITH q AS (SELECT a FROM t), r AS (SELECT a FROM q) SELECT * FROM r",
        "SELECT a FROM t UNION ALL SELECT a FROM u EXCEPT SELECT a FROM v",
        "SELECT POLYGON(POINT(1, 2), POINT(3, 4), POINT(5, 6)) FROM t",
        "SELECT POLYGON(p, q, r) FROM t",
        "SELECT BOX(NULL, 1, 2, 3, 4), CIRCLE(p, 1) FROM t",
        "SELECT DISTANCE(1, 2, 3, 4), DISTANCE(p, POINT(1, 2)) FROM t",
        "SELECT a FROM t WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 1))",
        "SELECT -2, 1e-5, .5, 5., 10E3 FROM t",
        "SELECT a || 'x' || b FROM t WHERE lower(a) ILIKE 'x%'",
    ],
)
def test_valid_queries_parse(text: str) -> None:
    assert isinstance(parse(text), Query)


def test_tree_shape() -> None:
    tree = parse("SELECT TOP 5 a + 2 * b AS c FROM t UNION SELECT x FROM u ORDER BY 1 OFFSET 2")
    assert isinstance(tree.body, SetOp)
    assert tree.offset == 2 and len(tree.order_by) == 1
    left = tree.body.left
    assert isinstance(left, Select) and left.top == 5
    item = left.items[0]
    assert isinstance(item, SelectItem) and item.alias is not None and item.alias.text == "c"
    assert isinstance(item.expr, Chain) and item.expr.rest[0][0] == "+"
    assert isinstance(item.expr.rest[0][1], Chain)  # 2 * b binds tighter


def test_literals_are_parsed_values() -> None:
    tree = parse("SELECT 9223372036854775807, 9223372036854775808, -3, 'it''s' FROM t")
    assert isinstance(tree.body, Select)
    values = [i.expr for i in tree.body.items if isinstance(i, SelectItem)]
    assert all(isinstance(v, Literal) for v in values)
    assert [(v.kind, v.value) for v in values if isinstance(v, Literal)] == [
        ("int", 9223372036854775807),
        ("float", 9.223372036854776e18),
        ("int", -3),
        ("string", "it's"),
    ]


def test_function_names_are_upper_cased() -> None:
    tree = parse("SELECT ivo_HasWord(a, 'x') FROM t")
    assert isinstance(tree.body, Select)
    item = tree.body.items[0]
    assert isinstance(item, SelectItem) and isinstance(item.expr, Func)
    assert item.expr.name == "IVO_HASWORD"


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    depth = 2000
    for text in (
        "SELECT " + "(" * depth + "1" + ")" * depth + " FROM t",
        "SELECT a FROM t WHERE " + "NOT " * depth + "a = 1",
        "SELECT a FROM t WHERE " + "(" * depth + "a = 1" + ")" * depth,
        "SELECT " + "abs(" * depth + "1" + ")" * depth + " FROM t",
        "SELECT * FROM " + "(SELECT * FROM " * depth + "t" + ") AS q" * depth,
    ):
        with pytest.raises(AdqlError, match="nested"):
            parse(text)


def test_long_flat_chains_are_fine() -> None:
    parse("SELECT " + " + ".join(["a"] * 5000) + " FROM t")
    parse("SELECT a FROM t WHERE " + " OR ".join(["a = 1"] * 2000))


def test_huge_literals_are_refused() -> None:
    assert "out of the double precision range" in error("SELECT 1e999 FROM t").message
    assert "more than 60 characters" in error("SELECT " + "9" * 5000 + " FROM t").message
    assert "too large" in error("SELECT TOP 99999999999999999999 a FROM t").message


def test_query_length_is_bounded() -> None:
    assert "at most" in error("SELECT a FROM t WHERE a = '" + "x" * 200_000 + "'").message
