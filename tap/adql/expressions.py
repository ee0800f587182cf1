"""Parsing value expressions: literals, column references, operators and function calls.

The argument rules of ADQL's geometry constructors (``POINT([sys,] x, y)``,
``CIRCLE([sys,] centre, r)``, ``POLYGON`` of coordinate pairs or of points…) are checked here,
on the shape of the arguments, as the grammar states them.
"""

from __future__ import annotations

import math

from tap.adql.lexer import Token, syntax_error
from tap.adql.nodes import Cast, Chain, ColumnRef, Expr, Func, Ident, Literal, Paren, Unary
from tap.adql.words import BUILTIN_ARITY, CAST_TARGETS, RESERVED
from tap.errors import AdqlSyntaxError

MAX_DEPTH = 40  # nesting of parentheses, function calls and subqueries
MAX_NUMBER_LENGTH = 60
_INT64 = 2**63 - 1


class Cursor:
    """The token stream and the error helpers shared by the parsers."""

    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    # -- looking and taking ----------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def at_keyword(self, *words: str) -> bool:
        return self.tokens[self.i].upper in words

    def at_op(self, *ops: str) -> bool:
        tok = self.tokens[self.i]
        return tok.kind == "op" and tok.value in ops

    def take_keyword(self, word: str) -> bool:
        if self.tokens[self.i].upper == word:
            self.i += 1
            return True
        return False

    def take_op(self, op: str) -> bool:
        tok = self.tokens[self.i]
        if tok.kind == "op" and tok.value == op:
            self.i += 1
            return True
        return False

    def expect_keyword(self, word: str) -> Token:
        tok = self.tokens[self.i]
        if tok.upper != word:
            raise self.error(f"expected {word}")
        self.i += 1
        return tok

    def expect_op(self, op: str, what: str | None = None) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "op" or tok.value != op:
            raise self.error(f"expected {what or repr(op)}")
        self.i += 1
        return tok

    def error(self, expected: str, tok: Token | None = None) -> AdqlSyntaxError:
        tok = tok or self.tok
        return syntax_error(self.text, tok.pos, f"{expected}, found {tok.describe()}")

    def fail_at(self, pos: int, message: str) -> AdqlSyntaxError:
        return syntax_error(self.text, pos, message)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail_at(
                self.tok.pos, f"the query is nested more than {MAX_DEPTH} levels deep; simplify it"
            )

    # -- names ---------------------------------------------------------------------------
    def identifier(self, what: str) -> Ident:
        tok = self.tok
        if tok.kind == "quoted":
            self.i += 1
            return Ident(tok.value, True, tok.pos)
        if tok.kind == "ident":
            if tok.upper in RESERVED:
                raise self.fail_at(
                    tok.pos,
                    f"{tok.value} is a reserved word and cannot be used as {what}; "
                    f'write it delimited ("{tok.value.lower()}") if you mean a name',
                )
            self.i += 1
            return Ident(tok.value, False, tok.pos)
        raise self.error(f"expected {what}")

    def dotted_name(self, what: str, first: Ident | None = None) -> tuple[Ident, ...]:
        parts = [first or self.identifier(what)]
        while self.at_op(".") and self.peek().kind in ("ident", "quoted"):
            self.i += 1
            parts.append(self.identifier(what))
        return tuple(parts)

    def unsigned_integer(self, what: str) -> int:
        tok = self.tok
        if tok.kind != "number" or not tok.value.isdigit():
            raise self.error(f"expected {what} (an unsigned integer)")
        if len(tok.value) > 18:
            raise self.fail_at(tok.pos, f"{what} {tok.value} is too large")
        self.i += 1
        return int(tok.value)


class ExpressionParser(Cursor):
    # -- operators -----------------------------------------------------------------------
    def value_expression(self) -> Expr:
        """``||`` binds loosest, then ``+ -``, then ``* /``, then unary signs."""
        pos = self.tok.pos
        first = self.additive()
        if not self.at_op("||"):
            return first
        rest: list[tuple[str, Expr]] = []
        while self.take_op("||"):
            rest.append(("||", self.additive()))
        return Chain(first, rest, pos)

    def additive(self) -> Expr:
        pos = self.tok.pos
        first = self.term()
        if not self.at_op("+", "-"):
            return first
        rest: list[tuple[str, Expr]] = []
        while self.at_op("+", "-"):
            op = self.tok.value
            self.i += 1
            rest.append((op, self.term()))
        return Chain(first, rest, pos)

    def term(self) -> Expr:
        pos = self.tok.pos
        first = self.factor()
        if not self.at_op("*", "/"):
            return first
        rest: list[tuple[str, Expr]] = []
        while self.at_op("*", "/"):
            op = self.tok.value
            self.i += 1
            rest.append((op, self.factor()))
        return Chain(first, rest, pos)

    def factor(self) -> Expr:
        tok = self.tok
        if tok.kind == "op" and tok.value in ("+", "-"):
            self.i += 1
            nxt = self.tok
            if nxt.kind == "op" and nxt.value in ("+", "-"):
                raise self.error("expected a value after the sign")
            if tok.value == "-" and nxt.kind == "number":
                self.i += 1
                literal = self.number(nxt)
                literal.value = -literal.value  # type: ignore[operator]
                literal.pos = tok.pos
                return literal
            return Unary(tok.value, self.primary(), tok.pos)
        return self.primary()

    # -- primaries -----------------------------------------------------------------------
    def number(self, tok: Token) -> Literal:
        text = tok.value
        if len(text) > MAX_NUMBER_LENGTH:
            raise self.fail_at(
                tok.pos, f"the number {text[:20]}… has more than {MAX_NUMBER_LENGTH} characters"
            )
        if text.isdigit():
            value = int(text)
            if value <= _INT64:
                return Literal("int", value, tok.pos)
        number = float(text)
        if math.isinf(number):
            raise self.fail_at(tok.pos, f"the number {text} is out of the double precision range")
        return Literal("float", number, tok.pos)

    def primary(self) -> Expr:  # noqa: PLR0911
        tok = self.tok
        kind = tok.kind
        if kind == "number":
            self.i += 1
            return self.number(tok)
        if kind == "string":
            self.i += 1
            return Literal("string", tok.value, tok.pos)
        if kind == "quoted":
            return ColumnRef(self.dotted_name("a column name"), tok.pos)
        if kind == "op" and tok.value == "(":
            self.i += 1
            self.enter()
            inner = self.value_expression()
            self.expect_op(")", "')' to close the parenthesis")
            self.depth -= 1
            return Paren(inner, tok.pos)
        if kind != "ident":
            raise self.error("expected a value (a column, a literal or a function call)")
        word = tok.upper
        if word == "NULL":
            self.i += 1
            return Literal("null", None, tok.pos)
        if word == "CAST":
            return self.cast()
        if word in BUILTIN_ARITY:
            nxt = self.peek()
            if nxt.kind != "op" or nxt.value != "(":
                raise self.fail_at(
                    tok.pos,
                    f"{tok.value} is a function (write {word}(…)) and a reserved word; "
                    f'write "{tok.value.lower()}" to use it as a name',
                )
            return self.builtin_call()
        if word not in RESERVED and self.peek().kind == "op" and self.peek().value == "(":
            return self.udf_call()
        return ColumnRef(self.dotted_name("a column name"), tok.pos)

    def arguments(self) -> list[Expr]:
        self.expect_op("(")
        self.enter()
        args: list[Expr] = []
        if not self.at_op(")"):
            args.append(self.value_expression())
            while self.take_op(","):
                args.append(self.value_expression())
        self.expect_op(")", "',' or ')' in the argument list")
        self.depth -= 1
        return args

    def udf_call(self) -> Func:
        tok = self.tok
        self.i += 1
        return Func(tok.value.upper(), self.arguments(), tok.pos)

    def cast(self) -> Cast:
        pos = self.tok.pos
        self.i += 1
        self.expect_op("(")
        self.enter()
        expr = self.value_expression()
        self.expect_keyword("AS")
        tok = self.tok
        target = tok.upper
        if target not in CAST_TARGETS:
            raise self.error(
                "expected a CAST type (SMALLINT, INTEGER, BIGINT, REAL, DOUBLE PRECISION, "
                "CHAR, VARCHAR, TIMESTAMP, POINT, CIRCLE or POLYGON)"
            )
        self.i += 1
        if target == "DOUBLE":
            self.expect_keyword("PRECISION")
            target = "DOUBLE PRECISION"
        length = None
        if target in ("CHAR", "VARCHAR") and self.take_op("("):
            length = self.unsigned_integer("a length")
            if length == 0:
                raise self.fail_at(self.tokens[self.i - 1].pos, "a length must be at least 1")
            self.expect_op(")")
        self.expect_op(")", "')' to close CAST")
        self.depth -= 1
        return Cast(expr, target, length, pos)

    def builtin_call(self) -> Func:
        tok = self.tok
        name = tok.upper
        self.i += 1
        if name in ("AVG", "MAX", "MIN", "SUM", "COUNT"):
            return self.aggregate(tok)
        if name in ("RAND", "ROUND", "TRUNCATE"):
            return self.integer_argument_call(tok)
        if name == "REGION":
            self.expect_op("(")
            arg = self.tok
            if arg.kind != "string":
                raise self.error("REGION takes one string literal (an STC-S region)")
            self.i += 1
            self.expect_op(")", "')': REGION takes one string literal")
            return Func(name, [Literal("string", arg.value, arg.pos)], tok.pos)
        args = self.arguments()
        low, high = BUILTIN_ARITY[name]
        if len(args) < low or (high is not None and len(args) > high):
            raise self.fail_at(tok.pos, f"{name} takes {_arity(low, high)}, got {len(args)}")
        call = Func(name, args, tok.pos)
        check = _SHAPE_CHECKS.get(name)
        if check is not None:
            check(self, call)
        return call

    def aggregate(self, tok: Token) -> Func:
        self.expect_op("(")
        self.enter()
        if tok.upper == "COUNT" and self.take_op("*"):
            self.expect_op(")", "')' after COUNT(*")
            self.depth -= 1
            return Func("COUNT", [], tok.pos, star=True)
        distinct = self.take_keyword("DISTINCT")
        if not distinct:
            self.take_keyword("ALL")
        if self.at_op(")"):
            raise self.error(f"expected an argument of {tok.upper}")
        arg = self.value_expression()
        self.expect_op(")", f"')': {tok.upper} takes one argument")
        self.depth -= 1
        return Func(tok.upper, [arg], tok.pos, distinct=distinct)

    def integer_argument_call(self, tok: Token) -> Func:
        """RAND([seed]), ROUND(x[, n]), TRUNCATE(x[, n]): n is a signed integer literal."""
        name = tok.upper
        self.expect_op("(")
        self.enter()
        args: list[Expr] = []
        if name == "RAND":
            if not self.at_op(")"):
                args.append(Literal("int", self.unsigned_integer("the RAND seed"), self.tok.pos))
        else:
            args.append(self.value_expression())
            if self.take_op(","):
                sign = -1 if self.take_op("-") else 1
                if sign == 1:
                    self.take_op("+")
                pos = self.tok.pos
                digits = self.unsigned_integer(f"the number of decimals of {name}")
                args.append(Literal("int", sign * digits, pos))
        self.expect_op(")", f"')' to close {name}")
        self.depth -= 1
        return Func(name, args, tok.pos)


def _arity(low: int, high: int | None) -> str:
    if high is None:
        return f"at least {low} argument{'s' if low != 1 else ''}"
    if low == high:
        return f"{low} argument{'s' if low != 1 else ''}"
    return f"{low} to {high} arguments"


# -- argument shapes of the geometry functions -------------------------------------------------


def _is_coord_sys(arg: Expr) -> bool:
    return isinstance(arg, Literal) and arg.kind in ("string", "null")


def _could_be_point(arg: Expr) -> bool:
    """A coord_value: a point-valued function, a column, or a user-defined function."""
    if isinstance(arg, Paren):
        return _could_be_point(arg.expr)
    if isinstance(arg, ColumnRef):
        return True
    if isinstance(arg, Func):
        return arg.name in ("POINT", "CENTROID") or arg.name not in BUILTIN_ARITY
    return False


def _could_be_number(arg: Expr) -> bool:
    if isinstance(arg, Paren):
        return _could_be_number(arg.expr)
    if isinstance(arg, Literal):
        return arg.kind in ("int", "float", "null")
    if isinstance(arg, Func):
        return arg.name not in ("POINT", "CIRCLE", "BOX", "POLYGON", "REGION", "CENTROID")
    return not isinstance(arg, Cast) or arg.target not in ("POINT", "CIRCLE", "POLYGON")


def _could_be_geometry(arg: Expr) -> bool:
    if isinstance(arg, Paren):
        return _could_be_geometry(arg.expr)
    if isinstance(arg, Literal):
        return arg.kind == "null"
    if isinstance(arg, Func):
        return arg.name in ("POINT", "CIRCLE", "BOX", "POLYGON", "REGION", "CENTROID") or (
            arg.name not in BUILTIN_ARITY
        )
    if isinstance(arg, Cast):
        return arg.target in ("POINT", "CIRCLE", "POLYGON")
    return isinstance(arg, ColumnRef)


def _require(parser: Cursor, ok: bool, arg: Expr, message: str) -> None:
    if not ok:
        raise parser.fail_at(arg.pos, message)


def _strip_coord_sys(parser: Cursor, call: Func, sizes: tuple[int, ...]) -> list[Expr]:
    """The arguments after an optional leading coordinate system."""
    args = call.args
    if args and _is_coord_sys(args[0]) and (len(args) - 1) in sizes:
        return args[1:]
    for arg in args[1:]:
        _require(
            parser,
            not _is_coord_sys(arg),
            arg,
            f"only the first argument of {call.name} may be a coordinate system",
        )
    return args


def _check_numbers(parser: Cursor, call: Func, args: list[Expr], what: str) -> None:
    for arg in args:
        _require(parser, _could_be_number(arg), arg, f"{call.name} expects {what} here")


def _check_point(parser: Cursor, call: Func) -> None:
    args = _strip_coord_sys(parser, call, (2,))
    _require(parser, len(args) == 2, call, "POINT takes [coordinate system,] longitude, latitude")
    _check_numbers(parser, call, args, "a numeric coordinate (degrees)")


def _check_centred(parser: Cursor, call: Func, extra: int, usage: str) -> None:
    """CIRCLE/BOX: ``[sys,] x, y, <extra numbers>`` or ``[sys,] point, <extra numbers>``."""
    args = call.args
    if args and _is_coord_sys(args[0]):
        args = args[1:]
    if len(args) == extra + 2:
        _check_numbers(parser, call, args, "a number (degrees)")
    elif len(args) == extra + 1:
        _require(
            parser,
            _could_be_point(args[0]),
            args[0],
            f"the centre of {call.name} must be a point (POINT(…) or a point column) "
            "or two coordinates",
        )
        _check_numbers(parser, call, args[1:], "a number (degrees)")
    else:
        raise parser.fail_at(call.pos, f"{call.name} takes {usage}")


def _check_circle(parser: Cursor, call: Func) -> None:
    _check_centred(parser, call, 1, "[coordinate system,] centre point or lon, lat, and a radius")


def _check_box(parser: Cursor, call: Func) -> None:
    _check_centred(
        parser, call, 2, "[coordinate system,] centre point or lon, lat, then width and height"
    )


def _check_polygon(parser: Cursor, call: Func) -> None:
    args = call.args
    if args and _is_coord_sys(args[0]):
        args = args[1:]
    _require(parser, len(args) >= 3, call, "POLYGON needs at least three vertices")
    if any(isinstance(a, Func) and a.name in ("POINT", "CENTROID") for a in args):
        for arg in args:
            _require(
                parser,
                _could_be_point(arg),
                arg,
                "POLYGON vertices must be all points or all coordinate pairs",
            )
        return
    if not all(_could_be_point(a) for a in args):  # some are certainly numbers
        _require(
            parser,
            len(args) % 2 == 0 and len(args) >= 6,
            call,
            "POLYGON takes [coordinate system,] at least three lon, lat pairs "
            f"(an even number of coordinates), got {len(args)} coordinates",
        )
        _check_numbers(parser, call, args, "a numeric coordinate (degrees)")


def _check_geometries(parser: Cursor, call: Func) -> None:
    for arg in call.args:
        _require(parser, _could_be_geometry(arg), arg, f"{call.name} expects a geometry here")


def _check_coord(parser: Cursor, call: Func) -> None:
    _require(
        parser,
        _could_be_point(call.args[0]),
        call.args[0],
        f"{call.name} expects a point (POINT(…) or a point column)",
    )


def _check_distance(parser: Cursor, call: Func) -> None:
    if len(call.args) == 2:
        for arg in call.args:
            _require(
                parser,
                _could_be_point(arg),
                arg,
                "DISTANCE takes two points, or four numbers (lon1, lat1, lon2, lat2)",
            )
    elif len(call.args) == 4:
        _check_numbers(parser, call, call.args, "a numeric coordinate (degrees)")
    else:
        raise parser.fail_at(call.pos, "DISTANCE takes two points, or four numbers")


def _check_in_unit(parser: Cursor, call: Func) -> None:
    unit = call.args[1]
    _require(
        parser,
        isinstance(unit, Literal) and unit.kind == "string",
        unit,
        "the second argument of IN_UNIT must be a unit string such as 'deg'",
    )


_SHAPE_CHECKS = {
    "POINT": _check_point,
    "CIRCLE": _check_circle,
    "BOX": _check_box,
    "POLYGON": _check_polygon,
    "CONTAINS": _check_geometries,
    "INTERSECTS": _check_geometries,
    "AREA": _check_geometries,
    "CENTROID": _check_geometries,
    "COORDSYS": _check_geometries,
    "COORD1": _check_coord,
    "COORD2": _check_coord,
    "DISTANCE": _check_distance,
    "IN_UNIT": _check_in_unit,
}
