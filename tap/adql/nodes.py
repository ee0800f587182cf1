"""The ADQL syntax tree that :func:`tap.adql.parse` returns.

Plain slotted classes (parsing is on the hot path of every TAP request). Every node keeps
``pos``, the character offset where it starts, so later stages can point at the query text.
Chains of one precedence level (``a + b - c``, ``x AND y AND z``) are flat lists, so the
tree's depth grows only with parentheses, function calls and subqueries — which the parser
bounds.
"""

from __future__ import annotations


class Node:
    __slots__ = ("pos",)
    pos: int


class Ident(Node):
    """An identifier: ``text`` as written (undelimited), ``delimited`` if it was quoted."""

    __slots__ = ("delimited", "text")

    def __init__(self, text: str, delimited: bool, pos: int) -> None:
        self.text = text
        self.delimited = delimited
        self.pos = pos

    def __repr__(self) -> str:
        return f'"{self.text}"' if self.delimited else self.text


# -- value expressions -------------------------------------------------------------------


class Expr(Node):
    __slots__ = ()


class Literal(Expr):
    """``kind``: int, float, string or null; ``value`` is the parsed Python value."""

    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value: int | float | str | None, pos: int) -> None:
        self.kind = kind
        self.value = value
        self.pos = pos


class ColumnRef(Expr):
    """``[[[catalog.]schema.]table.]column``."""

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[Ident, ...], pos: int) -> None:
        self.parts = parts
        self.pos = pos


class Unary(Expr):
    __slots__ = ("op", "operand")

    def __init__(self, op: str, operand: Expr, pos: int) -> None:
        self.op = op
        self.operand = operand
        self.pos = pos


class Chain(Expr):
    """``first op1 e1 op2 e2 …`` for one precedence level (``+ -``, ``* /`` or ``||``)."""

    __slots__ = ("first", "rest")

    def __init__(self, first: Expr, rest: list[tuple[str, Expr]], pos: int) -> None:
        self.first = first
        self.rest = rest
        self.pos = pos


class Func(Expr):
    """A function call; ``name`` upper-cased. ``star`` for COUNT(*)."""

    __slots__ = ("args", "distinct", "name", "star")

    def __init__(
        self, name: str, args: list[Expr], pos: int, *, distinct: bool = False, star: bool = False
    ) -> None:
        self.name = name
        self.args = args
        self.pos = pos
        self.distinct = distinct
        self.star = star


class Cast(Expr):
    """``CAST(expr AS type[(length)])``; ``target`` upper-cased (``DOUBLE PRECISION``)."""

    __slots__ = ("expr", "length", "target")

    def __init__(self, expr: Expr, target: str, length: int | None, pos: int) -> None:
        self.expr = expr
        self.target = target
        self.length = length
        self.pos = pos


class Paren(Expr):
    __slots__ = ("expr",)

    def __init__(self, expr: Expr, pos: int) -> None:
        self.expr = expr
        self.pos = pos


# -- search conditions -------------------------------------------------------------------


class Cond(Node):
    __slots__ = ()


class Compare(Cond):
    __slots__ = ("left", "op", "right")

    def __init__(self, left: Expr, op: str, right: Expr, pos: int) -> None:
        self.left = left
        self.op = op
        self.right = right
        self.pos = pos


class Between(Cond):
    __slots__ = ("expr", "high", "low", "negated")

    def __init__(self, expr: Expr, low: Expr, high: Expr, negated: bool, pos: int) -> None:
        self.expr = expr
        self.low = low
        self.high = high
        self.negated = negated
        self.pos = pos


class InList(Cond):
    __slots__ = ("expr", "items", "negated")

    def __init__(self, expr: Expr, items: list[Expr], negated: bool, pos: int) -> None:
        self.expr = expr
        self.items = items
        self.negated = negated
        self.pos = pos


class InQuery(Cond):
    __slots__ = ("expr", "negated", "query")

    def __init__(self, expr: Expr, query: Query, negated: bool, pos: int) -> None:
        self.expr = expr
        self.query = query
        self.negated = negated
        self.pos = pos


class Like(Cond):
    __slots__ = ("expr", "ilike", "negated", "pattern")

    def __init__(self, expr: Expr, pattern: Expr, negated: bool, ilike: bool, pos: int) -> None:
        self.expr = expr
        self.pattern = pattern
        self.negated = negated
        self.ilike = ilike
        self.pos = pos


class IsNull(Cond):
    __slots__ = ("expr", "negated")

    def __init__(self, expr: Expr, negated: bool, pos: int) -> None:
        self.expr = expr
        self.negated = negated
        self.pos = pos


class Exists(Cond):
    __slots__ = ("query",)

    def __init__(self, query: Query, pos: int) -> None:
        self.query = query
        self.pos = pos


class BoolOp(Cond):
    """``op`` is AND or OR over two or more ``items``."""

    __slots__ = ("items", "op")

    def __init__(self, op: str, items: list[Cond], pos: int) -> None:
        self.op = op
        self.items = items
        self.pos = pos


class Not(Cond):
    __slots__ = ("cond",)

    def __init__(self, cond: Cond, pos: int) -> None:
        self.cond = cond
        self.pos = pos


# -- FROM clause ---------------------------------------------------------------------------


class FromItem(Node):
    __slots__ = ()


class TableRef(FromItem):
    __slots__ = ("alias", "parts")

    def __init__(self, parts: tuple[Ident, ...], alias: Ident | None, pos: int) -> None:
        self.parts = parts
        self.alias = alias
        self.pos = pos


class DerivedTable(FromItem):
    __slots__ = ("alias", "query")

    def __init__(self, query: Query, alias: Ident, pos: int) -> None:
        self.query = query
        self.alias = alias
        self.pos = pos


class Join(FromItem):
    """``kind``: INNER, LEFT, RIGHT or FULL; ``on`` or ``using`` unless ``natural``."""

    __slots__ = ("kind", "left", "natural", "on", "right", "using")

    def __init__(  # noqa: PLR0917 - built by the parser only
        self,
        left: FromItem,
        right: FromItem,
        kind: str,
        natural: bool,
        on: Cond | None,
        using: list[Ident] | None,
        pos: int,
    ) -> None:
        self.left = left
        self.right = right
        self.kind = kind
        self.natural = natural
        self.on = on
        self.using = using
        self.pos = pos


# -- queries -------------------------------------------------------------------------------


class SelectItem(Node):
    __slots__ = ("alias", "expr")

    def __init__(self, expr: Expr, alias: Ident | None, pos: int) -> None:
        self.expr = expr
        self.alias = alias
        self.pos = pos


class Star(Node):
    """``*`` or ``qualifier.*`` in a select list."""

    __slots__ = ("qualifier",)

    def __init__(self, qualifier: tuple[Ident, ...] | None, pos: int) -> None:
        self.qualifier = qualifier
        self.pos = pos


class Select(Node):
    __slots__ = ("distinct", "from_", "group_by", "having", "items", "top", "where")

    def __init__(  # noqa: PLR0917 - built by the parser only
        self,
        distinct: bool,
        top: int | None,
        items: list[SelectItem | Star],
        from_: list[FromItem],
        where: Cond | None,
        group_by: list[Expr],
        having: Cond | None,
        pos: int,
    ) -> None:
        self.distinct = distinct
        self.top = top
        self.items = items
        self.from_ = from_
        self.where = where
        self.group_by = group_by
        self.having = having
        self.pos = pos


class SetOp(Node):
    """``left UNION|EXCEPT|INTERSECT [ALL] right``."""

    __slots__ = ("all", "left", "op", "right")

    def __init__(self, op: str, all_: bool, left: Body, right: Body, pos: int) -> None:
        self.op = op
        self.all = all_
        self.left = left
        self.right = right
        self.pos = pos


class OrderItem(Node):
    __slots__ = ("desc", "expr")

    def __init__(self, expr: Expr, desc: bool, pos: int) -> None:
        self.expr = expr
        self.desc = desc
        self.pos = pos


class Query(Node):
    """A select expression: ``[WITH …] body [ORDER BY …] [OFFSET n]``."""

    __slots__ = ("body", "offset", "order_by", "with_")

    def __init__(
        self,
        with_: list[tuple[Ident, Query]],
        body: Body,
        order_by: list[OrderItem],
        offset: int | None,
        pos: int,
    ) -> None:
        self.with_ = with_
        self.body = body
        self.order_by = order_by
        self.offset = offset
        self.pos = pos


Body = Select | SetOp | Query
