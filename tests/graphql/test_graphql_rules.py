"""The depth and alias rules: strawberry's verdicts and messages, in linear time.

Random documents (fields, aliases, inline fragments, introspection fields, fragments spread
several times) are checked by our rule and by strawberry's own validators, which expand
every spread: on documents small enough for them, both must say the same thing.
"""

from __future__ import annotations

from graphql import build_schema, parse, validate
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.extensions.max_aliases import create_validator as strawberry_aliases
from strawberry.extensions.query_depth_limiter import create_validator as strawberry_depth

from catalog.graphql.validation.rules import DocumentShape, shape_rule

SCHEMA = build_schema("type Query { a: Int }")  # the rules read the document only
NAMES = st.sampled_from(["a", "b", "c", "__schema", "__type"])


@st.composite
def selection_set(draw: st.DrawFn, fragments: list[str], depth: int) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["field", "field", "nested", "inline", "spread"]))
        if kind == "spread" and fragments:
            parts.append("..." + draw(st.sampled_from(fragments)))
        elif kind == "inline" and depth > 0:
            parts.append("... on Query " + draw(selection_set(fragments, depth - 1)))
        else:
            alias = draw(st.sampled_from(["", "x: ", "y: "]))
            name = draw(NAMES)
            inner = draw(selection_set(fragments, depth - 1)) if kind == "nested" and depth else ""
            parts.append(f"{alias}{name} {inner}")
    return "{ " + " ".join(parts) + " }"


@st.composite
def documents(draw: st.DrawFn) -> str:
    count = draw(st.integers(0, 4))
    names = [f"F{i}" for i in range(count)]
    # F{i} spreads only later fragments: no cycles (strawberry's rules would not stop)
    fragments = [
        f"fragment {name} on Query {draw(selection_set(names[i + 1 :], 3))}"
        for i, name in enumerate(names)
    ]
    operations = [
        f"query Q{i} {draw(selection_set(names, 4))}" for i in range(draw(st.integers(1, 2)))
    ]
    return " ".join(operations + fragments)


def messages(document: str, rules: list) -> set[str]:  # type: ignore[type-arg]
    return {e.message for e in validate(SCHEMA, parse(document), rules)}


@settings(max_examples=300, deadline=None)
@given(documents(), st.integers(0, 6), st.integers(0, 6))
def test_same_verdicts_as_strawberry(document: str, max_depth: int, max_aliases: int) -> None:
    theirs = messages(
        document, [strawberry_depth(max_depth, None), strawberry_aliases(max_aliases)]
    )
    ours = messages(document, [shape_rule(max_depth, max_aliases)])
    assert ours == theirs


def bomb(levels: int) -> str:
    """Each fragment has an alias and spreads the next ten times: 10^levels once expanded."""
    return (
        "{ a ...F0 } "
        + " ".join(
            f"fragment F{i} on Query {{ x: a " + f"...F{i + 1} " * 10 + "}" for i in range(levels)
        )
        + f" fragment F{levels} on Query {{ b {{ c }} }}"
    )


def test_fragments_spread_ten_times_over_levels_are_summarised_once() -> None:
    shape = DocumentShape(parse(bomb(8)).definitions)
    totals = shape.totals(shape.operations[0][1])
    assert (totals.height, totals.aliases) == (1, 11_111_111)
    errors = validate(SCHEMA, parse(bomb(8)), [shape_rule(10, 20)])
    assert [e.message for e in errors] == ["11111111 aliases found. Allowed: 20"]
    assert errors[0].extensions == {"code": "LIMIT_EXCEEDED", "limit": 20}
    # strawberry's validators would not finish this one; ours saturate the count
    errors = validate(SCHEMA, parse(bomb(40)), [shape_rule(10, 20)])
    assert [e.message for e in errors] == ["More than 1000000000 aliases found. Allowed: 20"]


def test_a_depth_error_points_at_the_deepest_field_inside_fragments() -> None:
    document = (
        "query Q { a { ...F } } fragment F on Query { b ...G } "
        "fragment G on Query { c { d { e } } }"
    )
    errors = validate(SCHEMA, parse(document), [shape_rule(2, 20)])
    assert [e.message for e in errors] == ["'Q' exceeds maximum operation depth of 2"]
    assert errors[0].locations is not None
    line, column = errors[0].locations[0].line, errors[0].locations[0].column
    assert (line, document[column - 1 :].split(maxsplit=1)[0]) == (1, "e")


def test_cycles_and_unknown_fragments_add_nothing() -> None:
    document = (
        "{ a { ...F ...Nope } } fragment F on Query { x: a ...G } fragment G on Query { y: a ...F }"
    )
    shape = DocumentShape(parse(document).definitions)
    assert shape.totals(shape.operations[0][1]).aliases == 2
    long_chain = "{ ...F0 } " + " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(3000)
    )
    shape = DocumentShape(parse(long_chain + " fragment F3000 on Query { a { b } }").definitions)
    assert shape.totals(shape.operations[0][1]).height == 1  # no recursion limit on chains
