"""ADQL query -> one PostgreSQL SELECT, with the metadata of every result column.

Every FROM item gets a generated alias (``t1``, ``t2``…) and every common table expression a
generated name (``cte1``…), so no user text becomes an SQL identifier except the result
column labels, which are always double-quoted. ``SELECT *`` and ``t.*`` are expanded from the
metadata. The outermost select list turns geometries into DALI arrays (:func:`to_output`).
TOP becomes LIMIT (with the service's ``row_limit``), OFFSET stays OFFSET.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tap.adql import geometry
from tap.adql.expression_sql import ExpressionTranslator
from tap.adql.functions import UDFS, Udf
from tap.adql.nodes import (
    ColumnRef,
    DerivedTable,
    Expr,
    FromItem,
    Func,
    Ident,
    Join,
    Literal,
    Query,
    Select,
    SelectItem,
    SetOp,
    Star,
    TableRef,
)
from tap.adql.parser import parse
from tap.adql.scope import (
    Scope,
    ScopeColumn,
    Source,
    find_table,
    name_matches,
    quote,
    sql_column_name,
    sql_relation,
    suggestion,
    unquoted,
)
from tap.adql.values import Value, column_kind, output_column
from tap.adql.walk import function_calls
from tap.adql.words import BUILTIN_ARITY
from tap.errors import AdqlError
from tap.metadata import Column, Table, TapMetadata


@dataclass(frozen=True)
class Translation:
    """One PostgreSQL statement and what its result columns are."""

    sql: str
    columns: tuple[Column, ...]
    top: int | None
    tables: tuple[Table, ...] = ()  # the published tables the query reads


Outputs = list[tuple[str, Value]]
_TWIN = "__geometry"  # suffix of the hidden pg_sphere twin of a REGION column in a subquery
_BOUND = "__bound"  # suffix of the hidden bounding circle of a region column in a subquery


def _unique(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for name in names:
        candidate, n = name, 1
        while candidate.lower() in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate.lower())
        out.append(candidate)
    return out


def _default_name(expr: Expr) -> str:
    if isinstance(expr, Func):
        return expr.name.lower()
    return "expr"


class QueryTranslator(ExpressionTranslator):
    def __init__(self, metadata: TapMetadata, udfs: Mapping[str, Udf]) -> None:
        super().__init__(udfs)
        self.metadata = metadata
        self.aliases = 0
        self.tables: list[Table] = []

    def _alias(self, prefix: str = "t") -> str:
        self.aliases += 1
        return f"{prefix}{self.aliases}"

    # -- queries ---------------------------------------------------------------------------
    def query(
        self,
        query: Query,
        parent: Scope | None,
        ctes: dict[str, tuple[str, list[ScopeColumn]]],
        *,
        main: bool = False,
        row_limit: int | None = None,
        twins: bool = True,
    ) -> tuple[str, Outputs]:
        ctes = dict(ctes)
        with_sql = []
        for name, cte_query in query.with_:
            key = name.text if name.delimited else name.text.lower()
            sql, outputs = self.query(cte_query, None, ctes)
            cte_name = self._alias("cte")
            columns = [ScopeColumn(n, v) for n, v in outputs]
            ctes[key] = (cte_name, columns)
            with_sql.append(f"{quote(cte_name)} AS ({sql})")
        body = query.body
        limit = row_limit
        if isinstance(body, Select):
            scope = Scope(parent, ctes)
            sql, outputs = self.select(
                body, scope, main=main, order_by=query, twins=twins and not main
            )
            if body.top is not None:
                limit = body.top if limit is None else min(body.top, limit)
        else:
            sql, outputs = self.body(body, parent, ctes, main=main)
            if query.order_by:
                sql += " ORDER BY " + self.output_order(query, outputs)
        if limit is not None:
            sql += f" LIMIT {limit}"
        if query.offset is not None:
            sql += f" OFFSET {query.offset}"
        if with_sql:
            sql = "WITH " + ", ".join(with_sql) + " " + sql
        return sql, outputs

    def body(
        self,
        body: Select | SetOp | Query,
        parent: Scope | None,
        ctes: dict[str, tuple[str, list[ScopeColumn]]],
        *,
        main: bool,
    ) -> tuple[str, Outputs]:
        if isinstance(body, Query):
            sql, outputs = self.query(body, parent, ctes, main=main, twins=False)
            return f"({sql})", outputs
        if isinstance(body, Select):
            sql, outputs = self.query(
                Query([], body, [], None, body.pos), parent, ctes, main=main, twins=False
            )
            return f"({sql})", outputs
        left_sql, left = self.body(body.left, parent, ctes, main=main)
        right_sql, right = self.body(body.right, parent, ctes, main=main)
        if len(left) != len(right):
            raise AdqlError(
                f"the queries joined by {body.op} return {len(left)} and "
                f"{len(right)} columns; they must return the same number"
            )
        op = body.op + (" ALL" if body.all else "")
        return f"{left_sql} {op} {right_sql}", left

    def output_order(self, query: Query, outputs: Outputs) -> str:
        terms = []
        for item in query.order_by:
            sql = self._output_reference(item.expr, outputs)
            if sql is None:
                raise AdqlError(
                    "ORDER BY after UNION, EXCEPT or INTERSECT can only name result "
                    "columns (by name or position)"
                )
            terms.append(sql + (" DESC" if item.desc else ""))
        return ", ".join(terms)

    @staticmethod
    def _output_reference(expr: Expr, outputs: Outputs) -> str | None:
        if isinstance(expr, Literal) and expr.kind == "int":
            assert isinstance(expr.value, int)
            if not 1 <= expr.value <= len(outputs):
                raise AdqlError(f"ORDER BY {expr.value}: the query has {len(outputs)} columns")
            return str(expr.value)
        if isinstance(expr, ColumnRef) and len(expr.parts) == 1:
            matches = [n for n, _ in outputs if name_matches(expr.parts[0], n)]
            if len(matches) == 1:
                return quote(matches[0])
        return None

    def subquery(self, query: Query, scope: Scope, *, single_column: bool) -> str:
        # No hidden twin or bound columns: nothing outside reads this query's columns by name
        # (and IN compares whole rows).
        sql, outputs = self.query(query, scope, scope.ctes, twins=False)
        if single_column and len(outputs) != 1:
            raise AdqlError(f"the subquery of IN must return one column, not {len(outputs)}")
        return f"({sql})"

    # -- SELECT ----------------------------------------------------------------------------
    def select(  # noqa: PLR0912
        self, node: Select, scope: Scope, *, main: bool, order_by: Query, twins: bool
    ) -> tuple[str, Outputs]:
        from_parts = [self.from_item(item, scope) for item in node.from_]
        from_sql = [sql for sql, _ in from_parts]
        stars = [columns for _, columns in from_parts]
        names: list[str] = []
        values: list[Value] = []
        for item in node.items:
            if isinstance(item, Star):
                if item.qualifier is None:
                    columns = [c for group in stars for c in group]
                else:
                    columns = scope.find_source(item.qualifier).columns
                for column in columns:
                    names.append(column.name)
                    values.append(column.value)
            else:
                value = self.value(item.expr, scope)
                names.append(self._item_name(item, value))
                values.append(value)
        names = _unique(names)
        outputs = list(zip(names, values, strict=True))
        select_sql = ", ".join(
            f"{geometry.to_output(v) if main else v.sql} AS {quote(n)}" for n, v in outputs
        )
        if twins and not node.group_by and not node.distinct:
            # REGION text columns keep their pg_sphere twin for the enclosing query
            select_sql += "".join(
                f", {v.geometry} AS {quote(n + _TWIN)}"
                for n, v in outputs
                if v.kind == "region" and v.geometry is not None
            )
            select_sql += "".join(
                f", {v.bound} AS {quote(n + _BOUND)}" for n, v in outputs if v.bound is not None
            )
        elif not main:
            outputs = [(n, Value(v.sql, v.kind, v.unit, v.column)) for n, v in outputs]
        parts = [
            "SELECT",
            "DISTINCT" if node.distinct else "",
            select_sql,
            "FROM",
            ", ".join(from_sql),
        ]
        if node.where is not None:
            parts += ["WHERE", self.condition(node.where, scope)]
        if node.group_by:
            parts += [
                "GROUP BY",
                ", ".join(self.grouping(e, scope, outputs) for e in node.group_by),
            ]
        if node.having is not None:
            parts += ["HAVING", self.condition(node.having, scope)]
        if order_by.order_by:
            terms = []
            for order in order_by.order_by:
                sql = self.grouping(order.expr, scope, outputs, prefer_output=True)
                terms.append(sql + (" DESC" if order.desc else ""))
            parts += ["ORDER BY", ", ".join(terms)]
        return " ".join(p for p in parts if p), outputs

    @staticmethod
    def _item_name(item: SelectItem, value: Value) -> str:
        if item.alias is not None:
            return item.alias.text
        if isinstance(item.expr, ColumnRef):
            if value.column is not None:
                return unquoted(value.column.name)[0]
            return item.expr.parts[-1].text
        return _default_name(item.expr)

    def grouping(
        self, expr: Expr, scope: Scope, outputs: Outputs, *, prefer_output: bool = False
    ) -> str:
        """A GROUP BY / ORDER BY term: a position, a result column name, or an expression."""
        if isinstance(expr, Literal) and expr.kind == "int":
            reference = self._output_reference(expr, outputs)
            assert reference is not None
            return reference
        if prefer_output:
            reference = self._output_reference(expr, outputs)
            if reference is not None:
                return reference
        try:
            return self.value(expr, scope).sql
        except AdqlError:
            reference = self._output_reference(expr, outputs)
            if reference is None:
                raise
            return reference

    # -- FROM ------------------------------------------------------------------------------
    def from_item(self, item: FromItem, scope: Scope) -> tuple[str, list[ScopeColumn]]:
        """SQL of one FROM item; registers its sources in ``scope``; returns its columns."""
        if isinstance(item, TableRef):
            return self.table(item, scope)
        if isinstance(item, DerivedTable):
            sql, outputs = self.query(item.query, scope.parent, scope.ctes)
            alias = self._alias()
            columns = [ScopeColumn(n, self._qualified(alias, n, v)) for n, v in outputs]
            scope.sources.append(Source([(item.alias.text,)], alias, columns))
            return f"({sql}) AS {quote(alias)}", columns
        assert isinstance(item, Join)
        return self.join(item, scope)

    @staticmethod
    def _qualified(alias: str, name: str, value: Value) -> Value:
        twin = bound = None
        if value.kind == "region" and value.geometry is not None:
            twin = f"{quote(alias)}.{quote(name + _TWIN)}"
        if value.bound is not None:
            bound = f"{quote(alias)}.{quote(name + _BOUND)}"
        return Value(
            f"{quote(alias)}.{quote(name)}", value.kind, value.unit, value.column, twin, bound=bound
        )

    def table(self, item: TableRef, scope: Scope) -> tuple[str, list[ScopeColumn]]:
        alias = self._alias()
        names: list[tuple[str, ...]]
        if len(item.parts) == 1:
            key = item.parts[0].text if item.parts[0].delimited else item.parts[0].text.lower()
            cte = scope.ctes.get(key)
            if cte is not None:
                cte_name, cte_columns = cte
                columns = [
                    ScopeColumn(c.name, self._qualified(alias, c.name, c.value))
                    for c in cte_columns
                ]
                names = [(item.alias.text,)] if item.alias else [(item.parts[0].text,)]
                scope.sources.append(Source(names, alias, columns))
                return f"{quote(cte_name)} AS {quote(alias)}", columns
        table = find_table(self.metadata, item.parts)
        if table not in self.tables:
            self.tables.append(table)
        columns = []
        for column in table.columns:
            sql = f"{quote(alias)}.{quote(sql_column_name(column))}"
            twin = f"{quote(alias)}.{quote(column.sql_geometry)}" if column.sql_geometry else None
            bound = f"{quote(alias)}.{quote(column.sql_bound)}" if column.sql_bound else None
            columns.append(
                ScopeColumn(
                    unquoted(column.name)[0],
                    Value(sql, column_kind(column), column.unit, column, twin, bound=bound),
                )
            )
        if item.alias is not None:
            names = [(item.alias.text,)]
        else:
            names = [(table.name,), (table.schema, table.name)]
        scope.sources.append(Source(names, alias, columns, table))
        return f"{sql_relation(table)} AS {quote(alias)}", columns

    def join(self, item: Join, scope: Scope) -> tuple[str, list[ScopeColumn]]:
        left_sql, left = self.from_item(item.left, scope)
        right_sql, right = self.from_item(item.right, scope)
        keyword = {
            "INNER": "JOIN",
            "LEFT": "LEFT JOIN",
            "RIGHT": "RIGHT JOIN",
            "FULL": "FULL JOIN",
        }[item.kind]
        if item.on is not None:
            return (
                f"({left_sql} {keyword} {right_sql} ON {self.condition(item.on, scope)})",
                left + right,
            )
        if item.using is not None:
            names = list(item.using)
        else:  # NATURAL: the columns both sides have
            right_names = {c.name.lower() for c in right}
            names = [Ident(c.name, True, item.pos) for c in left if c.name.lower() in right_names]
        merged: list[ScopeColumn] = []
        conditions = []
        for ident in names:
            lefts = [c for c in left if name_matches(ident, c.name)]
            rights = [c for c in right if name_matches(ident, c.name)]
            if len(lefts) != 1 or len(rights) != 1:
                side = "left" if len(lefts) != 1 else "right"
                raise AdqlError(
                    f"the join column {ident!r} must occur exactly once on the {side} "
                    "side of the join"
                )
            lc, rc = lefts[0], rights[0]
            conditions.append(f"{lc.value.sql} = {rc.value.sql}")
            if item.kind == "FULL":
                sql = f"coalesce({lc.value.sql}, {rc.value.sql})"
            else:
                sql = (rc if item.kind == "RIGHT" else lc).value.sql
            source = lc if item.kind != "RIGHT" else rc
            merged.append(
                ScopeColumn(
                    lc.name, Value(sql, source.value.kind, source.value.unit, source.value.column)
                )
            )
            scope.hidden.update((id(lc), id(rc)))
        scope.merged.extend(merged)
        on = " AND ".join(conditions) if conditions else "TRUE"
        hidden = scope.hidden
        columns = merged + [c for c in left + right if id(c) not in hidden]
        return f"({left_sql} {keyword} {right_sql} ON {on})", columns


def check_functions(tree: Query, udfs: Mapping[str, Udf] = UDFS) -> None:
    """AdqlError for a call of a function that is neither ADQL's nor a declared UDF."""
    for call in function_calls(tree):
        if call.name not in BUILTIN_ARITY and call.name not in udfs:
            known = [u.name.lower() for u in udfs.values()]
            raise AdqlError(
                f"unknown function {call.name.lower()}(): it is not an ADQL function "
                "nor one this service declares" + suggestion(call.name.lower(), known)
            )


def translate(
    text: str,
    metadata: TapMetadata,
    *,
    row_limit: int | None = None,
    udfs: Mapping[str, Udf] = UDFS,
) -> Translation:
    """Translate one ADQL query against the published tables in ``metadata``."""
    tree = parse(text)
    translator = QueryTranslator(metadata, udfs)
    try:
        sql, outputs = translator.query(tree, None, {}, main=True, row_limit=row_limit)
    except RecursionError:
        raise AdqlError("the query is nested too deeply; simplify it") from None
    columns = tuple(output_column(name, value) for name, value in outputs)
    top = tree.body.top if isinstance(tree.body, Select) else None
    return Translation(sql, columns, top, tuple(translator.tables))
