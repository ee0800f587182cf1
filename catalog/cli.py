"""The ``hlsp`` command.

Exit status: 0 success; 1 the thing asked about is not so (``db status`` of a stopped
cluster); 2 usage error or an expected failure (a bad setting, missing PostgreSQL,
unreachable database), reported in one message with what to do, never a stack trace. Every
setting is read and checked when the command starts; an ``HLSP_*`` variable that is no
setting gets a warning naming the closest one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from catalog import __version__
from catalog.config import Settings, unknown_variable_warnings
from catalog.errors import CatalogError, DatabaseUnavailable, EmbeddedClusterError

if TYPE_CHECKING:
    from catalog.db import Database

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
    """The command's catalog database, made when a command first needs it: ``hlsp check``
    needs none, and loads no database library."""
    from catalog.db import Database

    if "db" not in ctx.obj:
        ctx.obj["db"] = Database.from_settings(ctx.obj["settings"])
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
    for warning in unknown_variable_warnings():
        err.print(warning)
    settings = Settings.from_env().with_overrides(
        data_dir=data_dir.absolute() if data_dir else None, database_url=database_url
    )
    ctx.obj = {"settings": settings}


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
    from catalog.db import _describe

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


_WORKERS_HELP = (
    "Server processes (they share async jobs through PostgreSQL) [default: HLSP_WORKERS, "
    "else two per CPU, at most 8]."
)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", "-w", type=click.IntRange(1, 256), default=None, help=_WORKERS_HELP)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="Log every request (uvicorn's access log).",
)
@click.pass_context
@expected_errors
def serve(ctx: click.Context, host: str, port: int, workers: int | None, access_log: bool) -> None:
    """Serve the catalog over HTTP: landing page, /health, /tap and /graphql."""
    database = _database(ctx)
    _ensure_ready(database)
    _serve(ctx, database, host, port, workers=workers, access_log=access_log)


def _serve(
    ctx: click.Context,
    database: Database,
    host: str,
    port: int,
    *,
    workers: int | None = None,
    access_log: bool = True,
) -> None:
    from dataclasses import replace

    from catalog.serving.launch import serve

    settings: Settings = ctx.obj["settings"]
    if workers is not None:
        settings = replace(settings, serving=replace(settings.serving, workers=workers))
    n = settings.serving.workers
    _warn_if_connections_short(database, settings)
    out.print(
        f"serving on http://{host}:{port}/ with {n} process{'es' if n > 1 else ''}  "
        "(Ctrl-C to stop)"
    )
    database.dispose()  # the server processes make their own connections
    serve(settings, host=host, port=port, access_log=access_log)


def _warn_if_connections_short(database: Database, settings: Settings) -> None:
    """Warn when the server's processes may need more connections than the database gives
    (it would answer "too many clients" under load: 503s)."""
    import sqlalchemy as sa

    from catalog.serving.budget import Budget

    per_process = Budget.from_settings(settings.serving).most_connections
    need = settings.serving.workers * per_process
    try:
        with database.engine.connect() as conn:
            limit = int(conn.execute(sa.text("SHOW max_connections")).scalar_one())
            reserved = conn.execute(sa.text("SHOW superuser_reserved_connections")).scalar_one()
    except sa.exc.SQLAlchemyError:
        return  # the server's own checks say what is wrong with the database
    available = limit - int(reserved)
    if need > available:
        err.print(
            f"warning: {settings.serving.workers} processes may hold up to {need} "
            f"database connections ({per_process} each) and the database allows {available}: "
            "under load, requests past that get 503. Lower HLSP_WORKERS or the slots, or "
            "raise max_connections."
        )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--serve/--no-serve", default=True, show_default=True, help="Serve after loading.")
@click.option("--regenerate", is_flag=True, help="Write the demo corpus anew before harvesting.")
@click.pass_context
@expected_errors
def demo(ctx: click.Context, host: str, port: int, serve: bool, regenerate: bool) -> None:
    """Generate a demo HLSP corpus, harvest it, and serve the catalog."""
    from catalog.demo import run_demo

    settings: Settings = ctx.obj["settings"]
    database = _database(ctx)
    _ensure_ready(database)
    # Another harvest running (HarvestBusy, HLSP-031) ends here with exit status 2, as any
    # CatalogError does.
    root, summary = run_demo(database, settings.data_dir, stream=sys.stderr, regenerate=regenerate)
    out.print(f"demo corpus: {root}")
    _print_summary(summary)
    if summary.state != "completed":
        sys.exit(summary.exit_code)
    if serve:
        _serve(ctx, database, host, port)


def _jobs_default() -> int:
    import os

    return os.cpu_count() or 1


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--collection", metavar="ID", help="Collection of every file (overrides HLSPID).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "html"]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this file instead of standard output.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 512),
    default=_jobs_default,
    help="Worker processes [default: number of CPUs].",
)
@click.option("--verbose", "-v", is_flag=True, help="Show the findings of passing files too.")
@click.option(
    "--list-codes",
    is_flag=True,
    help="Print the reference of every finding code (Markdown) and exit.",
)
@expected_errors
def check(  # noqa: PLR0917 (click passes options positionally)
    paths: tuple[Path, ...],
    collection: str | None,
    fmt: str,
    output: Path | None,
    jobs: int,
    verbose: bool,
    list_codes: bool,
) -> None:
    """Check files against MAST's HLSP guidelines (no database needed).

    Exit status: 0 every file passes, 1 something needs review, 3 something fails,
    2 usage error.
    """
    from catalog.harvest.checkrun import run_check
    from catalog.harvest.report import codes_markdown, print_terminal, to_html, to_json

    if list_codes:
        click.echo(codes_markdown(), nl=False)
        return
    if not paths:
        raise click.UsageError("give at least one file or directory to check")
    report = run_check(list(paths), collection=collection, jobs=jobs)
    if fmt == "text":
        console = (
            out
            if output is None
            else Console(
                file=output.open("w", encoding="utf-8"), markup=False, highlight=False, width=120
            )
        )
        print_terminal(report, console, verbose=verbose)
    else:
        text = to_json(report) if fmt == "json" else to_html(report)
        if output is None:
            click.echo(text)
        else:
            output.write_text(text, encoding="utf-8")
    if output is not None:
        err.print(f"report written to {output}: {report.verdict}")
    sys.exit(report.exit_code)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--collection", metavar="ID", help="Collection of every file (overrides HLSPID).")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 512),
    default=_jobs_default,
    help="Worker processes [default: number of CPUs].",
)
@click.option("--force", is_flag=True, help="Re-read files even when size and mtime are unchanged.")
@click.option(
    "--batch-size",
    default=500,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Files per database transaction.",
)
@click.option(
    "--keep-missing",
    is_flag=True,
    help="Do not mark products whose files "
    "disappeared as withdrawn (a file present but damaged withdraws its product "
    "all the same).",
)
@click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help="Progress bar on a terminal, log lines otherwise.",
)
@click.pass_context
@expected_errors
def harvest(  # noqa: PLR0917 (click passes options positionally)
    ctx: click.Context,
    paths: tuple[Path, ...],
    collection: str | None,
    jobs: int,
    force: bool,
    batch_size: int,
    keep_missing: bool,
    progress: bool,
) -> None:
    """Read FITS headers under PATHS into the catalog (incremental and resumable).

    Exit status: 0 every file harvested, 1 some files failed (each is recorded with its
    reason), 2 usage error, or the run could not go on (the database unreachable, gone or
    failing, a worker process killed: one message with a code; the next run completes the
    work), 130 interrupted (the next run completes the work).
    """
    import logging

    from catalog.harvest.run import HarvestOptions
    from catalog.harvest.run import harvest as run_harvest
    from catalog.model.names import hlsp_id

    if collection is not None and hlsp_id(collection) is None:
        raise click.BadParameter(
            f"{collection!r} is not a collection id (lower-case letters, digits and hyphens, "
            "starting with a letter)",
            param_hint="--collection",
        )
    database = _database(ctx)
    _ensure_ready(database)
    options = HarvestOptions(
        paths=list(paths),
        collection=collection,
        jobs=jobs,
        force=force,
        batch_size=batch_size,
        withdraw=not keep_missing,
        progress=progress,
    )
    # A database that goes away ends the run with one message (HLSP-020/022); psycopg's own
    # warnings about the copy or pipeline it could not end on the dead connection would only
    # repeat it, from every worker process.
    logging.getLogger("psycopg").setLevel(logging.ERROR)
    summary = run_harvest(database, options, stream=sys.stderr)
    _print_summary(summary)
    sys.exit(summary.exit_code)


@main.command()
@click.option("--collection", metavar="ID", help="Only the products of this collection.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 64),
    default=None,
    help="Drawings at once [default: HLSP_PREVIEW_WORKERS].",
)
@click.option("--force", is_flag=True, help="Draw again what is cached or remembered as failed.")
@click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help="Progress bar on a terminal.",
)
@click.pass_context
@expected_errors
def previews(
    ctx: click.Context, collection: str | None, jobs: int | None, force: bool, progress: bool
) -> None:
    """Draw the previews and thumbnails of the catalog's products into the server's cache.

    Exit status: 0 every product has its previews or a reason it cannot (printed); 1 some
    ran past their time or memory budget or found no free slot; 2 usage error or the
    database unreachable; 130 interrupted.
    """
    from catalog.delivery.previews.batch import products, run

    database = _database(ctx)
    _ensure_ready(database)
    with database.engine.connect() as conn:
        sources = products(conn, collection)
    if collection is not None and not sources:
        raise click.BadParameter(
            f"no product of a collection {collection!r} in the catalog", param_hint="--collection"
        )
    settings: Settings = ctx.obj["settings"]
    sys.exit(run(settings, sources, jobs=jobs, force=force, progress=progress, out=out, err=err))


def _ensure_ready(database: Database) -> None:
    """:meth:`Database.ensure_ready`, with the embedded cluster's files out of this account's
    reach (a data directory made by another user, its modes changed) said in one message
    (every command that needs the database starts here)."""
    try:
        database.ensure_ready()
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        if database.cluster is None:
            raise DatabaseUnavailable(
                f"Cannot reach the database: {where}{error.strerror or error}"
            ) from error
        raise EmbeddedClusterError(
            f"Cannot use the embedded cluster's files: {where}{error.strerror or error}",
            hint=f"Run hlsp as the account that owns {database.cluster.data_dir} (the one that "
            "created it), or give a data directory of your own (--data-dir or HLSP_DATA_DIR).",
        ) from error


def _print_summary(summary: Any) -> None:
    rate = summary.seen / summary.elapsed if summary.elapsed > 0 else 0.0
    out.print(
        f"run {summary.run_id} {summary.state}: {summary.seen} files seen, {summary.added} added,"
        f" {summary.updated} updated, {summary.unchanged} unchanged, {summary.failed} failed, "
        f"{summary.withdrawn} withdrawn in {summary.elapsed:.1f} s ({rate:,.0f} files/s)"
    )
    if summary.companions:
        out.print(
            f"{summary.companions} other files of the collections recorded (README, previews)"
        )
    if summary.missing_found or summary.missing_still:
        out.print(
            f"files the server could not deliver: {summary.missing_found} seen again by this "
            f"harvest, {summary.missing_still} still missing (listed in hlsp.missing_file)"
        )
    from catalog.harvest.records import terminal_safe

    for failure in summary.failures[:20]:  # a file name may hold escape sequences: shown
        err.print(
            Text.assemble(
                ("failed ", "red"),
                f"{terminal_safe(failure.path)}: {failure.code} ",
                failure.reason,
            )
        )
    if len(summary.failures) > 20:
        err.print(
            f"... and {len(summary.failures) - 20} more: hlsp runs --failures {summary.run_id}"
        )
    for collection, findings in summary.collection_findings.items():
        for finding in findings:
            err.print(f"collection {collection}: {finding.code} {finding.message}")
    if summary.state == "interrupted":
        err.print(
            "interrupted: the catalog holds every batch committed so far; run the same "
            "command again to complete the work"
        )


@main.command()
@click.option(
    "--failures", "failures_of", type=int, metavar="RUN", help="List the failures of this run."
)
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 10000))
@click.pass_context
@expected_errors
def runs(ctx: click.Context, failures_of: int | None, limit: int) -> None:
    """Show recent harvest runs with their counts, or the failures of one run."""
    import sqlalchemy as sa

    database = _database(ctx)
    _ensure_ready(database)
    with database.engine.connect() as conn:
        if failures_of is not None:
            rows = conn.execute(
                sa.text(
                    "SELECT file_path, code, reason FROM hlsp.harvest_failure WHERE run_id = :r "
                    "ORDER BY file_path LIMIT :n"
                ),
                {"r": failures_of, "n": limit},
            ).all()
            for path, code, reason in rows:
                click.echo(f"{path}\t{code}\t{reason}")
            return
        rows = conn.execute(
            sa.text(
                "SELECT run_id, state, started_at, finished_at, files_seen, files_added, "
                "files_updated, files_unchanged, files_failed, files_withdrawn FROM "
                "hlsp.harvest_run ORDER BY run_id DESC LIMIT :n"
            ),
            {"n": limit},
        ).all()
    columns = (
        "run",
        "state",
        "started (UTC)",
        "seen",
        "added",
        "updated",
        "unchanged",
        "failed",
        "withdrawn",
    )
    cells = [(str(r[0]), r[1], f"{r[2]:%Y-%m-%d %H:%M:%S}", *(str(v) for v in r[4:])) for r in rows]
    if not sys.stdout.isatty():  # tab-separated for scripts and logs
        click.echo("\t".join(columns))
        for row in cells:
            click.echo("\t".join(row))
        return
    table = Table(*columns)
    for row in cells:
        table.add_row(*row)
    out.print(table)
