"""How many objects a query asks for, computed before it runs (as GitHub's API does).

A paged field asks for its page size of objects: ``first`` or ``last`` (20 when neither is
given, the default page), or the number of ``ids`` of ``nodes``. Under a paged field, every
object of the page asks again: the page sizes multiply along nested paged fields, and the
products are summed over the document. So ``collections(first: 100) { … products(first:
1000) … }`` asks for 100 + 100 × 1000 objects. Lists that are not paged (a product's
targets, inputs, findings) count as one: they are short, and their objects are counted
only where they are paged again.

The same walk counts the fields of the result: every selected field once per object it is
asked of (``products(first: 1000) { edges { node { a b c } } }`` returns about 5,000).
Completing them is CPU work on the event loop (a few microseconds each), so their number is
bounded too (``max_result_fields``), whatever the data turns out to hold.

The counts need the variables (``first: $n``), so they run at execution, after validation;
fragments are summarised once each (:func:`catalog.graphql.validation.rules.fold_fragments`) and the
counts saturate, so the work is linear in the document whatever its spreads expand to.
Before that, the variables themselves are bounded (:func:`variable_values`): turning each of
their input objects into Python costs tens of microseconds, and a megabyte of them would
hold the event loop for seconds before any filter limit could refuse them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    is_interface_type,
    is_object_type,
)
from strawberry.extensions import SchemaExtension

from catalog.config import GraphQLSettings
from catalog.graphql.pagination import DEFAULT_PAGE_SIZE
from catalog.graphql.validation.rules import SATURATED, fold_fragments

VARIABLE_VALUES_PER_FILTER_VALUE = 4
"""Variables may hold 4 list items or object fields per filter value allowed
(``max_filter_values``): a condition such as ``{"instrument": {"eq": "x"}}`` in an ``or``
list is three of them."""


@dataclass(frozen=True)
class Cost:
    nodes: int = 0
    """Objects asked for by paged fields."""
    fields: int = 0
    """Fields of the result (each selected field once per object)."""

    def plus(self, other: Cost, times: int = 1) -> Cost:
        return Cost(
            min(SATURATED, self.nodes + _times(times, other.nodes)),
            min(SATURATED, self.fields + _times(times, other.fields)),
        )


@dataclass
class _Summary:
    cost: Cost = Cost()
    spreads: list[tuple[str, int]] = field(default_factory=list)
    """(fragment, how many times each of its objects is asked for at the spread)"""


def _times(a: int, b: int) -> int:
    return min(SATURATED, a * b)


class _Counter:
    def __init__(self, schema: GraphQLSchema, variables: Mapping[str, Any]) -> None:
        self.schema = schema
        self.variables = variables

    def value(self, node: ValueNode) -> Any:
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, ListValueNode):
            return list(node.values)
        return None

    def page_size(self, definition: GraphQLField, node: FieldNode) -> int | None:
        """Objects one occurrence of the field asks for; None for a field that is not paged."""
        args = {a.name.value: self.value(a.value) for a in node.arguments or ()}
        if "ids" in definition.args:
            ids = args.get("ids")
            return len(ids) if isinstance(ids, list) else 1
        if "first" not in definition.args and "last" not in definition.args:
            return None
        for name in ("first", "last"):
            size = args.get(name)
            if isinstance(size, int) and not isinstance(size, bool):
                return max(0, min(size, SATURATED))
        return DEFAULT_PAGE_SIZE

    def summarise(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None
    ) -> _Summary:
        summary = _Summary()
        stack: list[tuple[SelectionSetNode, GraphQLNamedType | None, int]] = [
            (selection_set, parent, 1)
        ]
        while stack:
            selections, parent_type, times = stack.pop()
            for selection in selections.selections:
                if isinstance(selection, FieldNode):
                    fields = (
                        parent_type.fields
                        if is_object_type(parent_type) or is_interface_type(parent_type)
                        else {}
                    )
                    definition = fields.get(selection.name.value)
                    if definition is None:
                        continue
                    size = self.page_size(definition, selection)
                    inner = times
                    if size is not None:
                        inner = _times(times, size)
                    summary.cost = summary.cost.plus(
                        Cost(nodes=inner if size is not None else 0, fields=times)
                    )
                    if selection.selection_set is not None:
                        stack.append(
                            (selection.selection_set, get_named_type(definition.type), inner)
                        )
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    inline_type = self.schema.get_type(condition.name.value) if condition else None
                    stack.append((selection.selection_set, inline_type or parent_type, times))
                elif isinstance(selection, FragmentSpreadNode):
                    summary.spreads.append((selection.name.value, times))
        return summary


def _total(summary: _Summary, done: Mapping[str, Cost]) -> Cost:
    total = summary.cost
    for name, times in summary.spreads:
        total = total.plus(done.get(name, Cost()), times)
    return total


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> Cost:
    """What the operation asks for (nothing when the operation cannot be chosen: execution
    reports that)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return Cost()
    operation = operations[0]
    values = dict(variables or {})
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in values and isinstance(definition.default_value, IntValueNode):
            values[name] = int(definition.default_value.value)
    counter = _Counter(schema, values)
    fragments = {
        d.name.value: counter.summarise(
            d.selection_set, schema.get_type(d.type_condition.name.value)
        )
        for d in document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    totals = fold_fragments(fragments, lambda s: (name for name, _ in s.spreads), _total)
    root = schema.get_root_type(operation.operation or OperationType.QUERY)
    return _total(counter.summarise(operation.selection_set, root), totals)


def variable_values(variables: Any, limit: int) -> int:
    """List items and object fields in the variables, counted up to ``limit`` + 1."""
    count = 0
    stack = [variables]
    while stack and count <= limit:
        value = stack.pop()
        if isinstance(value, dict):
            count += len(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            count += len(value)
            stack.extend(value)
    return count


def _saying(count: int) -> str:
    return str(count) if count < SATURATED else f"more than {SATURATED}"


def _refusal(message: str, limit: int, **counts: int) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "LIMIT_EXCEEDED", "limit": limit, **counts})


class CostLimits(SchemaExtension):
    """Refuses, before execution, oversized variables and operations that ask for more
    than ``max_nodes`` objects or ``max_result_fields`` fields."""

    def __init__(self, settings: GraphQLSettings) -> None:
        self.max_nodes = settings.max_nodes
        self.max_fields = settings.max_result_fields
        self.max_variables = VARIABLE_VALUES_PER_FILTER_VALUE * settings.max_filter_values

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        values = variable_values(context.variables, self.max_variables)
        if values > self.max_variables:
            raise _refusal(
                f"The variables hold more than {self.max_variables} values (list items and "
                "object fields); send smaller filters, or split the request.",
                self.max_variables,
            )
        if context.graphql_document is not None:
            cost = query_cost(
                context.schema._schema,
                context.graphql_document,
                context.operation_name,
                context.variables,
            )
            if cost.nodes > self.max_nodes:
                raise _refusal(
                    f"The query asks for {_saying(cost.nodes)} objects (page sizes multiplied "
                    f"along nested lists, summed); at most {self.max_nodes} are allowed. Ask "
                    "for smaller pages, or fetch nested lists in separate queries.",
                    self.max_nodes,
                    nodes=cost.nodes,
                )
            if cost.fields > self.max_fields:
                raise _refusal(
                    f"The result would hold up to {_saying(cost.fields)} fields (each selected "
                    f"field once per object); at most {self.max_fields} are allowed. Select "
                    "fewer fields, or ask for smaller pages.",
                    self.max_fields,
                    fields=cost.fields,
                )
        yield
