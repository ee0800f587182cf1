"""A recursive-descent parser for ADQL 2.1, written from the IVOA grammar (``adql.bnf``).

Strict where the grammar is: one statement (a trailing ``;`` is tolerated), WITH only at the
top, a derived table needs a correlation name, a join needs ON/USING unless NATURAL,
predicates are comparisons/BETWEEN/IN/LIKE/IS NULL/EXISTS (a bare value is not a condition),
TOP and OFFSET take unsigned integers, reserved words are not names.
"""

from __future__ import annotations

from tap.adql.expressions import ExpressionParser
from tap.adql.lexer import Token, tokenize
from tap.adql.nodes import (
    Between,
    Body,
    BoolOp,
    Compare,
    Cond,
    DerivedTable,
    Exists,
    Expr,
    FromItem,
    Ident,
    InList,
    InQuery,
    IsNull,
    Join,
    Like,
    Not,
    OrderItem,
    Query,
    Select,
    SelectItem,
    SetOp,
    Star,
    TableRef,
)
from tap.adql.words import RESERVED
from tap.errors import AdqlSyntaxError

_COMPARISONS = frozenset(["=", "<>", "!=", "<", ">", "<=", ">="])
_VALUE_FOLLOWERS = frozenset(["=", "<>", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "||"])


class Parser(ExpressionParser):
    closing: dict[int, int]

    # -- statements ------------------------------------------------------------------------
    def statement(self) -> Query:
        query = self.query(allow_with=True)
        if self.take_op(";") and self.tok.kind != "end":
            raise self.fail_at(
                self.tok.pos, "only one statement is allowed; remove what follows ';'"
            )
        if self.tok.kind != "end":
            if self.at_op(")"):
                raise self.error("unbalanced parenthesis: expected the end of the query")
            raise self.error("expected the end of the query (or a clause in its proper order)")
        return query

    def query(self, *, allow_with: bool) -> Query:
        """select_expression: [WITH …] set expression [ORDER BY …] [OFFSET n]."""
        pos = self.tok.pos
        with_: list[tuple[Ident, Query]] = []
        if self.at_keyword("WITH"):
            if not allow_with:
                raise self.fail_at(pos, "WITH is only allowed at the start of the whole query")
            self.i += 1
            while True:
                name = self.identifier("a common table expression name")
                self.expect_keyword("AS")
                self.expect_op("(", "'(' before the common table expression")
                self.enter()
                with_.append((name, self.query(allow_with=False)))
                self.expect_op(")", "')' to close the common table expression")
                self.depth -= 1
                if not self.take_op(","):
                    break
        body = self.set_expression()
        order_by: list[OrderItem] = []
        if self.at_keyword("ORDER"):
            self.i += 1
            self.expect_keyword("BY")
            order_by.append(self.order_item())
            while self.take_op(","):
                order_by.append(self.order_item())
        offset = None
        if self.take_keyword("OFFSET"):
            offset = self.unsigned_integer("the OFFSET")
        return Query(with_, body, order_by, offset, pos)

    def set_expression(self) -> Body:
        left = self.set_term()
        while self.at_keyword("UNION", "EXCEPT"):
            tok = self.tok
            self.i += 1
            all_ = self.take_keyword("ALL")
            left = SetOp(tok.upper, all_, left, self.set_term(), tok.pos)
        return left

    def set_term(self) -> Body:
        left = self.set_primary()
        while self.at_keyword("INTERSECT"):
            tok = self.tok
            self.i += 1
            all_ = self.take_keyword("ALL")
            left = SetOp("INTERSECT", all_, left, self.set_primary(), tok.pos)
        return left

    def set_primary(self) -> Body:
        if self.at_op("("):
            self.i += 1
            self.enter()
            if self.at_keyword("WITH"):
                raise self.fail_at(
                    self.tok.pos, "WITH is only allowed at the start of the whole query"
                )
            inner = self.query(allow_with=False)
            self.expect_op(")", "')' to close the parenthesised query")
            self.depth -= 1
            return inner
        if not self.at_keyword("SELECT"):
            raise self.error("expected SELECT")
        return self.select()

    def order_item(self) -> OrderItem:
        pos = self.tok.pos
        expr = self.value_expression()
        desc = False
        if self.take_keyword("DESC"):
            desc = True
        else:
            self.take_keyword("ASC")
        return OrderItem(expr, desc, pos)

    # -- SELECT ----------------------------------------------------------------------------
    def select(self) -> Select:
        pos = self.expect_keyword("SELECT").pos
        distinct = False
        if self.take_keyword("DISTINCT"):
            distinct = True
        else:
            self.take_keyword("ALL")
        top = None
        if self.take_keyword("TOP"):
            if self.at_op("-"):
                raise self.error("expected a non-negative integer after TOP")
            top = self.unsigned_integer("the TOP value")
        items = [self.select_item()]
        while self.take_op(","):
            items.append(self.select_item())
        if not self.at_keyword("FROM"):
            if self.tok.kind == "end":
                raise self.error("expected FROM (ADQL queries need a FROM clause)")
            raise self.error("expected ',' or FROM after the select list")
        self.i += 1
        from_ = [self.table_reference()]
        while self.take_op(","):
            from_.append(self.table_reference())
        where = self.search_condition() if self.take_keyword("WHERE") else None
        group_by: list[Expr] = []
        if self.at_keyword("GROUP"):
            self.i += 1
            self.expect_keyword("BY")
            group_by.append(self.value_expression())
            while self.take_op(","):
                group_by.append(self.value_expression())
        having = self.search_condition() if self.take_keyword("HAVING") else None
        return Select(distinct, top, items, from_, where, group_by, having, pos)

    def select_item(self) -> SelectItem | Star:
        tok = self.tok
        if tok.kind == "op" and tok.value == "*":
            self.i += 1
            return Star(None, tok.pos)
        if tok.kind == "end" or tok.upper == "FROM":
            raise self.error("expected a select list item")
        if tok.kind in ("ident", "quoted") and self._qualified_star_ahead():
            parts: list[Ident] = [self.identifier("a table name")]
            while self.take_op("."):
                if self.take_op("*"):
                    return Star(tuple(parts), tok.pos)
                parts.append(self.identifier("a table name"))
        expr = self.value_expression()
        return SelectItem(expr, self.alias("a column alias"), tok.pos)

    def _qualified_star_ahead(self) -> bool:
        j = self.i
        tokens = self.tokens
        while tokens[j].kind in ("ident", "quoted") and tokens[j + 1].value == ".":
            if tokens[j + 2].kind == "op" and tokens[j + 2].value == "*":
                return True
            j += 2
        return False

    def alias(self, what: str) -> Ident | None:
        if self.take_keyword("AS"):
            return self.identifier(what)
        tok = self.tok
        if tok.kind == "quoted" or (tok.kind == "ident" and tok.upper not in RESERVED):
            return self.identifier(what)
        return None

    # -- FROM ------------------------------------------------------------------------------
    def table_reference(self) -> FromItem:
        left = self.table_primary()
        while True:
            tok = self.tok
            start = self.i
            natural = self.take_keyword("NATURAL")
            kind = "INNER"
            if self.take_keyword("INNER"):
                pass
            elif self.at_keyword("LEFT", "RIGHT", "FULL"):
                kind = self.tok.upper
                self.i += 1
                self.take_keyword("OUTER")
            if not self.at_keyword("JOIN"):
                if self.i != start:
                    raise self.error("expected JOIN")
                return left
            self.i += 1
            right = self.table_primary()
            on = None
            using: list[Ident] | None = None
            if self.take_keyword("ON"):
                if natural:
                    raise self.fail_at(
                        self.tokens[self.i - 1].pos, "a NATURAL join takes no ON condition"
                    )
                on = self.search_condition()
            elif self.take_keyword("USING"):
                if natural:
                    raise self.fail_at(
                        self.tokens[self.i - 1].pos, "a NATURAL join takes no USING list"
                    )
                self.expect_op("(", "'(' after USING")
                using = [self.identifier("a column name")]
                while self.take_op(","):
                    using.append(self.identifier("a column name"))
                self.expect_op(")", "')' to close the USING list")
            elif not natural:
                raise self.error("expected ON or USING after the joined table")
            left = Join(left, right, kind, natural, on, using, tok.pos)

    def table_primary(self) -> FromItem:
        tok = self.tok
        if tok.kind == "op" and tok.value == "(":
            return self.parenthesised_from()
        if tok.kind not in ("ident", "quoted"):
            raise self.error("expected a table name or a parenthesised subquery")
        parts = self.dotted_name("a table name")
        if len(parts) > 3:
            raise self.fail_at(tok.pos, "a table name has at most catalog.schema.table")
        return TableRef(parts, self.alias("a table alias"), tok.pos)

    def parenthesised_from(self) -> FromItem:
        """``( query ) [AS] name`` or ``( joined table )``, told apart by looking ahead."""
        pos = self.tok.pos
        is_query = self._query_in_parens(self.i)
        self.i += 1
        self.enter()
        if self.at_keyword("WITH"):
            raise self.fail_at(self.tok.pos, "WITH is only allowed at the start of the whole query")
        if is_query:
            query = self.query(allow_with=False)
            self.expect_op(")", "')' to close the subquery")
            self.depth -= 1
            alias_tok = self.tok
            alias = self.alias("a correlation name for the subquery")
            if alias is None:
                raise self.error(
                    "a subquery in FROM needs a correlation name: ( … ) AS name", alias_tok
                )
            return DerivedTable(query, alias, pos)
        joined = self.table_reference()
        if not isinstance(joined, Join):
            raise self.error("expected JOIN inside the parenthesised table reference")
        self.expect_op(")", "')' to close the joined table")
        self.depth -= 1
        return joined

    def _query_in_parens(self, i: int) -> bool:
        """Whether the parenthesis at token ``i`` opens a query (else a joined table)."""
        tokens = self.tokens
        nxt = tokens[i + 1]
        if nxt.upper in ("SELECT", "WITH"):
            return True
        if not (nxt.kind == "op" and nxt.value == "(") or self.depth > 60:
            return False
        if not self._query_in_parens(i + 1):
            return False
        close = self.closing.get(i + 1)
        if close is None:
            return True
        after = tokens[close + 1]
        return after.upper in ("UNION", "EXCEPT", "INTERSECT", "ORDER", "OFFSET") or (
            after.kind == "op" and after.value == ")"
        )

    # -- conditions ------------------------------------------------------------------------
    def search_condition(self) -> Cond:
        pos = self.tok.pos
        first = self.boolean_term()
        if not self.at_keyword("OR"):
            return first
        items = [first]
        while self.take_keyword("OR"):
            items.append(self.boolean_term())
        return BoolOp("OR", items, pos)

    def boolean_term(self) -> Cond:
        pos = self.tok.pos
        first = self.boolean_factor()
        if not self.at_keyword("AND"):
            return first
        items = [first]
        while self.take_keyword("AND"):
            items.append(self.boolean_factor())
        return BoolOp("AND", items, pos)

    def boolean_factor(self) -> Cond:
        tok = self.tok
        if self.take_keyword("NOT"):
            self.enter()
            cond = self.boolean_factor()
            self.depth -= 1
            return Not(cond, tok.pos)
        return self.boolean_primary()

    def boolean_primary(self) -> Cond:
        tok = self.tok
        if tok.upper == "EXISTS":
            self.i += 1
            return Exists(self.subquery(), tok.pos)
        if tok.kind == "op" and tok.value == "(" and self._condition_in_parens(self.i):
            self.i += 1
            self.enter()
            cond = self.search_condition()
            self.expect_op(")", "')' to close the condition")
            self.depth -= 1
            return cond
        return self.predicate()

    def _condition_in_parens(self, i: int) -> bool:
        """Whether the parenthesis at token ``i`` holds a condition (else a value)."""
        close = self.closing.get(i)
        if close is None:
            return True
        after = self.tokens[close + 1]
        if after.kind == "op":
            return after.value not in _VALUE_FOLLOWERS
        return after.upper not in ("IS", "NOT", "BETWEEN", "LIKE", "ILIKE", "IN")

    def subquery(self) -> Query:
        self.expect_op("(", "'(' before the subquery")
        self.enter()
        if self.at_keyword("WITH"):
            raise self.fail_at(self.tok.pos, "WITH is only allowed at the start of the whole query")
        query = self.query(allow_with=False)
        self.expect_op(")", "')' to close the subquery")
        self.depth -= 1
        return query

    def predicate(self) -> Cond:
        pos = self.tok.pos
        left = self.value_expression()
        tok = self.tok
        if tok.kind == "op" and tok.value in _COMPARISONS:
            self.i += 1
            return Compare(
                left, "<>" if tok.value == "!=" else tok.value, self.value_expression(), pos
            )
        if tok.upper == "IS":
            self.i += 1
            negated = self.take_keyword("NOT")
            self.expect_keyword("NULL")
            return IsNull(left, negated, pos)
        negated = self.take_keyword("NOT")
        word = self.tok.upper
        if word == "BETWEEN":
            self.i += 1
            low = self.value_expression()
            self.expect_keyword("AND")
            return Between(left, low, self.value_expression(), negated, pos)
        if word in ("LIKE", "ILIKE"):
            self.i += 1
            return Like(left, self.value_expression(), negated, word == "ILIKE", pos)
        if word == "IN":
            self.i += 1
            nxt = self.peek()
            if self.at_op("(") and nxt.upper in ("SELECT", "WITH"):
                return InQuery(left, self.subquery(), negated, pos)
            self.expect_op("(", "'(' after IN")
            self.enter()
            items = [self.value_expression()]
            while self.take_op(","):
                items.append(self.value_expression())
            self.expect_op(")", "',' or ')' in the IN list")
            self.depth -= 1
            return InList(left, items, negated, pos)
        if negated:
            raise self.error("expected BETWEEN, LIKE, ILIKE or IN after NOT")
        raise self.error(
            "expected a comparison (=, <>, <, >, <=, >=), BETWEEN, IN, LIKE, ILIKE or IS NULL "
            "(a value alone is not a condition)"
        )


def _closing_parentheses(tokens: list[Token]) -> dict[int, int]:
    """Index of each '(' token -> index of its matching ')' (unmatched ones are left out)."""
    closing: dict[int, int] = {}
    stack: list[int] = []
    for index, tok in enumerate(tokens):
        if tok.kind == "op":
            if tok.value == "(":
                stack.append(index)
            elif tok.value == ")" and stack:
                closing[stack.pop()] = index
    return closing


def parse(text: str) -> Query:
    """The syntax tree of one ADQL query; :class:`~tap.errors.AdqlSyntaxError` if invalid."""
    tokens = tokenize(text)
    parser = Parser(text, tokens)
    parser.closing = _closing_parentheses(tokens)
    try:
        return parser.statement()
    except RecursionError:
        raise AdqlSyntaxError("the query is nested too deeply; simplify it", 1, 1) from None
