"""Hostile and mistaken requests: clear coded errors, never a stack trace or SQL."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.routing import Route

from catalog.config import GraphQLSettings
from catalog.db import Database
from catalog.errors import ConfigError
from catalog.graphql.endpoint.view import graphql_app
from tests.support.db import locked_table
from tests.support.graphql import GraphQLClient
from tests.support.server import live_server

Q = "query($f: ProductFilter) { products(filter: $f) { edges { node { fileName } } } }"


def error_of(api: GraphQLClient, f: Any) -> dict[str, Any]:
    errors = api.errors(Q, {"f": f})
    assert len(errors) == 1
    return errors[0]  # type: ignore[no-any-return]


def nested(depth: int) -> dict[str, Any]:
    f: dict[str, Any] = {"instrument": {"eq": "TESS"}}
    for _ in range(depth):
        f = {"not": f}
    return f


@pytest.mark.parametrize(
    ("f", "code", "says"),
    [
        ({"cone": {"raDeg": 10, "decDeg": 20, "radiusDeg": 0}}, "INVALID_FILTER", "(0, 180]"),
        ({"cone": {"raDeg": 10, "decDeg": 20, "radiusDeg": -1}}, "INVALID_FILTER", "radiusDeg"),
        ({"cone": {"raDeg": 10, "decDeg": 20, "radiusDeg": 180.5}}, "INVALID_FILTER", "180"),
        ({"cone": {"raDeg": 10, "decDeg": 95, "radiusDeg": 1}}, "INVALID_FILTER", "[-90, 90]"),
        (
            {"region": {"vertices": [{"raDeg": 1, "decDeg": 1}, {"raDeg": 2, "decDeg": 1}]}},
            "INVALID_FILTER",
            "at least 3",
        ),
        (
            {
                "region": {
                    "vertices": [
                        {"raDeg": 0, "decDeg": 0},
                        {"raDeg": 2, "decDeg": 2},
                        {"raDeg": 2, "decDeg": 0},
                        {"raDeg": 0, "decDeg": 2},
                    ]
                }
            },
            "INVALID_FILTER",
            "crossing",
        ),  # a bow tie: pg_sphere refuses it
        ({"time": {}}, "INVALID_FILTER", "start, an end"),
        ({"time": {"startMjd": 2, "endMjd": 1}}, "INVALID_FILTER", "after the end"),
        ({"time": {"startMjd": 1, "start": "2020-01-01T00:00:00Z"}}, "INVALID_FILTER", "not both"),
        ({"wavelength": {"minMetres": -1}}, "INVALID_FILTER", "positive"),
        ({"wavelength": {"minMetres": 2e-6, "maxMetres": 1e-6}}, "INVALID_FILTER", "larger"),
        ({"text": "   "}, "INVALID_FILTER", "empty"),
        ({"text": "x" * 501}, "INVALID_FILTER", "500"),
        ({"instrument": {"in": ["X"] * 1001}}, "LIMIT_EXCEEDED", "1000"),
        ({"or": [{"instrument": {"eq": "X"}}] * 1001}, "LIMIT_EXCEEDED", "1000"),
        ({"or": [{"instrument": {"in": ["X"] * 999}}] * 3}, "LIMIT_EXCEEDED", "2000"),
        (nested(9), "LIMIT_EXCEEDED", "8 levels"),
        (
            {
                "collection": {
                    "products": {
                        "collection": {
                            "products": {
                                "collection": {
                                    "products": {
                                        "collection": {
                                            "products": {"collection": {"hlspId": {"eq": "x"}}}
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            },
            "LIMIT_EXCEEDED",
            "levels",
        ),
    ],
)
def test_hostile_filters_get_clear_errors(api: GraphQLClient, f: Any, code: str, says: str) -> None:
    error = error_of(api, f)
    assert error["extensions"]["code"] == code
    assert says in error["message"]
    assert error["path"] == ["products"]
    assert api.run(Q, {"f": nested(8)})  # the limit itself is allowed


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_refused(api: GraphQLClient, number: str) -> None:
    # Python's json (and so Starlette) accepts NaN and Infinity: send them raw.
    body = (
        '{"query": "query($r: Float!) { products(filter: {cone: {raDeg: $r, decDeg: 0, '
        'radiusDeg: 1}}) { edges { cursor } } }", "variables": {"r": ' + number + "}}"
    )
    response = httpx.post(
        api.url, content=body, headers={"content-type": "application/json"}, timeout=10
    )
    errors = response.json()["errors"]
    assert errors[0]["extensions"]["code"] in ("GRAPHQL_VALIDATION_FAILED", "INVALID_FILTER")
    assert "Float" in errors[0]["message"] or "finite" in errors[0]["message"]
    inline = api.errors("{ products(filter: {raDeg: {gt: 1e999}}) { edges { cursor } } }")
    assert inline[0]["extensions"]["code"] in ("GRAPHQL_VALIDATION_FAILED", "INVALID_FILTER")


def test_document_limits(api: GraphQLClient) -> None:
    deep = (
        "{ products { edges { node { collection { products { edges { node { targets { "
        "products { edges { node { collection { hlspId } } } } } } } } } } } } }"
    )
    error = api.errors(deep)[0]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED" and "depth" in error["message"]
    aliases = "{ " + " ".join(f"a{i}: collections {{ totalCount }}" for i in range(21)) + " }"
    error = api.errors(aliases)[0]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED" and "aliases" in error["message"]
    tokens = (
        "{ collections(filter: {or: ["
        + ",".join('{hlspId: {eq: "x"}}' for _ in range(300))
        + "]}) { totalCount } }"
    )
    error = api.errors(tokens)[0]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED" and "tokens" in error["message"]
    for bad, code in (
        ("{ products { nope } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ products { ", "GRAPHQL_PARSE_FAILED"),
        ('{ products(first: "x") { totalCount } }', "GRAPHQL_VALIDATION_FAILED"),
    ):
        assert api.errors(bad)[0]["extensions"]["code"] == code


def test_errors_never_carry_sql_or_stack_traces(api: GraphQLClient) -> None:
    requests = [
        ({"cone": {"raDeg": 10, "decDeg": 20, "radiusDeg": 0}}),
        (
            {
                "region": {
                    "vertices": [
                        {"raDeg": 0, "decDeg": 0},
                        {"raDeg": 2, "decDeg": 2},
                        {"raDeg": 2, "decDeg": 0},
                        {"raDeg": 0, "decDeg": 2},
                    ]
                }
            }
        ),
        ({"instrument": {"ilike": "'; DROP TABLE hlsp.product; --"}}),
    ]
    for f in requests:
        text = api.post(Q, {"f": f}).text
        for leak in ("Traceback", "SELECT", "hlsp.product", "psycopg", "sqlalchemy"):
            assert leak not in text, (f, text)
    # The would-be injection is a value like any other.
    assert api.run(Q, {"f": {"instrument": {"ilike": "'; DROP TABLE hlsp.product; --"}}}) == {
        "products": {"edges": []}
    }


def _app(db: Database, settings: GraphQLSettings) -> Starlette:
    return Starlette(routes=[Route("/graphql", graphql_app(db, settings), methods=["GET", "POST"])])


def test_statement_timeout(api_db: Database, admin_engine: sa.Engine) -> None:
    settings = GraphQLSettings(statement_timeout_ms=300)
    with live_server(_app(api_db, settings)) as base:
        client = GraphQLClient(base, api_db)
        with locked_table(api_db):
            error = client.errors("{ products { totalCount } }")[0]
        assert error["extensions"] == {"code": "QUERY_TIMEOUT", "timeoutMs": 300}
        assert "300 ms" in error["message"]
        assert client.run("{ products { totalCount } }") == {"products": {"totalCount": 11}}
        client.close()


def test_queries_run_read_only_as_the_reader_role(api: GraphQLClient) -> None:
    api.run("{ collections { totalCount } }")
    assert api.sql[0].startswith("SET TRANSACTION READ ONLY")
    assert "SET LOCAL ROLE hlsp_reader" in api.sql[0]
    assert "statement_timeout" in api.sql[0]


def test_introspection_can_be_disabled(api_db: Database) -> None:
    settings = GraphQLSettings(introspection=False)
    with live_server(_app(api_db, settings)) as base:
        client = GraphQLClient(base, api_db)
        error = client.errors("{ __schema { types { name } } }")[0]
        assert error["extensions"]["code"] == "INTROSPECTION_DISABLED"
        assert client.run("{ collections { totalCount } }") == {"collections": {"totalCount": 3}}
        # No GraphiQL (it needs introspection), and no "did you mean" hints.
        page = httpx.get(client.url, headers={"Accept": "text/html"}, timeout=10)
        assert page.status_code == 404
        assert "Did you mean" not in json.dumps(client.errors("{ collection { hlspI } }"))
        client.close()


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HLSP_GRAPHQL_MAX_DEPTH", "12")
    monkeypatch.setenv("HLSP_GRAPHQL_INTROSPECTION", "off")
    monkeypatch.setenv("HLSP_GRAPHQL_STATEMENT_TIMEOUT", "250")
    settings = GraphQLSettings.from_env()
    assert (settings.max_depth, settings.introspection, settings.statement_timeout_ms) == (
        12,
        False,
        250,
    )
    monkeypatch.setenv("HLSP_GRAPHQL_MAX_PAGE_SIZE", "lots")
    with pytest.raises(ConfigError, match="HLSP_GRAPHQL_MAX_PAGE_SIZE must be an integer"):
        GraphQLSettings.from_env()
    monkeypatch.setenv("HLSP_GRAPHQL_MAX_PAGE_SIZE", "0")
    with pytest.raises(ConfigError, match=r"\[1, 100000\]"):
        GraphQLSettings.from_env()
    monkeypatch.delenv("HLSP_GRAPHQL_MAX_PAGE_SIZE")
    monkeypatch.setenv("HLSP_GRAPHQL_INTROSPECTION", "maybe")
    with pytest.raises(ConfigError, match="on or off"):
        GraphQLSettings.from_env()


def test_a_login_that_cannot_become_the_reader_gets_a_clear_error(
    api_db: Database, admin_engine: sa.Engine
) -> None:
    import uuid

    from catalog.config import Settings

    name = f"outsider_{uuid.uuid4().hex[:8]}"
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {name} LOGIN"))
    url = sa.engine.make_url(api_db.engine.url).set(username=name)
    outsider = Database(
        api_db.url, read_url=url.render_as_string(hide_password=False), settings=Settings()
    )
    try:
        with live_server(_app(outsider, GraphQLSettings())) as base:
            body = httpx.post(
                base + "/graphql", json={"query": "{ products { totalCount } }"}, timeout=30
            ).json()
        assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert "permission" not in json.dumps(body)
    finally:
        outsider.dispose()
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f"DROP ROLE {name}"))
