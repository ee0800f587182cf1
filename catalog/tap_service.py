"""The catalog's TAP service: ``tap`` configured with the catalog's tables, roles and examples."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from xml.sax.saxutils import escape

from starlette.requests import Request

from catalog import __version__
from catalog.db import POOL_OVERFLOW, Database, create_engine
from catalog.delivery.descriptor import DATALINK_LINKS, tap_result_resources
from catalog.delivery.urls import SETTING, datalink_endpoint, public_base
from catalog.serving.budget import Budget, Gates
from catalog.tap_examples import EXAMPLES
from catalog.tap_tables import published_metadata
from tap import ContextOf, TapConfig, TapGates, TapService

# Bytes of results that all the slow clients of one server process may keep waiting on disk.
SPOOL_BUDGET = 2 << 30
OBSCORE_MODEL = ("ivo://ivoa.net/std/ObsCore#core-1.1", "ObsCore-1.1")
# The role ADQL runs as (migration 0006): the published views, ivoa.obscore and TAP_SCHEMA,
# nothing else. Members of READER_ROLE (every query login) may switch to it.
TAP_READER_ROLE = "hlsp_tap_reader"


def tap_config(db: Database, budget: Budget | None = None) -> TapConfig:
    public = db.settings.public_url
    budget = budget or Budget.from_settings(db.settings.serving)
    serving = db.settings.serving
    uploads = db.settings.tap_uploads
    limits = db.settings.tap
    return TapConfig(
        title="HLSP Catalog",
        description="High-Level Science Products: collections, products (files), targets and "
        "provenance, with an ObsCore 1.1 view (ivoa.ObsCore).",
        base_url=f"{public.rstrip('/')}/tap" if public else None,
        reader_role=TAP_READER_ROLE,
        server_software=f"HLSP-Catalog/{__version__} (IVOA TAP 1.1)",
        data_models=(OBSCORE_MODEL,),
        sync_gate=budget.tap_sync,
        jobs_gate=budget.tap_jobs,
        meta_gate=budget.meta,
        spool_dir=serving.spool_dir or str(db.settings.data_dir / "spool"),
        spool_max_bytes=serving.spool_bytes,
        spool_budget=max(serving.spool_bytes, SPOOL_BUDGET),
        spool_hold=serving.spool_hold,
        send_stall=serving.send_stall,
        maxrec_default=limits.maxrec_default,
        maxrec_hard=limits.maxrec_hard,
        sync_timeout=limits.sync_timeout,
        duration_default=limits.duration_default,
        duration_hard=limits.duration_hard,
        retention_default=limits.retention_default,
        retention_hard=limits.retention_hard,
        upload_bytes=uploads.max_bytes,
        upload_rows=uploads.max_rows,
        upload_tables=uploads.max_tables,
        upload_timeout=uploads.timeout,
        upload_allow=uploads.allow,
        cors_origins=db.settings.cors_origins,
    )


def build_tap(
    db: Database, *, gates: Gates | None = None, budget: Budget | None = None
) -> TapService:
    budget = budget or Budget.from_settings(db.settings.serving)
    return TapService(
        published_metadata(),
        query_engine=db.read_engine,
        # its own pool: the job store's listener, workers and reaper stay out of the
        # catalog engine's connections (and out of its statement events)
        admin_engine=create_engine(
            db.url, pool_size=budget.store_connections, max_overflow=POOL_OVERFLOW, pool_timeout=10
        ),
        config=tap_config(db, budget),
        examples=EXAMPLES,
        gates=None if gates is None else TapGates(gates.tap_sync, gates.tap_jobs, gates.meta),
        context_of=request_context(db.settings.public_url),
        result_resources=tap_result_resources,
        extra_capabilities=datalink_capability(db.settings.public_url),
    )


def datalink_capability(public_url: str | None) -> Callable[[Request], str]:
    """The server's DataLink ``{links}`` service, declared in the TAP capabilities."""

    def capability(request: Request) -> str:
        url = datalink_endpoint(public_base(request, public_url))
        return (
            f'<capability standardID="{DATALINK_LINKS}">'
            '<interface xsi:type="vs:ParamHTTP" role="std" version="1.1">'
            f'<accessURL use="base">{escape(url)}</accessURL>'
            "<queryType>GET</queryType><queryType>POST</queryType>"
            "<resultType>application/x-votable+xml;content=datalink</resultType>"
            '<param use="required" std="true"><name>ID</name>'
            "<description>Identifier of a product (obs_publisher_did)</description>"
            "<ucd>meta.id;meta.main</ucd><dataType>string</dataType></param>"
            "</interface></capability>"
        )

    return capability


def request_context(public_url: str | None) -> ContextOf:
    """The transaction settings of a request's ADQL: the server's public URL (``access_url``
    is built from it in SQL), from ``HLSP_PUBLIC_URL`` or else the request's own URL, as the
    client reached the server."""

    def context(request: Request) -> Mapping[str, str]:
        return {SETTING: public_base(request, public_url)}

    return context
