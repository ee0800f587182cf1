"""The output formats a client may ask for with RESPONSEFORMAT (or FORMAT).

TAP 1.1 §2.7.3 and DALI 1.1 §3.4.3: a service must support VOTable and should support
CSV and TSV; a value is either a MIME type or a short alias; when a MIME type is asked
for, the response's Content-Type must be that MIME type. The default (no RESPONSEFORMAT)
is VOTable, BINARY2 serialization: the most compact, and it has real NULLs. (A service may
pick another default with ``resolve_format(value, default="votable/b")``: Debian's STILTS
3.4.7 votlint, which taplint runs on results, misreads BINARY2 ``xtype="polygon"`` columns
(STIL's own BINARY2 output included) and would report them as errors.)

Accepted values (MIME types are compared case-insensitively, parameters in any spacing)::

    votable, application/x-votable+xml, text/x-votable+xml    VOTable BINARY2 (default)
    votable/td, text/xml, application/x-votable+xml;serialization=TABLEDATA
    votable/b,  application/x-votable+xml;serialization=BINARY
    votable/b2, application/x-votable+xml;serialization=BINARY2
    csv, text/csv, text/csv;header=present
    tsv, text/tab-separated-values

:data:`DESCRIPTIONS` lists them for the capabilities document (TAPRegExt ``outputFormat``
elements: ``mime``, ``alias``, ``ivo-id``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tap.errors import UsageError
from tap.metadata import Column
from tap.votable import serialize, text
from tap.votable.document import Info, Resource
from tap.votable.rowlimit import RowLimit

Serializer = Callable[
    [Sequence[Column], RowLimit[Sequence[Any]], Iterable[Info | Resource], int], Iterator[bytes]
]

VOTABLE = "application/x-votable+xml"
_TAPREGEXT = "ivo://ivoa.net/std/TAPRegExt#"


@dataclass(frozen=True)
class OutputFormat:
    """A resolved RESPONSEFORMAT: what to write and the Content-Type to answer with.

    ``serialization`` is ``TABLEDATA``, ``BINARY`` or ``BINARY2`` for VOTable, ``None``
    for CSV and TSV.
    """

    key: str
    mime: str
    serializer: Serializer
    serialization: str | None = None

    @property
    def is_votable(self) -> bool:
        return self.serialization is not None


@dataclass(frozen=True)
class FormatDescription:
    """One ``outputFormat`` of the capabilities document."""

    mime: str
    aliases: tuple[str, ...]
    ivo_id: str | None = None


_WRITERS: dict[str, tuple[Serializer, str | None, str]] = {
    # key: (serializer, VOTable serialization, canonical MIME type)
    "votable-binary2": (serialize.binary2, "BINARY2", f"{VOTABLE};serialization=BINARY2"),
    "votable-tabledata": (serialize.tabledata, "TABLEDATA", f"{VOTABLE};serialization=TABLEDATA"),
    "votable-binary": (serialize.binary, "BINARY", f"{VOTABLE};serialization=BINARY"),
    "csv": (text.csv_rows, None, "text/csv;header=present"),
    "tsv": (text.tsv_rows, None, "text/tab-separated-values"),
}

# alias (lower case) -> (key, MIME type to answer with)
_ALIASES: dict[str, tuple[str, str]] = {
    "votable": ("votable-binary2", VOTABLE),
    "votable/b2": ("votable-binary2", f"{VOTABLE};serialization=BINARY2"),
    "votable/td": ("votable-tabledata", f"{VOTABLE};serialization=TABLEDATA"),
    "votable/b": ("votable-binary", f"{VOTABLE};serialization=BINARY"),
    "csv": ("csv", "text/csv;header=present"),
    "tsv": ("tsv", "text/tab-separated-values"),
}

# MIME (type, frozen parameters) -> key
_MIMES: dict[tuple[str, frozenset[tuple[str, str]]], str] = {
    (VOTABLE, frozenset()): "votable-binary2",
    ("text/x-votable+xml", frozenset()): "votable-binary2",
    ("text/xml", frozenset()): "votable-tabledata",
    ("application/xml", frozenset()): "votable-tabledata",
    ("text/csv", frozenset()): "csv",
    ("text/csv", frozenset([("header", "present")])): "csv",
    ("text/tab-separated-values", frozenset()): "tsv",
}
for _serialization in ("TABLEDATA", "BINARY", "BINARY2"):
    for _type in (VOTABLE, "text/x-votable+xml"):
        _MIMES[(_type, frozenset([("serialization", _serialization.lower())]))] = (
            f"votable-{_serialization.lower()}"
        )

DESCRIPTIONS: tuple[FormatDescription, ...] = (
    FormatDescription(VOTABLE, ("votable",), _TAPREGEXT + "output-votable-binary2"),
    FormatDescription(
        f"{VOTABLE};serialization=TABLEDATA", ("votable/td", "text/xml"),
        _TAPREGEXT + "output-votable-td",
    ),
    FormatDescription(
        f"{VOTABLE};serialization=BINARY", ("votable/b",), _TAPREGEXT + "output-votable-binary"
    ),
    FormatDescription(
        f"{VOTABLE};serialization=BINARY2", ("votable/b2",), _TAPREGEXT + "output-votable-binary2"
    ),
    FormatDescription("text/csv;header=present", ("csv",)),
    FormatDescription("text/tab-separated-values", ("tsv",)),
)  # fmt: skip

DEFAULT = "votable"


def _make(key: str, mime: str) -> OutputFormat:
    serializer, serialization, _ = _WRITERS[key]
    return OutputFormat(key, mime, serializer, serialization)


def _parse_mime(value: str) -> tuple[str, frozenset[tuple[str, str]]] | None:
    kind, *params = value.split(";")
    parsed = set()
    for param in params:
        if not param.strip():
            continue
        name, sep, val = param.partition("=")
        if not sep:
            return None
        parsed.add((name.strip().lower(), val.strip().strip('"').lower()))
    return kind.strip().lower(), frozenset(parsed)


def supported_values() -> list[str]:
    """Every RESPONSEFORMAT value accepted, for messages and documentation."""
    values = list(_ALIASES)
    for d in DESCRIPTIONS:
        values.extend(a for a in (d.mime, *d.aliases) if a not in values)
    return values


def resolve_format(value: str | None, *, default: str = DEFAULT) -> OutputFormat:
    """The output format for a RESPONSEFORMAT/FORMAT value (``None`` or blank: ``default``,
    itself any accepted value).

    Raises :class:`UsageError` naming the supported values when ``value`` is unknown.
    """
    wanted = (value or "").strip()
    if not wanted:
        wanted = default
    alias = _ALIASES.get(wanted.lower())
    if alias is not None:
        return _make(*alias)
    parsed = _parse_mime(wanted)
    key = _MIMES.get(parsed) if parsed is not None else None
    if key is None:
        raise UsageError(
            f"RESPONSEFORMAT {value!r} is not supported. Use one of: "
            + ", ".join(supported_values())
            + " (or leave it out for VOTable)."
        )
    return _make(key, wanted)
