"""The parts of a VOTable 1.4 result document around the data, and the error document.

A result (TAP 1.1 §3, DALI 1.1 §4.4)::

    <VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
      <RESOURCE type="results">
        <INFO name="QUERY_STATUS" value="OK"/>     always, before the table
        <INFO name="QUERY" value="…"/> …           what the caller supplies
        <TABLE> <FIELD …/> … <DATA>…</DATA> </TABLE>
        <INFO name="QUERY_STATUS" value="OVERFLOW"/>   only when MAXREC truncated the rows
      </RESOURCE>
    </VOTABLE>

The namespace has no prefix: TOPCAT finds ``QUERY_STATUS`` with an XPath that is not
namespace-aware. FIELD attributes that the metadata leaves NULL are omitted (taplint
compares NULL and the empty string as different values).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tap.metadata import Column
from tap.votable import xmltext

NAMESPACE = "http://www.ivoa.net/xml/VOTable/v1.3"
VERSION = "1.4"

PROLOGUE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<VOTABLE version="{VERSION}" xmlns="{NAMESPACE}"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
)


@dataclass(frozen=True)
class Info:
    """An ``<INFO name value>`` element, with optional text content.

    The service passes e.g. ``Info("QUERY", adql)``, ``Info("SQL", sql)``,
    ``Info("standardID", "ivo://ivoa.net/std/TAP")``, ``Info("request_date", iso)``.
    """

    name: str
    value: str
    content: str | None = None

    def xml(self) -> str:
        head = f'<INFO name="{xmltext.attr(self.name)}" value="{xmltext.attr(self.value)}"'
        if self.content is None:
            return head + "/>\n"
        return f"{head}>{xmltext.text(self.content)}</INFO>\n"


@dataclass(frozen=True)
class Resource:
    """A ``<RESOURCE>`` the host adds after the results (e.g. a DataLink service descriptor,
    ``type="meta" utype="adhoc:service"``: DataLink 1.1 §4), as XML text. It travels with
    the :class:`Info` items of a result; :func:`head` leaves it out, :func:`tail` writes it."""

    text: str


def field_xml(column: Column, field_id: str, *, null_literal: str | None = None) -> str:
    """One FIELD element: name, ID, datatype, arraysize, xtype, unit, ucd, utype, DESCRIPTION."""
    attrs = [
        ("name", xmltext.unquote(column.name)),
        ("ID", field_id),
        ("datatype", column.datatype),
        # arraysize="1" means a scalar and is deprecated (VOTable 1.3 Erratum 3)
        ("arraysize", None if column.arraysize == "1" else column.arraysize),
        ("xtype", column.xtype),
        ("unit", column.unit),
        ("ucd", column.ucd),
        ("utype", column.utype),
    ]
    head = "<FIELD " + " ".join(f'{k}="{xmltext.attr(v)}"' for k, v in attrs if v is not None)
    body = ""
    if column.description:
        body += f"<DESCRIPTION>{xmltext.text(column.description)}</DESCRIPTION>"
    if null_literal is not None:
        body += f'<VALUES null="{null_literal}"/>'
    if not body:
        return head + "/>\n"
    return f"{head}>{body}</FIELD>\n"


def head(
    columns: Sequence[Column],
    infos: Iterable[Info | Resource],
    *,
    null_literals: Sequence[str | None] | None = None,
    status: str = "OK",
) -> str:
    """Everything up to and including ``<DATA>``."""
    ids = xmltext.xml_ids([c.name for c in columns])
    parts = [PROLOGUE, '<RESOURCE type="results">\n', Info("QUERY_STATUS", status).xml()]
    parts.extend(info.xml() for info in infos if isinstance(info, Info))
    parts.append("<TABLE>\n")
    for i, column in enumerate(columns):
        null = null_literals[i] if null_literals is not None else None
        parts.append(field_xml(column, ids[i], null_literal=null))
    parts.append("<DATA>")
    return "".join(parts)


def tail(*, overflow: bool, error: str | None = None, infos: Iterable[Info | Resource] = ()) -> str:
    """From ``</DATA>`` to the end: the post-table status, when there is one, then the
    host's resources among ``infos``."""
    parts = ["</DATA>\n</TABLE>\n"]
    if error is not None:
        parts.append(Info("QUERY_STATUS", "ERROR", error).xml())
    elif overflow:
        parts.append(Info("QUERY_STATUS", "OVERFLOW").xml())
    parts.append("</RESOURCE>\n")
    parts.extend(item.text for item in infos if isinstance(item, Resource))
    parts.append("</VOTABLE>\n")
    return "".join(parts)


def error_document(message: str, *, infos: Iterable[Info] = ()) -> bytes:
    """A VOTable error document (DALI 1.1 §4.4): QUERY_STATUS=ERROR with ``message`` as text.

    No TABLE (taplint W_HSTB); the message must not be empty (W_NOMS), so a blank one
    becomes a generic sentence.
    """
    message = message.strip() or "The service failed to process the request."
    parts = [
        PROLOGUE,
        '<RESOURCE type="results">\n',
        Info("QUERY_STATUS", "ERROR", message).xml(),
        *(info.xml() for info in infos),
        "</RESOURCE>\n</VOTABLE>\n",
    ]
    return "".join(parts).encode("utf-8")
