"""Keyset pagination over HTTP: first/after, last/before, ties, nulls, empty pages, cursors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.graphql import GraphQLClient
from tests.support.graphql_catalog import PRODUCTS, names

Q = """query($order: [ProductOrder!], $first: Int, $after: String, $last: Int, $before: String,
          $f: ProductFilter) {
  products(orderBy: $order, first: $first, after: $after, last: $last, before: $before,
           filter: $f) {
    edges { cursor node { fileName fileBytes tMinMjd } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
ALL = sorted([n for n, p in PRODUCTS.items() if not p.get("withdrawn")] + ["dup", "dup"])


def page(api: GraphQLClient, **variables: Any) -> dict[str, Any]:
    return api.run(Q, variables)["products"]  # type: ignore[no-any-return]


def walk_forward(api: GraphQLClient, size: int, **variables: Any) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        p = page(api, first=size, after=after, **variables)
        seen += names(p)
        assert len(p["edges"]) <= size
        if not p["pageInfo"]["hasNextPage"]:
            return seen
        after = p["pageInfo"]["endCursor"]
        assert after == p["edges"][-1]["cursor"]


def walk_backward(api: GraphQLClient, size: int, **variables: Any) -> list[str]:
    seen: list[str] = []
    before = None
    while True:
        p = page(api, last=size, before=before, **variables)
        seen = names(p) + seen
        if not p["pageInfo"]["hasPreviousPage"]:
            return seen
        before = p["pageInfo"]["startCursor"]


ORDERS = [
    None,
    [{"field": "FILE_NAME"}],
    [{"field": "FILE_BYTES"}],  # ties: b1, b3, b4 share 4000 bytes
    [{"field": "FILE_BYTES", "direction": "DESC"}],
    [{"field": "T_MIN_MJD"}],  # nulls (a3, g2, dup, dup) last
    [{"field": "T_MIN_MJD", "direction": "DESC"}],  # nulls last too
    [{"field": "INSTRUMENT", "direction": "DESC"}, {"field": "T_MAX_MJD"}],
    [{"field": "RA_DEG"}, {"field": "ID", "direction": "DESC"}],
]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("size", [1, 3, 5])
def test_pages_cover_the_list_once_in_a_stable_order(
    api: GraphQLClient, order: Any, size: int
) -> None:
    whole = names(page(api, first=100, order=order))
    assert sorted(whole) == ALL
    assert walk_forward(api, size, order=order) == whole
    assert walk_backward(api, size, order=order) == whole
    assert names(page(api, last=100, order=order)) == whole


def test_the_order_is_the_one_asked_for(api: GraphQLClient) -> None:
    by_bytes = page(api, first=100, order=[{"field": "FILE_BYTES", "direction": "DESC"}])
    sizes = [e["node"]["fileBytes"] for e in by_bytes["edges"]]
    assert sizes == sorted(sizes, reverse=True)
    by_time = page(api, first=100, order=[{"field": "T_MIN_MJD", "direction": "DESC"}])
    times = [e["node"]["tMinMjd"] for e in by_time["edges"]]
    known = [t for t in times if t is not None]
    assert known == sorted(known, reverse=True)
    assert times[len(known) :] == [None] * (len(times) - len(known))


def test_page_info_at_the_edges(api: GraphQLClient) -> None:
    first = page(api, first=4)
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    rest = page(api, first=100, after=first["pageInfo"]["endCursor"])
    assert rest["pageInfo"]["hasNextPage"] is False
    assert rest["pageInfo"]["hasPreviousPage"] is True
    # After the last item: an empty page, no cursors.
    empty = page(api, first=5, after=rest["pageInfo"]["endCursor"])
    assert empty["edges"] == []
    assert empty["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": None,
        "endCursor": None,
    }
    # Before the first item: empty too.
    nothing = page(api, last=5, before=first["pageInfo"]["startCursor"])
    assert nothing["edges"] == [] and nothing["pageInfo"]["hasPreviousPage"] is False
    # first: 0 is an empty page that still says whether items exist.
    zero = page(api, first=0)
    assert zero["edges"] == [] and zero["pageInfo"]["hasNextPage"] is True
    # A filter matching nothing.
    none = page(api, first=5, f={"instrument": {"eq": "NIRSpec"}})
    assert none["edges"] == [] and none["pageInfo"]["hasNextPage"] is False
    # Exactly one page.
    exact = page(api, first=len(ALL))
    assert len(exact["edges"]) == len(ALL) and exact["pageInfo"]["hasNextPage"] is False


def test_default_page_size_and_the_cap(api: GraphQLClient) -> None:
    assert len(page(api)["edges"]) == len(ALL)  # under the default of 20
    errors = api.errors(Q, {"first": 1001})
    assert errors[0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert "1000" in errors[0]["message"]
    assert api.errors(Q, {"first": -1})[0]["extensions"]["code"] == "INVALID_ARGUMENT"
    assert api.errors(Q, {"first": 2, "last": 2})[0]["extensions"]["code"] == "INVALID_ARGUMENT"


def test_cursors_are_checked(api: GraphQLClient) -> None:
    by_name = page(api, first=2, order=[{"field": "FILE_NAME"}])
    cursor = by_name["pageInfo"]["endCursor"]
    for bad in ("garbage", "", "eyJ4Ijox", cursor[:-3], "W1siaWQ6YXNjIl0sWzFdXQ"):
        errors = api.errors(Q, {"first": 2, "after": bad, "order": [{"field": "FILE_NAME"}]})
        assert errors[0]["extensions"]["code"] == "INVALID_CURSOR", bad
    # A cursor of another ordering is refused rather than silently misread.
    errors = api.errors(Q, {"first": 2, "after": cursor, "order": [{"field": "FILE_BYTES"}]})
    assert errors[0]["extensions"]["code"] == "INVALID_CURSOR"
    assert "orderBy" in errors[0]["message"]
    # With its own ordering it works, and the filter may change between pages.
    more = page(
        api,
        first=2,
        after=cursor,
        order=[{"field": "FILE_NAME"}],
        f={"observatory": {"eq": "TESS"}},
    )
    assert names(more) == ["b1", "b2"]


def test_nested_connections_page_within_each_parent(api: GraphQLClient) -> None:
    q = """query($after: String) {
      collections(orderBy: [{field: HLSP_ID}]) { nodes { hlspId
        products(first: 2, after: $after, orderBy: [{field: FILE_NAME}]) {
          totalCount edges { node { fileName } } pageInfo { hasNextPage endCursor } } } }
    }"""
    data = api.run(q)["collections"]["nodes"]
    got = {
        c["hlspId"]: (
            names(c["products"]),
            c["products"]["totalCount"],
            c["products"]["pageInfo"]["hasNextPage"],
        )
        for c in data
    }
    assert got == {
        "alpha": (["a1", "a2"], 4, True),
        "beta": (["b1", "b2"], 5, True),
        "gamma": (["g1", "g2"], 2, False),
    }
    # A cursor is a position in the order (after a2.fits, by file name), the same for every
    # parent; a portal pages one parent's list through that parent (collection(hlspId)).
    cursor = data[0]["products"]["pageInfo"]["endCursor"]
    again = api.run(q, {"after": cursor})["collections"]["nodes"]
    assert [names(c["products"]) for c in again] == [["a3", "dup"], ["b1", "b2"], ["g1", "g2"]]
    one = api.run("""query($after: String) { collection(hlspId: "beta") {
      products(first: 2, after: $after) {
        edges { node { fileName } } pageInfo { endCursor } } } }""")
    after = one["collection"]["products"]["pageInfo"]["endCursor"]
    next_page = api.run(
        """query($after: String) { collection(hlspId: "beta") {
      products(first: 2, after: $after) { edges { node { fileName } } } } }""",
        {"after": after},
    )
    assert names(next_page["collection"]["products"]) == ["b3", "b4"]
