"""Cursors are input like any other: whatever a client forges, the answer is INVALID_CURSOR.

A cursor is base64 of JSON ``[order signature, [key values…, id]]``; each value must have
its key's type (float, integer, text, date-time as ``{"t": iso}``), be finite, fit in 64
bits, and be null only where the key may be null.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.graphql.errors import InvalidCursor
from catalog.graphql.ordering import ProductOrder, ProductOrderField, product_keys
from catalog.graphql.pagination import Window, decode_cursor, encode_cursor
from tests.support.graphql import GraphQLClient

Q = """query($order: [ProductOrder!], $after: String, $before: String) {
  products(orderBy: $order, first: 2, after: $after) { edges { node { fileName } } }
  last: products(orderBy: $order, last: 2, before: $before) { edges { node { fileName } } }
}"""


def forge(signature: Any, values: Any = None, *, raw: str | None = None) -> str:
    text = raw if raw is not None else json.dumps([signature, values])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


BY = {
    "T_MIN_MJD": "T_MIN_MJD:asc,id:asc",
    "FILE_BYTES": "FILE_BYTES:asc,id:asc",
    "LAST_HARVESTED": "LAST_HARVESTED:asc,id:asc",
    "FILE_NAME": "FILE_NAME:asc,id:asc",
}
FORGED = [
    ("T_MIN_MJD", ["x", 1]),  # text for a float
    ("T_MIN_MJD", [1.5, "x"]),  # text for the id
    ("T_MIN_MJD", [1.5, None]),  # null id
    ("T_MIN_MJD", [1.5, 10**30]),  # past 64 bits
    ("T_MIN_MJD", [10**400, 1]),  # past a float
    ("T_MIN_MJD", [[1], 1]),
    ("FILE_BYTES", ["x", 1]),
    ("FILE_BYTES", [1.5, 1]),  # a float for an integer
    ("FILE_BYTES", [None, 1]),  # null where the key is never null
    ("FILE_BYTES", [True, 1]),
    ("LAST_HARVESTED", [5, 1]),
    ("LAST_HARVESTED", ["2020-01-01", 1]),  # a date-time travels as {"t": …}
    ("LAST_HARVESTED", [{"t": 5}, 1]),
    ("LAST_HARVESTED", [{"t": "yesterday"}, 1]),
    ("FILE_NAME", [5, 1]),
    ("FILE_NAME", ["a\x00b", 1]),  # PostgreSQL text cannot hold NUL
    ("FILE_NAME", [{"t": "2020-01-01T00:00:00"}, 1]),
    ("FILE_NAME", [{"x": 1}, 1]),
    (None, ["x"]),
    (None, [None]),
    (None, [{"x": 1}]),
]


@pytest.mark.parametrize(("field", "values"), FORGED, ids=[repr(v) for _, v in FORGED])
def test_forged_cursors_are_invalid_cursors(api: GraphQLClient, field: Any, values: Any) -> None:
    order = [{"field": field}] if field else None
    cursor = forge(BY.get(field, "id:asc"), values)
    for argument in ("after", "before"):
        errors = api.errors(Q, {"order": order, argument: cursor})
        assert errors[0]["extensions"] == {"code": "INVALID_CURSOR"}, errors


@pytest.mark.parametrize(
    "raw",
    [
        "NaN",
        '["id:asc", [NaN]]',
        '["T_MIN_MJD:asc,id:asc", [Infinity, 1]]',
        '{"a": 1, "b": 2}',
        '["id:asc", 5]',
        '["id:asc", [1], 3]',
        "[" * 2000 + "]" * 2000,
        "[" * 900 + "]" * 900,
    ],
)
def test_malformed_cursor_json_is_an_invalid_cursor(api: GraphQLClient, raw: str) -> None:
    order = [{"field": "T_MIN_MJD"}] if "T_MIN" in raw else None
    errors = api.errors(Q, {"order": order, "after": forge(None, raw=raw)})
    assert errors[0]["extensions"] == {"code": "INVALID_CURSOR"}


ORDERS = [None, *[[ProductOrder(field=f)] for f in ProductOrderField]]
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=12,
)


def _check(order: Any, cursor: str) -> None:
    keys = product_keys(order)
    window = Window(tuple(keys), 10, False, None, False)
    try:
        values = decode_cursor(cursor, window.signature(), window.keys)
    except InvalidCursor:
        return
    # accepted: exactly one value per key, each of the key's type, and it round-trips
    assert len(values) == len(keys)
    for value, key in zip(values, keys, strict=True):
        if value is None:
            assert key.nullable
        else:
            assert type(value) is key.expr.type.python_type
            assert value == value and value not in (float("inf"), float("-inf"))
    assert decode_cursor(encode_cursor(window, values), window.signature(), window.keys) == values


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(ORDERS), st.lists(JSON, max_size=4), st.booleans())
def test_decoded_cursors_are_valid_or_refused(order: Any, values: list[Any], right: bool) -> None:
    keys = product_keys(order)
    signature = Window(tuple(keys), 10, False, None, False).signature() if right else "x"
    _check(order, forge(signature, values))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ORDERS[:6]), st.lists(JSON, min_size=1, max_size=3))
def test_no_cursor_makes_the_server_fail(api: GraphQLClient, order: Any, values: Any) -> None:
    keys = product_keys(order)
    signature = Window(tuple(keys), 10, False, None, False).signature()
    variables = {
        "order": [{"field": o.field.name} for o in order] if order else None,
        "after": forge(signature, values),
    }
    body = api.post(Q, variables).json()
    for error in body.get("errors", []):
        assert error["extensions"]["code"] == "INVALID_CURSOR", error


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ORDERS), st.text(max_size=200) | st.binary(max_size=200).map(repr))
def test_any_text_is_a_cursor_or_refused(order: Any, text: str) -> None:
    _check(order, text)
    _check(order, forge(None, raw=text))
