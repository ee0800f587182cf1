"""The published contract: schema.graphql matches the code, operations validate against it."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

from catalog.graphql import export
from catalog.graphql.metadata import describe
from catalog.graphql.pagination import Window, decode_cursor, encode_cursor, sort_keys
from catalog.model import Product
from tests.support.db import REPO


def test_published_schema_is_current() -> None:
    published = (REPO / "graphql" / "schema.graphql").read_text(encoding="utf-8")
    assert published == export.schema_sdl(), (
        "graphql/schema.graphql is out of date: run uv run python -m catalog.graphql.export"
    )
    assert export.main(["--check"]) == 0


def test_check_fails_on_drift(tmp_path: Path) -> None:
    stale = tmp_path / "schema.graphql"
    stale.write_text(export.schema_sdl().replace("totalCount", "total_count"), encoding="utf-8")
    assert export.main(["--check", "--path", str(stale)]) == 1
    assert export.main(["--path", str(stale)]) == 0
    assert export.main(["--check", "--path", str(stale)]) == 0


@pytest.mark.parametrize(
    "path", sorted((REPO / "graphql" / "operations").glob("*.graphql")), ids=lambda p: p.stem
)
def test_operations_validate_against_the_published_schema(path: Path) -> None:
    schema = build_schema((REPO / "graphql" / "schema.graphql").read_text(encoding="utf-8"))
    errors = validate(schema, parse(path.read_text(encoding="utf-8")))
    assert errors == []


def test_graphql_core_is_not_shadowed() -> None:
    import graphql

    assert not (REPO / "graphql" / "__init__.py").exists()
    assert "site-packages" in str(graphql.__file__)


def test_descriptions_state_units() -> None:
    assert describe(Product.t_min).endswith("Unit: days.")
    assert describe(Product.em_min) == "Shortest wavelength covered. Unit: metres."
    assert describe(Product.__table__.c.s_ra, "ICRS").endswith("Unit: degrees. ICRS.")


def test_cursor_round_trip_and_order_signature() -> None:
    from datetime import UTC, datetime

    keys = sort_keys([("T_MIN_MJD", Product.t_min, True, True)], "id", Product.product_id)
    window = Window(tuple(keys), 10, False, None, False)
    sig = window.signature()
    for values in ((None, 42), (58000.125, 7)):
        assert decode_cursor(encode_cursor(window, values), sig, window.keys) == values
    term = ("LAST_HARVESTED", Product.last_harvested, False, False)
    by_date = sort_keys([term], "id", Product.product_id)
    dated = Window(tuple(by_date), 10, False, None, False)
    moment = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    cursor = encode_cursor(dated, (moment, 7))
    assert decode_cursor(cursor, dated.signature(), dated.keys) == (moment, 7)
    assert window.signature() == "T_MIN_MJD:desc,id:desc"
