"""Documents that cost more than they look: fragment bombs, shared response names, deep
nesting, and queries asking for too many objects. All over HTTP to a running server.

A request that would block the event loop is detected by a bounded wait (the answer must
come within 30 s, where expanding the fragments would take minutes to hours); nothing here
asserts a duration.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.graphql import GraphQLClient

HANG = 30  # seconds: a request not answered by then has blocked the server


def fragment_bomb(levels: int) -> str:
    """Ten fragments, each spreading the next ten times: 764 bytes for 8 levels."""
    return (
        "query { products(first:1) { edges { node { ...F0 } } } } "
        + " ".join(
            f"fragment F{i} on Product {{ fileName " + " ".join([f"...F{i + 1}"] * 10) + " }"
            for i in range(levels - 1)
        )
        + f" fragment F{levels - 1} on Product {{ fileName }}"
    )


def only_error(response: httpx.Response) -> dict[str, Any]:
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]  # type: ignore[no-any-return]


# --- documents ----------------------------------------------------------------------------


def test_a_fragment_bomb_is_answered_and_the_server_stays_up(api: GraphQLClient) -> None:
    # Valid, and cheap to execute (GraphQL merges the repeated spreads), but its selections
    # counted one by one are 10^9 fields: refused before execution, after a linear check.
    response = api.http.post(api.url, json={"query": fragment_bomb(10)}, timeout=HANG)
    assert response.status_code == 200
    error = only_error(response)
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert error["extensions"]["limit"] == 100_000
    assert "fields" in error["message"]
    health = httpx.get(api.url.removesuffix("/graphql") + "/health", timeout=HANG)
    assert health.status_code == 200


def test_fragments_spread_once_per_object_are_counted_once(api: GraphQLClient) -> None:
    document = """{ products(first: 2) { edges { node { ...P collection { ...C } } } } }
        fragment P on Product { fileName obsId }
        fragment C on Collection { hlspId products(first: 1) { edges { node { ...P } } } }"""
    data = api.run(document)
    assert len(data["products"]["edges"]) == 2


def test_fragments_expanding_past_the_alias_limit_are_refused(api: GraphQLClient) -> None:
    document = fragment_bomb(12).replace("{ fileName ", "{ name: fileName ")
    response = api.http.post(api.url, json={"query": document}, timeout=HANG)
    error = only_error(response)
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert error["extensions"]["limit"] == 20
    assert error["message"] == "More than 1000000000 aliases found. Allowed: 20"


@pytest.mark.parametrize(
    "selection",
    [
        " ".join("collection { hlspId }" for _ in range(400)),  # one name, 400 sub-selections
        " ".join("a: fileName a: obsId" for _ in range(300)),  # one alias, two fields
    ],
    ids=["same-field", "same-alias"],
)
def test_fields_sharing_a_response_name_are_refused_cheaply(
    api: GraphQLClient, selection: str
) -> None:
    document = "{ products(first: 1) { edges { node { " + selection + " } } } }"
    response = api.http.post(api.url, json={"query": document}, timeout=HANG)
    codes = {e["extensions"]["code"] for e in response.json()["errors"]}
    assert "LIMIT_EXCEEDED" in codes
    assert any("share a response name" in e["message"] for e in response.json()["errors"])


def test_an_unknown_fragment_is_named_in_the_error(api: GraphQLClient) -> None:
    error = api.errors("{ products { edges { node { ...Nope } } } }")[0]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["message"] == "Unknown fragment 'Nope'."


@pytest.mark.parametrize(
    "document",
    [
        "{ products(filter: {instrument: {in: " + "[" * 300 + "]" * 300 + "}}) { totalCount } }",
        "{ products(filter: " + "{not: " * 300 + "{}" + "}" * 300 + ") { totalCount } }",
        "query($a: " + "[" * 300 + "Int" + "]" * 300 + ") { collections { totalCount } }",
        "{ products { edges { node { "
        + "collection { products { edges { node { " * 45
        + "fileName"
        + " } } } }" * 45
        + " } } } }",
    ],
    ids=["lists", "objects", "types", "selections"],
)
def test_deeply_nested_documents_are_refused(api: GraphQLClient, document: str) -> None:
    error = only_error(api.post(document))
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED", error
    assert "nested too deeply" in error["message"] or "depth" in error["message"]


def test_variables_nesting_past_graphql_s_own_limit_are_refused(api: GraphQLClient) -> None:
    f: dict[str, Any] = {"instrument": {"eq": "x"}}
    for _ in range(600):
        f = {"not": f}
    query = "query($f: ProductFilter) { products(filter: $f) { totalCount } }"
    error = only_error(api.post(query, {"f": f}))
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"


# --- how many objects a query asks for ----------------------------------------------------

NESTED = """query($n: Int) { collections(first: $n) { edges { node {
    products(first: 1000) { edges { node { fileName } } } } } } }"""


def test_nested_pages_past_the_node_limit_are_refused_before_running(api: GraphQLClient) -> None:
    response = api.post(NESTED, {"n": 100})
    assert api.statements == 0
    error = only_error(response)
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert error["extensions"]["limit"] == 10_000
    assert "100100 objects" in error["message"]  # 100 collections + 100 × 1000 products
    assert api.run(NESTED, {"n": 9})  # 9 + 9 × 1000: allowed
    # without first, a page has 20 items: 20 + 20 × 1000 + 20 × 1000 + 20 × 1000
    tripled = """{ collections { edges { node { products(first: 1000) { totalCount }
        more: products(first: 1000) { totalCount } again: products(first: 1000) { totalCount }
    } } } }"""
    assert "60020 objects" in only_error(api.post(tripled))["message"]


def test_the_fields_of_the_result_are_bounded_too(api: GraphQLClient) -> None:
    ten = "fileName obsId instrument raDeg decDeg tMinMjd tMaxMjd verdict fileBytes calibLevel"
    wide = NESTED.replace("fileName", ten)
    # 9 009 objects (allowed), but 9 × 1000 × 12 fields (edges, node and ten values)
    error = only_error(api.post(wide, {"n": 9}))
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert error["extensions"]["limit"] == 100_000
    assert "108028 fields" in error["message"]
    assert api.run(wide, {"n": 8})  # 96 025 fields


def test_the_node_limit_counts_through_fragments(api: GraphQLClient) -> None:
    document = """{ a: collections(first: 30) { edges { node { ...P } } }
                    b: collections(first: 30) { edges { node { ...P } } } }
        fragment P on Collection { products(first: 1000) { edges { node { fileName } } } }"""
    error = only_error(api.post(document))
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert "60060 objects" in error["message"]  # 2 × (30 + 30 × 1000)


# --- text and variables -------------------------------------------------------------------


def test_a_long_query_text_is_refused_before_parsing(api: GraphQLClient) -> None:
    # one comment token: the token limit does not see its size
    error = only_error(api.post("{ __typename } #" + "x" * 60_000))
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert "more than 50000 code points" in error["message"]
    assert api.run("{ __typename } #" + "x" * 40_000) == {"__typename": "Query"}


def test_oversized_variables_are_refused_before_they_are_converted(api: GraphQLClient) -> None:
    query = "query($f: ProductFilter) { products(filter: $f) { totalCount } }"
    conditions = [{"instrument": {"eq": "x"}}] * 30_000  # 0.9 MB, under the body limit
    error = only_error(api.post(query, {"f": {"or": conditions}}))
    assert error["extensions"] == {
        "code": "LIMIT_EXCEEDED",
        "limit": 8000,
        "hint": "Split the query into smaller ones (see the limits in the README).",
    }
    assert "variables hold more than 8000 values" in error["message"]
    # the largest list a filter may hold is served
    allowed = {"f": {"or": [{"instrument": {"eq": "TESS"}}] * 1000}}
    assert api.run(query, allowed) == {"products": {"totalCount": 4}}
