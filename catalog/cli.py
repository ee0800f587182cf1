"""The ``hlsp`` command.

Exit status: 0 success; 1 the thing asked about is not so (``db status`` of a stopped
cluster); 2 usage error or an expected failure (missing PostgreSQL, unreachable database),
reported in one message with what to do, never a stack trace.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.text import Text
from sqlalchemy.orm import Session

from catalog import __version__
from catalog.config import Settings
from catalog.db import Database, _describe
from catalog.errors import CatalogError

F = TypeVar("F", bound=Callable[..., Any])
# markup=False: messages carry paths, URLs and brackets that must print literally.
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)
out = Console(highlight=False, soft_wrap=True, markup=False)


def _fail(exc: CatalogError) -> None:
    err.print(Text.assemble(("error ", "bold red"), (exc.code, "dim"), " ", exc.message))
    if exc.hint:
        err.print(exc.hint, soft_wrap=True)
    sys.exit(2)


def expected_errors(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CatalogError as exc:
            _fail(exc)
        except KeyboardInterrupt:
            err.print("interrupted")
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def _database(ctx: click.Context) -> Database:
    db: Database = ctx.obj["db"]
    return db


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hlsp")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Project data directory [env HLSP_DATA_DIR; default ./.hlsp].",
)
@click.option(
    "--database-url",
    metavar="URL",
    help="Use this PostgreSQL server instead of the embedded one [env HLSP_DATABASE_URL].",
)
@click.pass_context
@expected_errors
def main(ctx: click.Context, data_dir: Path | None, database_url: str | None) -> None:
    """HLSP Catalog: harvest, check and serve High-Level Science Product metadata."""
    settings = Settings.from_env().with_overrides(
        data_dir=data_dir.absolute() if data_dir else None, database_url=database_url
    )
    ctx.obj = {"settings": settings, "db": Database.from_settings(settings)}  # fmt: skip


@main.group()
def db() -> None:
    """The catalog database: embedded cluster lifecycle and schema migrations."""


@db.command()
@click.pass_context
@expected_errors
def start(ctx: click.Context) -> None:
    """Start the embedded cluster (creating it on first use) and migrate the schema."""
    database = _database(ctx)
    started = database.start()
    database.check_connection()
    database.migrate()
    database.ensure_query_login()
    if database.cluster is None:
        out.print("Using HLSP_DATABASE_URL; schema is current.")
    else:
        out.print("started" if started else "already running", database.url)


@db.command()
@click.pass_context
@expected_errors
def stop(ctx: click.Context) -> None:
    """Stop the embedded cluster (fast shutdown: sessions are ended, data is safe)."""
    database = _database(ctx)
    if database.cluster is None:
        raise click.UsageError("HLSP_DATABASE_URL is set: that server is not ours to stop.")
    out.print("stopped" if database.cluster.stop() else "not running")


@db.command()
@click.pass_context
@expected_errors
def status(ctx: click.Context) -> None:
    """Say whether the database is up and its schema current (exit 1 when it is not up)."""
    database = _database(ctx)
    running = True
    if database.cluster is not None:
        st = database.cluster.status()
        running = st.running
        out.print(
            f"embedded cluster: {'running (pid ' + str(st.pid) + ')' if running else 'stopped'}"
        )
        out.print(f"  data:   {st.pgdata}")
        out.print(f"  socket: {st.socket_dir}")
        out.print(f"  PostgreSQL {st.major}")
    out.print(f"url: {_describe(database.url)}")
    if running:
        try:
            version = database.check_connection()
            schema = database.schema_status()
        except CatalogError as exc:
            out.print(Text.assemble(("unreachable: ", "red"), exc.message))
            sys.exit(1)
        state = (
            "current"
            if schema.up_to_date
            else f"behind (head {schema.head}): run 'hlsp db migrate'"
        )
        out.print(f"server {version}; schema revision {schema.current or 'none'} — {state}")
    else:
        sys.exit(1)


@db.command()
@click.pass_context
@expected_errors
def url(ctx: click.Context) -> None:
    """Print the connection URL (for psql, psycopg and SQLAlchemy)."""
    click.echo(_database(ctx).url)


@db.command()
@click.option(
    "--revision",
    default="head",
    show_default=True,
    help="Target revision: 'head', 'base' (remove everything) or a revision id.",
)
@click.pass_context
@expected_errors
def migrate(ctx: click.Context, revision: str) -> None:
    """Bring the schema to a revision (in one transaction: all or nothing)."""
    database = _database(ctx)
    database.start()
    database.check_connection()
    database.migrate(revision)
    out.print(f"schema at {database.schema_status().current or 'base'}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.pass_context
@expected_errors
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve the catalog over HTTP (landing page, /health; TAP and GraphQL mount here)."""
    database = _database(ctx)
    database.ensure_ready()
    _serve(database, host, port)


def _serve(database: Database, host: str, port: int) -> None:
    import uvicorn

    from catalog.app import create_app

    out.print(f"serving on http://{host}:{port}/  (Ctrl-C to stop)")
    uvicorn.run(create_app(database), host=host, port=port, log_level="info")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--serve/--no-serve", default=True, show_default=True, help="Serve after loading.")
@click.pass_context
@expected_errors
def demo(ctx: click.Context, host: str, port: int, serve: bool) -> None:
    """Start the database, load demonstration rows, and serve them."""
    from catalog.demo import load_demo_rows

    database = _database(ctx)
    database.ensure_ready()
    with Session(database.engine) as session, session.begin():
        n = load_demo_rows(session)
    out.print(f"loaded {n} demonstration products into {database.url}")
    if serve:
        _serve(database, host, port)
