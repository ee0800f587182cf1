"""ADQL tokens: one compiled regular expression, positions kept for error messages.

Token kinds: ``ident`` (regular identifier, ``value`` as written), ``quoted`` (delimited
identifier, ``value`` without the quotes and with ``""`` undoubled), ``string`` (``value``
without quotes, ``''`` undoubled), ``number`` (``value`` as written), ``op`` (punctuation
and operators) and ``end``. Comments (``--`` to the end of the line) and white space are
dropped. Anything else is an :class:`~tap.errors.AdqlSyntaxError` at its line and column.
"""

from __future__ import annotations

import re

from tap.errors import AdqlSyntaxError

MAX_QUERY_LENGTH = 100_000  # characters; longer texts are refused before tokenizing

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n\f\v]+|--[^\n]*)
  | (?P<ident>[A-Za-z][A-Za-z0-9_]*)
  | (?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")*")
  | (?P<op><>|!=|<=|>=|\|\||[=<>+\-*/(),.;])
    """,
    re.VERBOSE,
)


class Token:
    __slots__ = ("kind", "pos", "upper", "value")

    def __init__(self, kind: str, value: str, pos: int) -> None:
        self.kind = kind
        self.value = value
        self.pos = pos
        # Keywords are recognised on the upper-cased text of regular identifiers only.
        self.upper = value.upper() if kind == "ident" else ""

    def __repr__(self) -> str:
        return f"Token({self.kind}, {self.value!r}, {self.pos})"

    def describe(self) -> str:
        """How an error message names this token."""
        if self.kind == "end":
            return "the end of the query"
        if self.kind == "string":
            return f"the string '{_short(self.value)}'"
        if self.kind == "quoted":
            return f'the delimited identifier "{_short(self.value)}"'
        if self.kind == "number":
            return f"the number {_short(self.value)}"
        return f"'{_short(self.value)}'"


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def line_column(text: str, pos: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def syntax_error(text: str, pos: int, message: str) -> AdqlSyntaxError:
    line, column = line_column(text, pos)
    return AdqlSyntaxError(message, line, column)


def _bad_character(text: str, pos: int) -> AdqlSyntaxError:  # noqa: PLR0911
    char = text[pos]
    if char == "'":
        return syntax_error(text, pos, "unterminated string: add the closing single quote")
    if char == '"':
        return syntax_error(
            text, pos, "unterminated delimited identifier: add the closing double quote"
        )
    if char == "_":
        return syntax_error(
            text, pos, "identifiers must start with a letter; delimit others with double quotes"
        )
    if char == "\x00":
        return syntax_error(text, pos, "the query contains a NUL character")
    if char in "&|~^#":
        return syntax_error(text, pos, f"the operator '{char}' is not supported")
    if char == "!":
        return syntax_error(text, pos, "'!' is only allowed in '!='")
    if char in "[]{}":
        return syntax_error(text, pos, f"'{char}' is not allowed in ADQL")
    if ord(char) > 127:
        return syntax_error(
            text,
            pos,
            f"the character {char!r} (U+{ord(char):04X}) is only allowed in strings and "
            "delimited identifiers",
        )
    return syntax_error(text, pos, f"unexpected character {char!r}")


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an ``end`` token."""
    if len(text) > MAX_QUERY_LENGTH:
        raise AdqlSyntaxError(
            f"the query is {len(text)} characters long; at most {MAX_QUERY_LENGTH} are accepted",
            1,
            1,
        )
    tokens: list[Token] = []
    append = tokens.append
    pos = 0
    end = len(text)
    match = _TOKEN.match
    while pos < end:
        m = match(text, pos)
        if m is None:
            raise _bad_character(text, pos)
        kind = m.lastgroup
        assert kind is not None
        value = m.group()
        if kind == "ws":
            pass
        elif kind == "string":
            body = value[1:-1]
            if "\x00" in body:
                raise syntax_error(text, pos, "strings must not contain NUL characters")
            append(Token("string", body.replace("''", "'"), pos))
        elif kind == "quoted":
            body = value[1:-1].replace('""', '"')
            if not body:
                raise syntax_error(text, pos, "a delimited identifier must not be empty")
            if "\x00" in body:
                raise syntax_error(text, pos, "identifiers must not contain NUL characters")
            append(Token("quoted", body, pos))
        else:
            append(Token(kind, value, pos))
        pos = m.end()
    append(Token("end", "", end))
    return tokens
