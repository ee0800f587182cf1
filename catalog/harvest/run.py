"""A harvest run: walk, skip what is unchanged, read on a process pool, load in batches.

Guarantees:
- one harvest at a time per catalog (a PostgreSQL advisory lock);
- every batch commits atomically with the run's counters, so Ctrl-C or ``kill -9`` at any
  moment leaves the catalog consistent; the next run redoes only what is missing;
- unchanged files (same path, size and mtime as in the catalog) are not opened;
- files that disappeared from a fully walked tree are marked withdrawn, never deleted;
- every run is recorded with its counts, and every failure with its path and reason;
- a database that goes away or fails mid-run, in this process or in a pool worker, ends the
  run with one :class:`~catalog.errors.CatalogError` (see ``outage``), never a file's failure.
"""

from __future__ import annotations

import contextlib
import gc
import os
import socket
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import psycopg

from catalog import __version__
from catalog.db import Database
from catalog.errors import HarvestBusy, HarvestError
from catalog.harvest.findings import Finding
from catalog.harvest.load import Loader, exact_mtime, skip_reference_triggers
from catalog.harvest.loadpool import LoadContext, load_chunks
from catalog.harvest.outage import database_error, is_outage
from catalog.harvest.perfile import GC_THRESHOLD
from catalog.harvest.progress import Reporter
from catalog.harvest.records import FileFailure, FileTask
from catalog.harvest.rules import MemberFacts, check_collection
from catalog.harvest.walk import Walk, companion_role, has_control, media_type

LOCK_KEY = 0x484C5350  # "HLSP": one harvest at a time per catalog
LOCK_ATTEMPTS = 10  # 0.1 s apart
END_TIMEOUT = 10  # seconds to reach the database to record how a run ended


@dataclass
class HarvestOptions:
    paths: Sequence[Path]
    collection: str | None = None
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    batch_size: int = 500
    force: bool = False  # re-read files even when size and mtime are unchanged
    progress: bool = True
    withdraw: bool = True


@dataclass
class HarvestSummary:
    run_id: int
    state: str = "running"
    seen: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    withdrawn: int = 0
    companions: int = 0  # the collections' other files recorded (README, previews, ...)
    missing_found: int = 0  # files the server had found missing that this walk saw again
    missing_still: int = 0  # files the server found missing, not seen again
    elapsed: float = 0.0
    failures: list[FileFailure] = field(default_factory=list)
    collection_findings: dict[str, list[Finding]] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0: every file harvested; 1: some failed (and are recorded); 130: interrupted."""
        if self.state == "interrupted":
            return 130
        return 1 if self.failed else 0


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Objects that exist now are never collected, and collections are rarer, until exit."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


class Harvest:
    """One run against one catalog database."""

    def __init__(
        self, database: Database, options: HarvestOptions, *, stream: TextIO | None = None
    ) -> None:
        self.database = database
        self.options = options
        self.stream = stream
        self.conn: psycopg.Connection[Any] = psycopg.connect(database.url, autocommit=True)
        self.checks_references = not skip_reference_triggers(self.conn)
        self.known: dict[str, tuple[int, int, bool]] = {}
        self.owners: dict[str, tuple[int, str]] = {}

    def close(self) -> None:
        self.conn.close()

    # -- bookkeeping ------------------------------------------------------------------------------

    def _lock(self) -> None:
        # A harvest that has just ended (interrupted, say, in mid-statement) may still hold
        # the lock for as long as its backend takes to exit: a second is ample for that.
        for attempt in range(LOCK_ATTEMPTS):
            row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
            if row and row[0]:
                break
            if attempt + 1 < LOCK_ATTEMPTS:
                time.sleep(0.1)
        else:
            raise HarvestBusy(
                f"another harvest is running on this catalog ({self._lock_holder()})",
                hint="Wait for it to end (or stop it) and run again; `hlsp runs` lists the runs.",
            )
        # Runs left 'running' by a killed process cannot still be running: we hold the lock.
        self.conn.execute(
            "UPDATE hlsp.harvest_run SET state = 'interrupted', finished_at = "
            "greatest(started_at, now()) WHERE state = 'running'"
        )

    def _lock_holder(self) -> str:
        """Which run holds the harvest lock, as far as the database can tell."""
        try:
            return self._describe_holder()
        except psycopg.Error:  # a diagnosis only: never hide the refusal behind it
            return "which run holds the lock is unknown"

    def _describe_holder(self) -> str:
        backend = self.conn.execute(
            "SELECT l.pid, a.backend_start, a.client_addr, a.application_name FROM pg_locks l "
            "LEFT JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.objsubid = 1 AND l.granted",
            (LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF),
        ).fetchone()
        # The holder marked every older 'running' run interrupted when it took the lock, so
        # the run still 'running' is its own (none yet if it is only starting).
        run = self.conn.execute(
            "SELECT run_id, started_at, host FROM hlsp.harvest_run WHERE state = 'running' "
            "ORDER BY run_id DESC LIMIT 1"
        ).fetchone()
        parts = []
        if run is not None:
            run_id, started, host = run
            parts.append(f"run {run_id}, started {started:%Y-%m-%d %H:%M:%S %Z}".rstrip())
            if host:
                parts[-1] += f" on {host}"
        if backend is not None:
            pid, since, address, application = backend
            session = f"its database session is server process {pid}"
            if since is not None:
                session += f" since {since:%Y-%m-%d %H:%M:%S %Z}".rstrip()
            if address is not None or application:
                session += f" ({', '.join(str(x) for x in (application, address) if x)})"
            parts.append(session)
        return "; ".join(parts) or "its run is not recorded yet"

    def _start_run(self) -> int:
        arguments = {
            "paths": [str(p) for p in self.options.paths],
            "collection": self.options.collection,
            "jobs": self.options.jobs,
            "force": self.options.force,
        }
        row = self.conn.execute(
            "INSERT INTO hlsp.harvest_run (arguments, host, software_version) "
            "VALUES (%s::jsonb, %s, %s) RETURNING run_id",
            (psycopg.types.json.Json(arguments), socket.gethostname(), __version__),
        ).fetchone()
        assert row is not None
        return int(row[0])

    def _known(self) -> dict[str, tuple[int, int, bool]]:
        """path -> (bytes, mtime in µs, withdrawn) of every product in the catalog; also
        fills ``self.owners``: path -> (product_id, hlsp_id) of its live product."""
        rows = self.conn.execute(
            "SELECT p.file_path, p.file_bytes, "
            "(extract(epoch FROM p.file_mtime) * 1000000)::bigint, p.withdrawn_at IS NOT NULL, "
            "p.product_id, c.hlsp_id FROM hlsp.product p JOIN hlsp.collection c "
            "USING (collection_id)"
        ).fetchall()
        self.owners = {
            path: (pid, hlsp) for path, _, _, withdrawn, pid, hlsp in rows if not withdrawn
        }
        return {path: (size, mtime, withdrawn) for path, size, mtime, withdrawn, _, _ in rows}

    # -- the run ----------------------------------------------------------------------------------

    def run(self) -> HarvestSummary:
        started = time.monotonic()
        self._lock()
        summary = HarvestSummary(run_id=self._start_run())
        walk = Walk(list(self.options.paths), collection=self.options.collection)
        loader = Loader(self.conn, summary.run_id)
        members: dict[str, dict[str, MemberFacts]] = {}
        product_ids: dict[str, int] = {}
        try:
            self.known = self._known()
            known = {} if self.options.force else self.known
            with (
                fewer_collections(),
                Reporter("harvest", stream=self.stream, enabled=self.options.progress) as bar,
            ):
                # The pool's workers load while this process walks and hands out chunks.
                context = LoadContext(
                    self.database.url, summary.run_id, self.owners, walk.manifests
                )
                changed = self._changed(walk.tasks(), known, summary, bar)
                for outcome in load_chunks(
                    context, changed, self.options.jobs, self.options.batch_size
                ):
                    summary.added += outcome.added
                    summary.updated += outcome.updated
                    summary.withdrawn += outcome.withdrawn
                    summary.failed += len(outcome.failures)
                    summary.failures.extend(outcome.failures)
                    for path, product_id, collection, facts in outcome.loaded:
                        product_ids[path] = product_id
                        members.setdefault(collection, {})[path] = facts
                    bar.advance(outcome.files, failed=len(outcome.failures))
            self._finish_walk(loader, walk, summary)
            self._collection_checks(loader, walk, members, product_ids, summary)
            self._delivery_records(walk, members, summary)
            summary.state = "completed"
        except KeyboardInterrupt:
            summary.state = "interrupted"
        except psycopg.Error as error:  # in this process's session
            summary.state = "failed"
            if is_outage(error):
                raise database_error(error, summary.run_id) from error
            raise
        except BrokenProcessPool as error:
            summary.state = "failed"
            raise HarvestError(
                f"A harvest worker process ended abruptly during harvest run "
                f"{summary.run_id} (killed, or out of memory?)",
                hint="Every batch committed before is kept. Run the same command again to "
                "complete the work (with fewer --jobs if memory is short).",
            ) from error
        except BaseException:
            summary.state = "failed"
            raise
        finally:
            summary.elapsed = time.monotonic() - started
            self._end_run(summary)
        return summary

    def _changed(
        self,
        tasks: Iterable[FileTask],
        known: dict[str, tuple[int, int, bool]],
        summary: HarvestSummary,
        bar: Reporter,
    ) -> Iterator[FileTask]:
        unchanged_since_update = 0
        for task in tasks:
            summary.seen += 1
            stored = known.get(task.path)
            moved = (
                task.collection is not None
                and task.path in self.owners
                and self.owners[task.path][1] != task.collection
            )
            if (
                stored is not None
                and not stored[2]
                and not moved
                and stored[0] == task.file_bytes
                and stored[1] == task.mtime_ns // 1000
            ):
                summary.unchanged += 1
                unchanged_since_update += 1
                if unchanged_since_update >= 1000:
                    bar.advance(unchanged_since_update)
                    unchanged_since_update = 0
                continue
            yield task
        bar.advance(unchanged_since_update)
        bar.set_total(summary.seen)
        self.conn.execute(
            "UPDATE hlsp.harvest_run SET files_seen = %s, files_unchanged = %s WHERE run_id = %s",
            (summary.seen, summary.unchanged, summary.run_id),
        )

    def _finish_walk(self, loader: Loader, walk: Walk, summary: HarvestSummary) -> None:
        """Record walk failures; withdraw products whose files vanished from a walked tree."""
        with self.conn.transaction():
            loader.record_failures(walk.failures)
            summary.failed += len(walk.failures)
            summary.failures.extend(walk.failures)
            if self.options.withdraw and walk.complete:
                summary.withdrawn += self._withdraw(walk.seen)
            loader.apply_manifests(walk.manifests)
            self.conn.execute(
                "UPDATE hlsp.harvest_run SET files_seen = %s, files_unchanged = %s, "
                "files_failed = %s, files_withdrawn = %s WHERE run_id = %s",
                (
                    summary.seen,
                    summary.unchanged,
                    summary.failed,
                    summary.withdrawn,
                    summary.run_id,
                ),
            )

    def _withdraw(self, present: set[str]) -> int:
        """Mark withdrawn the products under a walked root whose files the walk did not see."""
        roots = [str(Path(p).absolute()) for p in self.options.paths]
        prefixes = tuple(root.rstrip("/") + "/" for root in roots)
        vanished = [
            path
            for path, (_, _, withdrawn) in self.known.items()
            if not withdrawn
            and path not in present
            and (path in roots or path.startswith(prefixes))
        ]
        if not vanished:
            return 0
        cur = self.conn.execute(
            "UPDATE hlsp.product SET withdrawn_at = now() WHERE withdrawn_at IS NULL "
            "AND file_path = ANY(%s)",
            (vanished,),
        )
        return cur.rowcount

    def _collection_checks(
        self,
        loader: Loader,
        walk: Walk,
        members: dict[str, dict[str, MemberFacts]],
        product_ids: dict[str, int],
        summary: HarvestSummary,
    ) -> None:
        """Cross-file checks over the files of each collection this run (re)loaded."""
        for collection, by_path in members.items():
            others = [Path(p).name for p in walk.other_files.get(collection, [])]
            paths = {facts.file_name: path for path, facts in by_path.items()}
            collection_level, per_file = check_collection(
                list(by_path.values()), other_files=others
            )
            if collection_level:
                summary.collection_findings[collection] = collection_level
            found = {
                product_ids[path]: findings
                for file_name, findings in per_file.items()
                if (path := paths.get(file_name)) in product_ids
            }
            with self.conn.transaction():
                loader.add_findings(found)

    def _delivery_records(
        self, walk: Walk, members: dict[str, dict[str, MemberFacts]], summary: HarvestSummary
    ) -> None:
        """What the server needs to deliver files: the roots (nothing outside them is served),
        the collections' other files (README, previews, text beside products), and the files
        the server found missing that this walk saw again (cleared)."""
        roots = {os.path.realpath(p) for p in self.options.paths if Path(p).exists()}
        with self.conn.transaction():
            self.conn.cursor().executemany(
                "INSERT INTO hlsp.harvest_root (root) VALUES (%s) ON CONFLICT DO NOTHING",
                [(root,) for root in sorted(roots)],
            )
            self._companions(walk, members, sorted(roots), summary)
            seen = list(walk.seen) + [p for paths in walk.other_files.values() for p in paths]
            row = self.conn.execute(
                "WITH cleared AS (DELETE FROM hlsp.missing_file WHERE file_path = ANY(%s) "
                "RETURNING 1) SELECT (SELECT count(*) FROM cleared), "
                "(SELECT count(*) FROM hlsp.missing_file)",
                (seen,),
            ).fetchone()
            assert row is not None
            summary.missing_found, summary.missing_still = int(row[0]), int(row[1]) - int(row[0])

    def _companions(
        self,
        walk: Walk,
        members: dict[str, dict[str, MemberFacts]],
        roots: list[str],
        summary: HarvestSummary,
    ) -> None:
        """Record the non-FITS files of the walked collections: a file named for a known
        collection (``hlsp_<id>_...``) belongs to it, any other to the one collection whose
        products share its directory; a file whose real path leaves the roots is left out."""
        by_dir: dict[str, set[str]] = {}
        for path, (_, hlsp) in self.owners.items():
            by_dir.setdefault(path.rpartition("/")[0], set()).add(hlsp)
        for collection, by_path in members.items():
            for path in by_path:
                by_dir.setdefault(path.rpartition("/")[0], set()).add(collection)
        ids = dict(self.conn.execute("SELECT hlsp_id, collection_id FROM hlsp.collection"))
        rows: dict[tuple[int, str], tuple[object, ...]] = {}
        paths = sorted(p for group in walk.other_files.values() for p in group)
        for path in paths:
            folder, _, name = path.rpartition("/")
            if has_control(name) or name.startswith("."):
                continue
            owner = _owner_by_name(name, ids) or _only(by_dir.get(folder, set()))
            real = os.path.realpath(path)
            if owner is None or owner not in ids or not _inside(real, roots):
                continue
            try:
                info = Path(real).stat()
            except OSError:
                continue
            key = (ids[owner], name)
            if key in rows:  # the same name twice in one collection: the first path wins
                continue
            mtime = exact_mtime(info.st_mtime_ns)
            rows[key] = (*key, path, info.st_size, mtime, media_type(name), companion_role(name))
        self.conn.cursor().executemany(
            "INSERT INTO hlsp.companion_file (collection_id, file_name, file_path, file_bytes, "
            "file_mtime, media_type, role) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (collection_id, file_name) DO UPDATE SET file_path = "
            "EXCLUDED.file_path, file_bytes = EXCLUDED.file_bytes, file_mtime = "
            "EXCLUDED.file_mtime, media_type = EXCLUDED.media_type, role = EXCLUDED.role, "
            "last_seen = now()",
            list(rows.values()),
        )
        summary.companions = len(rows)
        if walk.complete:  # gone from a tree walked to the end: no longer delivered
            prefixes = [root.rstrip("/") + "/" for root in roots]
            self.conn.execute(
                "DELETE FROM hlsp.companion_file WHERE file_path <> ALL(%s) AND "
                "(file_path = ANY(%s) OR file_path LIKE ANY(%s))",
                (
                    [str(row[2]) for row in rows.values()],
                    roots,
                    [_like_prefix(p) for p in prefixes],
                ),
            )

    def _end_run(self, summary: HarvestSummary) -> None:
        """Record how the run ended, on a fresh connection (an interrupt may have left the
        working one mid-statement), then release the harvest lock and close the working one.
        The lock is released explicitly when that session is idle: a closed session's locks
        go only once its backend has exited, which can be after a harvest started next asks
        for it (closing releases it otherwise). Recording first means a harvest started next
        never finds this run still 'running' (it would mark it interrupted)."""
        try:
            with psycopg.connect(
                self.database.url, autocommit=True, connect_timeout=END_TIMEOUT
            ) as conn:
                conn.execute(
                    "UPDATE hlsp.harvest_run SET state = %s, finished_at = now() WHERE run_id = %s",
                    (summary.state, summary.run_id),
                )
        except psycopg.Error:
            pass  # the database went away: the next run marks this one interrupted
        try:
            if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                self.conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        except psycopg.Error:
            pass  # closing releases it
        self.conn.close()


def harvest(
    database: Database, options: HarvestOptions, *, stream: TextIO | None = None
) -> HarvestSummary:
    """Run one harvest (see the module docstring for what it guarantees).

    Raises :class:`~catalog.errors.CatalogError` when the run cannot go on (the database
    went away or failed, a worker process died, another harvest is running): the run is
    recorded as failed where the database can still be reached, and the next run completes
    the work."""
    try:
        runner = Harvest(database, options, stream=stream)
    except psycopg.Error as error:
        if is_outage(error):
            raise database_error(error) from error
        raise
    try:
        return runner.run()
    finally:
        runner.close()


def _owner_by_name(name: str, ids: Mapping[str, int]) -> str | None:
    """The collection an HLSP file name names (``hlsp_<id>_...``), when it is known."""
    parts = name.lower().split("_")
    if len(parts) >= 3 and parts[0] == "hlsp" and parts[1] in ids:
        return parts[1]
    return None


def _only(values: set[str]) -> str | None:
    return next(iter(values)) if len(values) == 1 else None


def _inside(path: str, roots: Sequence[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
