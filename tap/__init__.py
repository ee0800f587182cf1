"""A catalog-agnostic IVOA TAP 1.1 service.

It is given the published tables (:mod:`tap.metadata`) and a database, and serves ADQL
over them: sync and async (UWS 1.1) queries, VOSI capabilities/availability/tables,
TAP_SCHEMA, examples, uploads, VOTable/CSV/TSV output. It never imports ``catalog``.

Its public face, what a host (``catalog``) imports, always as ``from tap import X``:

- the service: ``TapService`` (a Starlette app for ``/tap``, started and stopped by the host),
  ``TapConfig`` (its settings and limits), ``TapGates`` (its admission gates); the host's
  hooks: ``ContextOf`` (a request's transaction settings, kept with its async jobs) and
  ``ResultResources`` (RESOURCEs a result carries, e.g. a DataLink service descriptor);
- the published tables: ``TapMetadata`` of ``Schema``, ``Table``, ``Column`` and
  ``ForeignKey``; ``votable_type`` maps a PostgreSQL type to VOTable's;
- ``Example``: one DALI example query of the examples document;
- admission (shared with the host's other endpoints): ``Gate`` and its ``GateLimits``,
  ``Slot`` (one admitted request's hold, released from wherever it ends),
  ``Overloaded`` (its refusal: 503 with Retry-After), ``ByteBudget`` (bytes that the requests
  of a process may hold together);
- DALI errors in the host's own responses: ``error_document`` (a VOTable error document) and
  ``VOTABLE``, its media type.

The names are imported when first used (``tap.TapService``…), so that ``import tap.adql``
costs no more than the ADQL translator.

Modules:
    admission   Bounded admission: how much of one kind of work a server process runs at once
    body        A request whose body is cut off at a size limit, checked as it arrives
    config      Service settings: public URL, limits, identity. Declared in the capabilities
                document
    errors      The TAP package's exceptions, with stable machine codes
    examples    The DALI examples document (``/examples``): XHTML with RDFa, one block per query
    features    The ADQL language features this service declares in its capabilities (TAPRegExt)
    form        Reading DALI parameters from an HTTP request, for ``/sync`` and ``/async`` alike
    metadata    What a TAP service publishes: schemas, tables, columns and foreign keys
    params      DALI request parameters: case-insensitive names, validated only when a query runs
    query       Running one TAP query: parameters → ADQL translation → uploads → PostgreSQL → output
                bytes
    service     The TAP service as a Starlette application: VOSI, examples, sync and async queries
    spool       A query's result on its way to the client, decoupled from the database
    tap_schema  TAP_SCHEMA: the service's self-description, generated from :class:`TapMetadata`
    vosi        VOSI documents: capabilities (with TAPRegExt), availability, and the tables set
    adql/       ADQL 2.1 for the TAP service: parsing, validation and translation to PostgreSQL +
                pg_sphere
    upload/     Uploaded tables (TAP 1.1 §2.7.6, §3.5): the UPLOAD parameter, VOTable reading,
                loading
    uws/        UWS 1.1 asynchronous jobs of the TAP service (``/async``), stored in PostgreSQL
    votable/    Query results as VOTable (TABLEDATA, BINARY, BINARY2), CSV and TSV, and error
                documents
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from tap.admission import ByteBudget, Gate, GateLimits, Overloaded, Slot
    from tap.config import TapConfig
    from tap.examples import Example
    from tap.metadata import Column, ForeignKey, Schema, Table, TapMetadata, votable_type
    from tap.query import ResultResources
    from tap.service import VOTABLE, TapGates, TapService
    from tap.uws import ContextOf
    from tap.votable.document import error_document

_HOMES = {
    "ByteBudget": "tap.admission",
    "ContextOf": "tap.uws",
    "Column": "tap.metadata",
    "Example": "tap.examples",
    "ForeignKey": "tap.metadata",
    "Gate": "tap.admission",
    "GateLimits": "tap.admission",
    "Overloaded": "tap.admission",
    "ResultResources": "tap.query",
    "Schema": "tap.metadata",
    "Slot": "tap.admission",
    "Table": "tap.metadata",
    "TapConfig": "tap.config",
    "TapGates": "tap.service",
    "TapMetadata": "tap.metadata",
    "TapService": "tap.service",
    "VOTABLE": "tap.service",
    "error_document": "tap.votable.document",
    "votable_type": "tap.metadata",
}

__all__ = [
    "VOTABLE",
    "ByteBudget",
    "Column",
    "ContextOf",
    "Example",
    "ForeignKey",
    "Gate",
    "GateLimits",
    "Overloaded",
    "ResultResources",
    "Schema",
    "Slot",
    "Table",
    "TapConfig",
    "TapGates",
    "TapMetadata",
    "TapService",
    "error_document",
    "votable_type",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'tap' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
