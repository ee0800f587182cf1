"""DataLink 1.1 ``{links}``: ``GET|POST /datalink/links?ID=...`` — every product's links.

Parameters (DALI 1.1: names case-insensitive, from the query string and an urlencoded or
multipart body): ``ID`` (repeatable, at most :data:`MAX_IDS`; publisher DIDs
``ivo://…?<hlsp_id>/<file name>`` or catalog keys), ``RESPONSEFORMAT`` (VOTable, the default,
under any of :data:`FORMATS`) and ``MAXREC`` (at most that many link rows; the document then
says ``OVERFLOW``). A request the service cannot answer at all (no ``ID``, too many, a bad
``MAXREC`` or format, a body too large) gets a DALI error document with a 4xx status; an ID
it cannot resolve gets a row with ``error_message`` (``NotFoundFault``/``UsageFault``,
DataLink §3.2.3) among the others, which keep their request order, grouped by ID.

One look-up finds every ID's file (:meth:`Delivery.find`), then one statement per relation
reads what they link to (:func:`catalog.delivery.links.load_related`), and the document is
written in the same worker thread, admitted by the ``delivery`` gate.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape, quoteattr

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from catalog.delivery.descriptor import DATALINK_LINKS, SODA_SYNC, service_descriptor
from catalog.delivery.links import Link, Related, links_of, load_related
from catalog.delivery.lookup import Deliverables, StoredFile, parse_key
from catalog.delivery.service import Delivery
from catalog.delivery.soda.descriptor import inputs as cutout_inputs
from catalog.delivery.soda.descriptor import offers_cutout
from catalog.delivery.urls import public_base, publisher_did, soda_endpoint
from tap import VOTABLE, Overloaded, error_document

log = logging.getLogger(__name__)

MAX_IDS = 1000
MAX_BODY = 256 << 10  # a POSTed form: 1000 DIDs with room to spare
MAX_FIELDS = MAX_IDS + 16
MAX_PARAM_CHARS = 64  # RESPONSEFORMAT, MAXREC
DATALINK = "application/x-votable+xml;content=datalink"
FORMATS = frozenset(
    {
        "votable",
        "application/x-votable+xml",
        "application/x-votable",
        "text/xml",
        DATALINK,
        "application/x-votable+xml;content=datalink;charset=utf-8",
    }
)
NAMESPACE = "http://www.ivoa.net/xml/VOTable/v1.3"

# (name, datatype, arraysize, ucd, unit, description): DataLink 1.1 §3.2, in its order
COLUMNS: tuple[tuple[str, str, str | None, str, str | None, str], ...] = (
    ("ID", "char", "*", "meta.id;meta.main", None, "The identifier the links are for"),
    ("access_url", "char", "*", "meta.ref.url", None, "URL of the linked resource"),
    ("service_def", "char", "*", "meta.ref", None, "Service descriptor to call instead"),
    ("error_message", "char", "*", "meta.code.error", None, "Why there is no link"),
    ("semantics", "char", "*", "meta.code", None, "What the link is (datalink/core term)"),
    ("description", "char", "*", "meta.note", None, "What the link is, in words"),
    ("content_type", "char", "*", "meta.code.mime", None, "Media type of the resource"),
    ("content_length", "long", None, "phys.size;meta.file", "byte", "Size of the resource"),
    ("content_qualifier", "char", "*", "meta.code.class", None, "Product type (IVOA term)"),
    ("local_semantics", "char", "*", "meta.code", None, "What the link is to this service"),
    ("link_auth", "char", "*", "meta.code", None, "Whether the link needs authentication"),
    ("link_authorized", "boolean", None, "meta.code", None, "Whether the caller may use it"),
)

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SPACES = re.compile(r"\s+")


class DataLinkError(Exception):
    """A request the service cannot answer (a DALI error document with ``status``)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class LinksRequest:
    ids: tuple[str, ...]
    maxrec: int | None


def _clean(text: str) -> str:
    """Text XML 1.0 can carry (control characters a client sent become ``?``)."""
    return _XML_ILLEGAL.sub("?", text)


def _shown(value: str, limit: int = 80) -> str:
    """A client's value quoted in a message: ASCII, at most ``limit`` characters."""
    text = _clean(value)
    return ascii(text if len(text) <= limit else text[:limit] + "...")


# -- parameters ------------------------------------------------------------------------------


async def read_params(request: Request) -> list[tuple[str, str]]:
    """(NAME, value) pairs from the query string and a form body, names upper-cased."""
    pairs = [(k.upper(), v) for k, v in request.query_params.multi_items()]
    if len(pairs) > MAX_FIELDS:
        raise DataLinkError(f"UsageFault: at most {MAX_IDS} ID values per request")
    if request.method != "POST":
        return pairs
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        try:
            async with request.form(max_files=0, max_fields=MAX_FIELDS) as form:
                items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        except ClientDisconnect:
            raise DataLinkError("UsageFault: the client left before sending its form") from None
        except Exception as error:  # python-multipart and Starlette's own refusals
            detail = getattr(error, "detail", None) or getattr(error, "message", None) or error
            raise DataLinkError(f"UsageFault: the form could not be read: {detail}") from None
        return pairs + [(k.upper(), v) for k, v in items]
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise DataLinkError(
                    f"UsageFault: the request body is larger than {MAX_BODY} bytes; "
                    f"send at most {MAX_IDS} IDs per request",
                    status=413,
                )
    except ClientDisconnect:
        raise DataLinkError("UsageFault: the client left before sending its form") from None
    if not body:
        return pairs
    if content_type != "application/x-www-form-urlencoded":
        raise DataLinkError(
            "UsageFault: send the parameters in the query string or as a form "
            "(application/x-www-form-urlencoded or multipart/form-data)",
            status=415,
        )
    try:
        form_pairs = parse_qsl(
            body.decode("latin-1"), keep_blank_values=True, max_num_fields=MAX_FIELDS
        )
    except ValueError:
        raise DataLinkError(f"UsageFault: at most {MAX_IDS} ID values per request") from None
    return pairs + [(k.upper(), v) for k, v in form_pairs]


def parse_request(pairs: Sequence[tuple[str, str]]) -> LinksRequest:
    ids = tuple(v for k, v in pairs if k == "ID")
    if not ids:
        raise DataLinkError("UsageFault: ID is required (a product's obs_publisher_did)")
    if len(ids) > MAX_IDS:
        raise DataLinkError(
            f"UsageFault: {len(ids)} IDs; at most {MAX_IDS} per request (split the request)"
        )
    formats = [v for k, v in pairs if k == "RESPONSEFORMAT"]
    if len(formats) > 1:
        raise DataLinkError("UsageFault: RESPONSEFORMAT given more than once")
    if formats:
        wanted = _SPACES.sub("", formats[0]).lower()
        if wanted not in FORMATS:
            raise DataLinkError(
                f"UsageFault: RESPONSEFORMAT {_shown(formats[0], 40)} is not supported; "
                f"use {DATALINK} (the default) or votable"
            )
    maxrecs = [v for k, v in pairs if k == "MAXREC"]
    if len(maxrecs) > 1:
        raise DataLinkError("UsageFault: MAXREC given more than once")
    maxrec = None
    if maxrecs:
        text = maxrecs[0].strip()
        if len(text) > MAX_PARAM_CHARS or not text.isdigit() or not text.isascii():
            raise DataLinkError(
                f"UsageFault: MAXREC must be a non-negative integer, not {_shown(maxrecs[0], 40)}"
            )
        maxrec = int(text)
    return LinksRequest(ids, maxrec)


# -- the document ---------------------------------------------------------------------------


def _text(value: str) -> str:
    """Character data: markup escaped, characters XML 1.0 cannot carry as ``?``."""
    if _XML_ILLEGAL.search(value):
        value = _XML_ILLEGAL.sub("?", value)
    if "&" in value or "<" in value or ">" in value:
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value


def _row(link: Link, cells: dict[str, str]) -> str:
    """One TR; ``cells`` remembers the cells of repeated texts (IDs, types, semantics)."""
    out = ["<TR>"]
    for value in (
        link.id,
        link.access_url,
        link.service_def,
        link.error_message,
        link.semantics,
        link.description,
        link.content_type,
    ):
        if value is None:
            out.append("<TD/>")
            continue
        cell = cells.get(value)
        if cell is None:
            cell = cells[value] = f"<TD>{_text(value)}</TD>"
        out.append(cell)
    out.append("<TD/>" if link.content_length is None else f"<TD>{link.content_length}</TD>")
    for value in (link.content_qualifier, link.local_semantics, link.link_auth):
        out.append("<TD/>" if value is None else f"<TD>{_text(value)}</TD>")
    flag = link.link_authorized
    out.append("<TD/>" if flag is None else "<TD>true</TD>" if flag else "<TD>false</TD>")
    out.append("</TR>\n")
    return "".join(out)


def _field(name: str, datatype: str, arraysize: str | None, ucd: str, unit: str | None) -> str:
    attrs = [("name", name), ("datatype", datatype), ("arraysize", arraysize)]
    attrs += [("ucd", ucd), ("unit", unit)]
    return "<FIELD " + " ".join(f"{k}={quoteattr(v)}" for k, v in attrs if v is not None)


def document(rows: Sequence[Link], overflow: bool, resources: Iterable[str]) -> bytes:
    """The ``{links}`` VOTable: the rows, the overflow status, the service descriptors."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<VOTABLE version="1.4" xmlns="{NAMESPACE}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n',
        '<RESOURCE type="results">\n',
        '<INFO name="QUERY_STATUS" value="OK"/>\n',
        f'<INFO name="standardID" value="{DATALINK_LINKS}"/>\n',
        "<TABLE>\n",
    ]
    for name, datatype, arraysize, ucd, unit, description in COLUMNS:
        parts.append(
            _field(name, datatype, arraysize, ucd, unit)
            + f"><DESCRIPTION>{escape(description)}</DESCRIPTION></FIELD>\n"
        )
    parts.append("<DATA><TABLEDATA>\n")
    cells: dict[str, str] = {}
    parts.extend(_row(link, cells) for link in rows)
    parts.append("</TABLEDATA></DATA>\n</TABLE>\n")
    if overflow:
        parts.append('<INFO name="QUERY_STATUS" value="OVERFLOW"/>\n')
    parts.append("</RESOURCE>\n")
    parts.extend(resources)
    parts.append("</VOTABLE>\n")
    return "".join(parts).encode("utf-8")


def _error_row(id_: str, message: str) -> Link:
    return Link(id_, error_message=message, semantics="#this")


def build(
    ids: Sequence[str],
    keys: Sequence[str | None],
    found: dict[str, StoredFile],
    related: Related,
    *,
    base: str,
    authority: str,
    maxrec: int | None,
) -> bytes:
    """The document for the IDs of a request (in order), their keys and what was found."""
    rows: list[Link] = []
    descriptors: dict[str, str] = {}  # key -> descriptor ID, one per product
    resources: dict[str, str] = {}  # descriptor ID -> RESOURCE text
    for id_, key in zip(ids, keys, strict=True):
        shown = _clean(id_)
        if key is None:
            message = (
                f"UsageFault: {_shown(id_)} is not an identifier of this service "
                "(ivo://...?<hlsp_id>/<file name>, as obs_publisher_did)"
            )
            rows.append(_error_row(shown, message))
            continue
        file = found.get(key)
        if file is None:
            message = (
                f"NotFoundFault: no product {_shown(key)} in the catalog (unknown or withdrawn)"
            )
            rows.append(_error_row(shown, message))
            continue
        ref = descriptors.get(key)
        if ref is None and file.kind == "product" and offers_cutout(file.dataproduct_type):
            shape = related.shapes.get(file.product_id or -1)
            did = (shape and shape.did) or publisher_did(authority, file.hlsp_id, file.file_name)
            inputs = cutout_inputs(
                did,
                file.dataproduct_type,
                footprint=shape.footprint if shape else None,
                circle=shape.circle if shape else None,
                wavelengths=shape.wavelengths if shape else None,
            )
            if inputs:
                ref = descriptors[key] = f"soda-{len(descriptors) + 1}"
                resources[ref] = service_descriptor(
                    standard_id=SODA_SYNC,
                    access_url=soda_endpoint(base),
                    resource_id=ref,
                    name="cutout",
                    description=f"SODA cutouts of {file.file_name}",
                    inputs=inputs,
                )
        rows.extend(links_of(shown, file, related, base, ref))
    overflow = maxrec is not None and len(rows) > maxrec
    if maxrec is not None:
        rows = rows[:maxrec]
    used = {link.service_def for link in rows if link.service_def}
    return document(rows, overflow, [text for ref, text in resources.items() if ref in used])


# -- the endpoint ----------------------------------------------------------------------------


def _error(error: DataLinkError) -> Response:
    return Response(error_document(error.message), status_code=error.status, media_type=VOTABLE)


def _busy(message: str, retry_after: int) -> Response:
    return Response(
        error_document(message),
        status_code=503,
        media_type=VOTABLE,
        headers={"Retry-After": str(retry_after)},
    )


def datalink_routes(delivery: Delivery) -> list[BaseRoute]:
    async def links(request: Request) -> Response:
        try:
            query = parse_request(await read_params(request))
        except DataLinkError as error:
            return _error(error)
        keys = [parse_key(i) for i in query.ids]
        base = public_base(request, delivery.public_url)
        try:
            # one admission, one thread hop and one connection for the look-up and the
            # relations (each checkout of a connection costs a ping and a rollback)
            async with delivery.gate.admit():
                body = await run_in_threadpool(_answer, delivery, query, keys, base)
        except Overloaded as error:
            return _busy(error.message, error.retry_after)
        except sa.exc.SQLAlchemyError as error:  # an outage, a replica gone: logged, 503
            log.warning("datalink: the database failed: %s", getattr(error, "orig", error))
            message = "ServiceUnavailable: the catalog database is not answering; try again"
            return _busy(message, retry_after=5)
        return Response(body, media_type=DATALINK)

    return [Route("/datalink/links", links, methods=["GET", "POST"])]


def _answer(
    delivery: Delivery, query: LinksRequest, keys: Sequence[str | None], base: str
) -> bytes:
    engine = delivery.db.read_engine
    with engine.connect() as conn:
        found = Deliverables(engine).find((k for k in keys if k is not None), conn)
        related = load_related(engine, found.values(), conn)
        conn.rollback()
    return build(
        query.ids,
        keys,
        found,
        related,
        base=base,
        authority=delivery.authority,
        maxrec=query.maxrec,
    )
