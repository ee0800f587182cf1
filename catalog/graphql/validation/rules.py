"""The depth and alias limits as validation rules whose work is linear in the document.

A fragment may be spread many times, and spread fragments may spread others: expanding the
spreads (as a recursive walk does) costs the size of the *expanded* document, which ten
fragments spreading the next ten times each make 10^10 fields long. These rules read every
definition once, summarise it (its own deepest field, its own aliases, the fragments it
spreads and where), and combine the summaries of the fragments once each, in dependency
order (:func:`fold_fragments`), with counts that saturate. The verdicts and messages are
those of strawberry's ``QueryDepthLimiter`` and ``MaxAliasesLimiter``:

- depth: fields nested in fields, counted from 0 at the operation's top level, through
  fragments and inline fragments; introspection fields (``__schema``…) end a branch;
  ``'<operation>' exceeds maximum operation depth of <n>``;
- aliases: aliased fields of every operation, each spread of a fragment counting its
  aliases again; ``<count> aliases found. Allowed: <n>``.

A fragment spread inside itself (a cycle, which graphql-core's own rules refuse) adds
nothing; an unknown fragment adds nothing either (graphql-core reports it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

V = TypeVar("V")
S = TypeVar("S")
SATURATED = 10**9
"""Counts stop growing here: a document past it is refused whatever the exact figure."""


def fold_fragments(
    summaries: Mapping[str, S],
    spreads: Callable[[S], Iterable[str]],
    combine: Callable[[S, Mapping[str, V]], V],
) -> dict[str, V]:
    """``combine(summary, done)`` for every fragment, each once, after the fragments it
    spreads (``done`` holds their values; a spread back into the chain being resolved is
    missing from it, as is an unknown name). Iterative: chains of any length are fine."""
    done: dict[str, V] = {}
    for root in summaries:
        if root in done:
            continue
        active = {root}
        stack = [(root, iter(spreads(summaries[root])))]
        while stack:
            name, pending = stack[-1]
            for target in pending:
                if target in summaries and target not in done and target not in active:
                    active.add(target)
                    stack.append((target, iter(spreads(summaries[target]))))
                    break
            else:
                stack.pop()
                active.discard(name)
                done[name] = combine(summaries[name], done)
    return done


@dataclass
class Spread:
    fragment: str
    level: int
    """Fields enclosing the spread within its definition (0: at its top level)."""
    counts_for_depth: bool
    """False inside an introspection field, where depth is not counted."""


@dataclass
class Summary:
    """One definition on its own, its spreads not followed."""

    height: int = 0
    """The deepest field level of the definition itself (0: only top-level fields)."""
    aliases: int = 0
    spreads: list[Spread] = field(default_factory=list)
    deepest: Node | None = None
    """The first selection at the deepest level, where a depth error points."""


def _is_introspection(name: str) -> bool:
    return name.startswith("__")


def summarise(selection_set: SelectionSetNode) -> Summary:
    """Walk one definition's selections (iteratively; fragment spreads are noted)."""
    summary = Summary()
    stack: list[tuple[SelectionSetNode, int, bool]] = [(selection_set, 0, True)]
    while stack:
        selections, level, depth_counted = stack.pop()
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                if selection.alias is not None:
                    summary.aliases += 1
                if depth_counted and (level > summary.height or summary.deepest is None):
                    summary.height, summary.deepest = level, selection
                if selection.selection_set is not None:
                    counted = depth_counted and not _is_introspection(selection.name.value)
                    stack.append((selection.selection_set, level + 1, counted))
            elif isinstance(selection, InlineFragmentNode):
                stack.append((selection.selection_set, level, depth_counted))
            elif isinstance(selection, FragmentSpreadNode):
                summary.spreads.append(Spread(selection.name.value, level, depth_counted))
    return summary


@dataclass(frozen=True)
class Totals:
    height: int
    aliases: int


def _totals(summary: Summary, done: Mapping[str, Totals]) -> Totals:
    height, aliases = summary.height, summary.aliases
    for spread in summary.spreads:
        inner = done.get(spread.fragment)
        if inner is None:
            continue
        if spread.counts_for_depth:
            height = max(height, spread.level + inner.height)
        aliases = min(SATURATED, aliases + inner.aliases)
    return Totals(height, aliases)


class DocumentShape:
    """Depth and alias totals of every operation of a document (linear time)."""

    def __init__(self, definitions: Iterable[Node]) -> None:
        self.operations: list[tuple[OperationDefinitionNode, Summary]] = []
        self.fragments: dict[str, Summary] = {}
        for definition in definitions:
            if isinstance(definition, OperationDefinitionNode):
                self.operations.append((definition, summarise(definition.selection_set)))
            elif isinstance(definition, FragmentDefinitionNode):
                self.fragments.setdefault(
                    definition.name.value, summarise(definition.selection_set)
                )
        self.fragment_totals = fold_fragments(
            self.fragments, lambda s: (sp.fragment for sp in s.spreads), _totals
        )

    def totals(self, summary: Summary) -> Totals:
        return _totals(summary, self.fragment_totals)

    def deepest_node(self, summary: Summary, operation: Node) -> Node:
        """Where a depth error points: the deepest field, found by following the spreads
        that reach the depth (each fragment entered at most once)."""
        seen: set[str] = set()
        while True:
            best = self.totals(summary).height
            following = None
            if best > summary.height:
                following = next(
                    (s.fragment for s in summary.spreads if self._reaches(s, best, seen)), None
                )
            if following is None:
                return summary.deepest or operation
            seen.add(following)
            summary = self.fragments[following]

    def _reaches(self, spread: Spread, height: int, seen: set[str]) -> bool:
        inner = self.fragment_totals.get(spread.fragment)
        return (
            inner is not None
            and spread.counts_for_depth
            and spread.fragment not in seen
            and spread.level + inner.height == height
        )


def operation_name(operation: OperationDefinitionNode) -> str:
    return operation.name.value if operation.name else "anonymous"


def shape_rule(max_depth: int, max_aliases: int) -> type[ValidationRule]:
    """Refuse operations whose fields nest deeper than ``max_depth``, and documents with
    more than ``max_aliases`` aliased fields (every spread counted)."""

    class DocumentShapeRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            shape = DocumentShape(context.document.definitions)
            aliases = 0
            for operation, summary in shape.operations:
                totals = shape.totals(summary)
                aliases = min(SATURATED, aliases + totals.aliases)
                if totals.height > max_depth:
                    context.report_error(
                        GraphQLError(
                            f"'{operation_name(operation)}' exceeds maximum operation "
                            f"depth of {max_depth}",
                            shape.deepest_node(summary, operation),
                            extensions={"code": "LIMIT_EXCEEDED", "limit": max_depth},
                        )
                    )
            if aliases > max_aliases:
                found = str(aliases) if aliases < SATURATED else f"More than {SATURATED}"
                context.report_error(
                    GraphQLError(
                        f"{found} aliases found. Allowed: {max_aliases}",
                        extensions={"code": "LIMIT_EXCEEDED", "limit": max_aliases},
                    )
                )

    return DocumentShapeRule
