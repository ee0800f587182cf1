"""Name resolution: which published table, correlation name or column an identifier means.

Regular identifiers match case-insensitively; delimited ones exactly (a name the metadata
stores delimited, ``"size"``, is compared without its quotes). Only what the metadata
publishes, the query's own subqueries and common table expressions are visible: anything
else (``pg_catalog``, ``ctid``, unpublished tables or columns) is an unknown name.

SQL names always come from the metadata, double-quoted: a metadata name stored delimited is
used verbatim, a regular one in lower case (as PostgreSQL folds unquoted names).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from tap.adql.nodes import ColumnRef, Ident
from tap.adql.values import Value
from tap.errors import AdqlError
from tap.metadata import Column, Table, TapMetadata


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def unquoted(name: str) -> tuple[str, bool]:
    """(name without quotes, whether it was stored delimited)."""
    if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
        return name[1:-1].replace('""', '"'), True
    return name, False


def sql_column_name(column: Column) -> str:
    """The column's name in the database: delimited names verbatim, regular ones lower-cased."""
    name, delimited = unquoted(column.name)
    return name if delimited else name.lower()


_RELATION_PART = re.compile(r'"(?:[^"]|"")*"|[^."]+')


def sql_relation(table: Table) -> str:
    """The quoted SQL relation of a table (``ivoa.ObsCore`` -> ``"ivoa"."obscore"``)."""
    parts = []
    for part in _RELATION_PART.findall(table.relation):
        name, delimited = unquoted(part.strip())
        parts.append(quote(name if delimited else name.lower()))
    return ".".join(parts)


def name_matches(ident: Ident, stored: str) -> bool:
    name, _ = unquoted(stored)
    if ident.delimited:
        return ident.text == name
    return ident.text.lower() == name.lower()


def suggestion(wanted: str, candidates: Iterable[str]) -> str:
    names = sorted(set(candidates))
    close = difflib.get_close_matches(wanted, names, n=1, cutoff=0.6)
    if not close:
        lowered = {n.lower(): n for n in names}
        close = [lowered[c] for c in difflib.get_close_matches(wanted.lower(), lowered, n=1)]
    return f"; did you mean {close[0]}?" if close else ""


def dotted(parts: Iterable[Ident]) -> str:
    return ".".join(repr(p) for p in parts)


class ScopeColumn:
    """A column visible in a scope: its name for matching and its translated value."""

    __slots__ = ("name", "value")

    def __init__(self, name: str, value: Value) -> None:
        self.name = name
        self.value = value


class Source:
    """A FROM item: the names that qualify it, its SQL alias, its columns."""

    __slots__ = ("alias", "columns", "names", "table")

    def __init__(
        self,
        names: list[tuple[str, ...]],
        alias: str,
        columns: list[ScopeColumn],
        table: Table | None = None,
    ) -> None:
        self.names = names
        self.alias = alias
        self.columns = columns
        self.table = table

    def is_named(self, qualifier: tuple[Ident, ...]) -> bool:
        for name in self.names:
            if len(name) == len(qualifier) and all(
                name_matches(q, n) for q, n in zip(qualifier, name, strict=True)
            ):
                return True
        return False

    def find(self, ident: Ident) -> list[ScopeColumn]:
        return [c for c in self.columns if name_matches(ident, c.name)]


class Scope:
    """The names visible in one SELECT, with the enclosing query's scope as parent."""

    def __init__(
        self, parent: Scope | None, ctes: dict[str, tuple[str, list[ScopeColumn]]]
    ) -> None:
        self.parent = parent
        self.ctes = ctes  # lower-cased name -> (SQL name, columns)
        self.sources: list[Source] = []
        self.merged: list[ScopeColumn] = []  # USING/NATURAL columns, visible unqualified
        self.hidden: set[int] = set()  # ids of source columns replaced by a merged one

    def resolve(self, ref: ColumnRef) -> Value:
        found = self._lookup(ref)
        if found is not None:
            return found
        raise AdqlError(self._unknown_message(ref))

    def _lookup(self, ref: ColumnRef) -> Value | None:
        column = ref.parts[-1]
        qualifier = ref.parts[:-1]
        if qualifier:
            sources = [s for s in self.sources if s.is_named(qualifier)]
            if len(sources) > 1:
                raise AdqlError(
                    f"{dotted(qualifier)} names more than one table in FROM; "
                    "give them different aliases"
                )
            if sources:
                matches = sources[0].find(column)
                if len(matches) == 1:
                    return matches[0].value
                if len(matches) > 1:
                    raise AdqlError(f"{dotted(ref.parts)} is ambiguous in {dotted(qualifier)}")
                raise AdqlError(
                    f"{dotted(qualifier)} has no column {column!r}"
                    + suggestion(column.text, (c.name for c in sources[0].columns))
                )
        else:
            matches = [c for c in self.merged if name_matches(column, c.name)]
            for source in self.sources:
                matches.extend(c for c in source.find(column) if id(c) not in self.hidden)
            if len(matches) == 1:
                return matches[0].value
            if len(matches) > 1:
                raise AdqlError(
                    f"column {column!r} is ambiguous: qualify it with a table name or alias"
                )
        return self.parent._lookup(ref) if self.parent is not None else None

    def _unknown_message(self, ref: ColumnRef) -> str:
        qualifier = ref.parts[:-1]
        names: list[str] = []
        scope: Scope | None = self
        while scope is not None:
            for source in scope.sources:
                names.extend(".".join(n) for n in source.names)
            scope = scope.parent
        if qualifier:
            return (
                f"unknown table or alias {dotted(qualifier)} in {dotted(ref.parts)}"
                + suggestion(".".join(p.text for p in qualifier), names)
            )
        columns: list[str] = []
        scope = self
        while scope is not None:
            for source in scope.sources:
                columns.extend(c.name for c in source.columns)
            scope = scope.parent
        return f"unknown column {ref.parts[-1]!r}" + suggestion(ref.parts[-1].text, columns)

    def find_source(self, qualifier: tuple[Ident, ...]) -> Source:
        sources = [s for s in self.sources if s.is_named(qualifier)]
        if len(sources) == 1:
            return sources[0]
        if sources:
            raise AdqlError(f"{dotted(qualifier)} names more than one table in FROM")
        names = [".".join(n) for s in self.sources for n in s.names]
        raise AdqlError(
            f"unknown table or alias {dotted(qualifier)} in {dotted(qualifier)}.*"
            + suggestion(".".join(p.text for p in qualifier), names)
        )


def find_table(metadata: TapMetadata, parts: tuple[Ident, ...]) -> Table:
    """The published table a (schema-qualified) table name means."""
    if len(parts) > 2:
        raise AdqlError(f"unknown table {dotted(parts)}: catalog names are not supported")
    name = parts[-1]
    schema = parts[0] if len(parts) == 2 else None
    matches = [
        t
        for t in metadata.tables
        if name_matches(name, t.name) and (schema is None or name_matches(schema, t.schema))
    ]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        options = ", ".join(t.qualified_name for t in matches)
        raise AdqlError(
            f"table {dotted(parts)} is ambiguous ({options}): qualify it with its schema"
        )
    candidates = [t.qualified_name for t in metadata.tables]
    wanted = ".".join(p.text for p in parts)
    if len(parts) == 1:
        candidates += [t.name for t in metadata.tables]
    return _unknown_table(wanted, candidates)


def _unknown_table(wanted: str, candidates: list[str]) -> Table:
    raise AdqlError(
        f"unknown table {wanted}: it is not published by this service"
        + suggestion(wanted, candidates)
    )
