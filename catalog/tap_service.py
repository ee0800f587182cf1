"""The catalog's TAP service: ``tap`` configured with the catalog's tables, roles and examples."""

from __future__ import annotations

from catalog import __version__
from catalog.db import READER_ROLE, Database, create_engine
from catalog.tap_examples import EXAMPLES
from catalog.tap_tables import published_metadata
from tap.config import TapConfig
from tap.service import TapService

OBSCORE_MODEL = ("ivo://ivoa.net/std/ObsCore#core-1.1", "ObsCore-1.1")


def tap_config(db: Database) -> TapConfig:
    public = db.settings.public_url
    return TapConfig(
        title="HLSP Catalog",
        description="High-Level Science Products: collections, products (files), targets and "
        "provenance, with an ObsCore 1.1 view (ivoa.ObsCore).",
        base_url=f"{public.rstrip('/')}/tap" if public else None,
        reader_role=READER_ROLE,
        server_software=f"HLSP-Catalog/{__version__} (IVOA TAP 1.1)",
        data_models=(OBSCORE_MODEL,),
        cors_origins=db.settings.cors_origins,
    )


def build_tap(db: Database) -> TapService:
    return TapService(
        published_metadata(),
        query_engine=db.read_engine,
        # its own pool: the job store's listener, workers and reaper stay out of the
        # catalog engine's connections (and out of its statement events)
        admin_engine=create_engine(db.url, pool_size=3, max_overflow=5),
        config=tap_config(db),
        examples=EXAMPLES,
    )
