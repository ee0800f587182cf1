"""``hlsp previews``: draw the previews and thumbnails of the catalog's products ahead of
requests, into the cache the server reads.

:func:`products` lists the products (not withdrawn) of the catalog or of one collection;
:func:`pregenerate` draws both variants of each on ``jobs`` threads, each drawing in a
budgeted child process, with a progress bar, and sums up what happened; :func:`report`
prints the summary and :func:`run` does all three for the command. A product counts as
*done* when both its pictures exist or the file cannot be drawn (:class:`PreviewError`: the
reason is reported and remembered); it is *unfinished* when a drawing ran past its budget or
found no free slot, which another run (or a larger budget) may complete.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from catalog.delivery.lookup import graphic_names
from catalog.delivery.previews.errors import PreviewBudgetExceeded, PreviewBusy, PreviewError
from catalog.delivery.previews.service import SIZES, PreviewService, PreviewSource, Variant

if TYPE_CHECKING:
    from typing import IO

    from catalog.config import Settings

LOG_EVERY = 10.0  # seconds between two progress lines when the output is no terminal
PRODUCTS = sa.text(
    "SELECT c.hlsp_id, p.file_name, p.obs_id, p.file_path, p.dataproduct_type, p.product_type "
    "FROM hlsp.product p JOIN hlsp.collection c USING (collection_id) "
    "WHERE p.withdrawn_at IS NULL AND (CAST(:hlsp_id AS text) IS NULL OR c.hlsp_id = :hlsp_id) "
    "ORDER BY c.hlsp_id, p.file_name"
)


GRAPHICS = sa.text(
    "SELECT c.hlsp_id, f.file_name, f.file_path FROM hlsp.companion_file f "
    "JOIN hlsp.collection c USING (collection_id) WHERE f.role = 'graphic' "
    "AND (CAST(:hlsp_id AS text) IS NULL OR c.hlsp_id = :hlsp_id)"
)


def products(conn: sa.Connection, collection: str | None = None) -> list[PreviewSource]:
    """The products to draw: every one not withdrawn, or those of ``collection``, each with
    the collection's own graphic for it when it ships one (as the server matches it)."""
    graphics = {
        (r.hlsp_id, r.file_name): Path(r.file_path)
        for r in conn.execute(GRAPHICS, {"hlsp_id": collection})
    }
    rows = conn.execute(PRODUCTS, {"hlsp_id": collection}).all()
    return [
        PreviewSource(
            hlsp_id=row.hlsp_id,
            file_name=row.file_name,
            path=Path(row.file_path),
            dataproduct_type=row.dataproduct_type,
            product_type=row.product_type,
            shipped=next(
                (
                    graphics[(row.hlsp_id, name)]
                    for name in graphic_names(row.obs_id)
                    if (row.hlsp_id, name) in graphics
                ),
                None,
            ),
        )
        for row in rows
    ]


@dataclass
class BatchSummary:
    """What a run did: pictures ``made`` and found ``cached`` already; products that
    ``failed`` (cannot be drawn: the reason) or are ``unfinished`` (budget or busy)."""

    products: int = 0
    made: int = 0
    cached: int = 0
    failed: list[tuple[PreviewSource, str]] = field(default_factory=list)
    unfinished: list[tuple[PreviewSource, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0: every product has its pictures or a reason it cannot; 1: some are unfinished."""
        return 1 if self.unfinished else 0


def _one(service: PreviewService, source: PreviewSource, force: bool) -> tuple[int, int, str]:
    """(made, cached, reason) for both variants of ``source``; raises what is unfinished."""
    made = cached = 0
    for variant in SIZES:
        name: Variant = "thumbnail" if variant == "thumbnail" else "preview"
        if not force and service.is_cached(source, name):
            cached += 1
            continue
        try:
            service.get_blocking(source, name, force=force)
        except PreviewBudgetExceeded:
            raise
        except PreviewError as error:
            return made, cached, error.message
        made += 1
    return made, cached, ""


def pregenerate(
    service: PreviewService,
    sources: list[PreviewSource],
    *,
    jobs: int,
    force: bool = False,
    progress: bool = True,
    stream: IO[str],
) -> BatchSummary:
    """Draw the previews and thumbnails of ``sources`` on ``jobs`` threads (``force``: even
    those cached or remembered as failed); ``progress``: a bar on a terminal, else a line
    every :data:`LOG_EVERY` seconds."""
    summary = BatchSummary(products=len(sources))
    console = Console(file=stream, markup=False, highlight=False)
    bar = Progress(
        "previews", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
    task = bar.add_task("previews", total=len(sources))
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="hlsp-previews")
    terminal = progress and stream.isatty()
    last_line = time.monotonic()
    try:
        futures = [(s, pool.submit(_one, service, s, force)) for s in sources]
        with bar if terminal else _Quiet():
            for done, (source, future) in enumerate(futures, 1):
                try:
                    made, cached, reason = future.result()
                except (PreviewBudgetExceeded, PreviewBusy) as error:
                    summary.unfinished.append((source, error.message))
                else:
                    summary.made += made
                    summary.cached += cached
                    if reason:
                        summary.failed.append((source, reason))
                bar.advance(task)
                if progress and not terminal and time.monotonic() - last_line >= LOG_EVERY:
                    last_line = time.monotonic()
                    print(f"previews: {done}/{len(sources)} products", file=stream, flush=True)
    except BaseException:  # Ctrl-C: no new drawing starts, those under way are killed
        pool.shutdown(wait=False, cancel_futures=True)
        service.close()
        raise
    pool.shutdown()
    return summary


class _Quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def report(
    summary: BatchSummary, directory: Path, out: Console, err: Console, most: int = 50
) -> None:
    """The run's counts on ``out``; each product that failed or is unfinished, with its
    reason, on ``err`` (``most`` of each)."""
    out.print(
        f"{summary.products} products: {summary.made} pictures drawn, {summary.cached} cached "
        f"already, {len(summary.failed)} cannot be drawn, {len(summary.unfinished)} "
        f"unfinished; cache {directory}"
    )
    for label, items in (("cannot draw", summary.failed), ("unfinished", summary.unfinished)):
        for source, reason in items[:most]:
            err.print(f"{label} {source.hlsp_id}: {reason}")
        if len(items) > most:
            err.print(f"... and {len(items) - most} more")
    if summary.unfinished:
        err.print(
            "unfinished products may be drawn by running the command again, or with a larger "
            "HLSP_PREVIEW_TIMEOUT or HLSP_PREVIEW_MEMORY"
        )


def run(
    settings: Settings,
    sources: list[PreviewSource],
    *,
    jobs: int | None,
    force: bool,
    progress: bool,
    out: Console,
    err: Console,
) -> int:
    """``hlsp previews``: draw ``sources`` with the settings' service (``jobs`` drawing
    processes, else ``HLSP_PREVIEW_WORKERS``), report, and return the exit status."""
    service = PreviewService.from_settings(settings, workers=jobs)
    try:
        summary = pregenerate(
            service,
            sources,
            jobs=service.renderer.workers,
            force=force,
            progress=progress,
            stream=err.file,
        )
    finally:
        service.close()
    report(summary, service.cache.directory, out, err)
    return summary.exit_code
