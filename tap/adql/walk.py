"""Iterating over a syntax tree (without recursion, so any tree depth is safe)."""

from __future__ import annotations

from collections.abc import Iterator

from tap.adql import nodes


def children(node: nodes.Node) -> Iterator[nodes.Node]:  # noqa: PLR0912, PLR0915
    if isinstance(node, nodes.Query):
        for _, query in node.with_:
            yield query
        yield node.body
        for order in node.order_by:
            yield order.expr
    elif isinstance(node, nodes.Select):
        for item in node.items:
            if isinstance(item, nodes.SelectItem):
                yield item.expr
        yield from node.from_
        if node.where is not None:
            yield node.where
        yield from node.group_by
        if node.having is not None:
            yield node.having
    elif isinstance(node, nodes.SetOp):
        yield node.left
        yield node.right
    elif isinstance(node, nodes.DerivedTable):
        yield node.query
    elif isinstance(node, nodes.Join):
        yield node.left
        yield node.right
        if node.on is not None:
            yield node.on
    elif isinstance(node, nodes.Func):
        yield from node.args
    elif isinstance(node, nodes.Chain):
        yield node.first
        for _, operand in node.rest:
            yield operand
    elif isinstance(node, nodes.Paren | nodes.Cast):
        yield node.expr
    elif isinstance(node, nodes.Unary):
        yield node.operand
    elif isinstance(node, nodes.Compare):
        yield node.left
        yield node.right
    elif isinstance(node, nodes.Between):
        yield from (node.expr, node.low, node.high)
    elif isinstance(node, nodes.InList):
        yield node.expr
        yield from node.items
    elif isinstance(node, nodes.InQuery):
        yield node.expr
        yield node.query
    elif isinstance(node, nodes.Like):
        yield node.expr
        yield node.pattern
    elif isinstance(node, nodes.IsNull):
        yield node.expr
    elif isinstance(node, nodes.Exists):
        yield node.query
    elif isinstance(node, nodes.BoolOp):
        yield from node.items
    elif isinstance(node, nodes.Not):
        yield node.cond


def walk(node: nodes.Node) -> Iterator[nodes.Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(children(current))))


def function_calls(node: nodes.Node) -> Iterator[nodes.Func]:
    return (n for n in walk(node) if isinstance(n, nodes.Func))
