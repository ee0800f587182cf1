"""Bulk loading of harvested records: COPY into staging, upsert, link, all in one transaction.

A batch is loaded atomically: its products (upserted on (collection, file name)), their
findings, provenance and target links, the failures of the batch and the run's counters
commit together or not at all. An interrupted run therefore leaves the catalog exactly as
of its last committed batch, and the next run redoes only what is missing (the files the
catalog does not know with the same size and mtime).

Every statement is fixed SQL; values travel as COPY data or bound parameters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from catalog.harvest import copytext
from catalog.harvest.findings import Finding, Severity
from catalog.harvest.ids import Sequences
from catalog.harvest.manifest import Manifest, clean_doi
from catalog.harvest.outage import is_outage
from catalog.harvest.plausible import is_exposure, is_mjd
from catalog.harvest.records import REJECTED, FileFailure, ProductRecord
from catalog.harvest.targets import TargetResolver
from catalog.model.base import DATAPRODUCT_TYPES
from catalog.sphere import bounding_circle, wrap_ra

_CONFLICTS = (psycopg.errors.DeadlockDetected, psycopg.errors.LockNotAvailable)
"""Errors that say two loaders collided, not that a file is wrong."""
TARGET_LOCK = 0x484C5354  # "HLST": one loader at a time resolves target names

# (column, staging type): geometry and JSON travel as text and are cast on insert.
_STAGED = (
    ("collection_id", "bigint"), ("file_name", "text"), ("file_path", "text"),
    ("file_format", "text"), ("file_bytes", "bigint"), ("file_mtime", "timestamptz"),
    ("hdu_count", "int"), ("product_version", "text"), ("product_type", "text"),
    ("dataproduct_type", "text"), ("calib_level", "smallint"), ("observatory", "text"),
    ("telescope", "text"), ("instrument", "text"), ("detector", "text"),
    ("filter_name", "text"), ("aperture", "text"), ("disperser", "text"),
    ("target_name", "text"), ("pos", "text"), ("footprint", "text"),
    ("footprint_bound", "text"), ("s_fov", "float8"),
    ("s_xel1", "int"), ("s_xel2", "int"), ("t_min", "float8"), ("t_max", "float8"),
    ("time_scale", "text"), ("t_exptime", "float8"), ("t_xel", "bigint"), ("em_min", "float8"),
    ("em_max", "float8"), ("em_xel", "int"), ("simulated", "boolean"), ("headers", "text"),
    ("verdict", "text"), ("harvest_run_id", "bigint"),
)  # fmt: skip
PRODUCT_COLUMNS = tuple(column for column, _ in _STAGED)
_CASTS = {
    "pos": "::spoint",
    "footprint": "::spoly",
    "footprint_bound": "::scircle",
    "headers": "::json",
}
_STAGE_SQL = (
    "CREATE TEMP TABLE IF NOT EXISTS stage_product (row_no int, "
    + ", ".join(f"{c} {t}" for c, t in _STAGED)
    + ") ON COMMIT DELETE ROWS"
)
_UPSERT_SQL = (
    "INSERT INTO hlsp.product (" + ", ".join(PRODUCT_COLUMNS) + ", last_harvested) "
    "SELECT " + ", ".join(c + _CASTS.get(c, "") for c in PRODUCT_COLUMNS) + ", now() "
    "FROM stage_product ORDER BY row_no "
    "ON CONFLICT (collection_id, file_name) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in PRODUCT_COLUMNS[2:])
    + ", last_harvested = now(), withdrawn_at = NULL "
    "RETURNING product_id, collection_id, file_name, (xmax = 0) AS inserted"
)


@dataclass
class BatchOutcome:
    added: int = 0
    updated: int = 0
    failed: int = 0
    product_ids: dict[str, int] = field(default_factory=dict)  # path -> product_id
    rejected: list[FileFailure] = field(default_factory=list)


def _mtime(ns: int) -> datetime:
    """The mtime to the microsecond, exactly (a float of ns/1e9 loses the last digits)."""
    seconds, nanoseconds = divmod(ns, 10**9)
    return datetime.fromtimestamp(seconds, tz=UTC) + timedelta(microseconds=nanoseconds // 1000)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _bound_footprint(record: ProductRecord) -> None:
    """A footprint with the circle that holds it (what the catalog indexes), or neither: the
    catalog checks both. The one place circles are made for the harvest."""
    if record.footprint and record.footprint_bound is None:
        try:
            record.footprint_bound = bounding_circle(record.footprint)
        except ValueError:
            record.footprint = None
    if not record.footprint:
        record.footprint, record.footprint_bound = None, None


def _time(value: float | None) -> float | None:
    return value if value is not None and is_mjd(value) else None


def sanitize(record: ProductRecord) -> None:
    """Drop extracted values that would break a catalog constraint or lie outside the
    plausible ranges (:mod:`catalog.harvest.plausible`; extraction reports those it drops,
    the rules report the others)."""
    record.t_min, record.t_max = _time(record.t_min), _time(record.t_max)
    if record.t_min is None or record.t_max is None or record.t_min > record.t_max:
        record.t_min = record.t_max = None
    record.em_min, record.em_max = _finite(record.em_min), _finite(record.em_max)
    if record.em_min is None or record.em_max is None or not 0 < record.em_min <= record.em_max:
        record.em_min = record.em_max = None
    if record.t_exptime is not None and not is_exposure(record.t_exptime):
        record.t_exptime = None
    record.s_fov = _finite(record.s_fov)
    if record.s_fov is not None and not 0 < record.s_fov <= 360:
        record.s_fov = None
    for name in ("s_xel1", "s_xel2", "t_xel", "em_xel"):
        value = getattr(record, name)
        if value is not None and not 0 <= value < 2**31:
            setattr(record, name, None)
    _bound_footprint(record)
    if record.dataproduct_type not in DATAPRODUCT_TYPES:
        record.dataproduct_type = None
    if record.ra is not None and record.dec is not None:
        if not (math.isfinite(record.ra) and math.isfinite(record.dec) and -90 <= record.dec <= 90):
            record.ra = record.dec = None
        else:
            record.ra = wrap_ra(record.ra)


def skip_reference_triggers(conn: psycopg.Connection[Any]) -> bool:
    """Let this session's writes skip PostgreSQL's per-row foreign-key triggers, when the
    role may (``session_replication_role`` is for superusers): True if they are skipped.

    Every reference a harvest writes points at a row it made in the same transaction (child
    rows of the products it has just inserted, targets it has just created) or at a
    committed row nothing in the product deletes (its own run, the collections it upserted,
    targets it found). Only an operator deleting such a row *during* a harvest could leave
    a reference dangling: nothing locks them. Each per-row check re-reads the referenced row
    through SPI, ~3 µs a row: a third of PostgreSQL's work in a cold load. The constraints
    stay declared and enforced for every other writer (and their ON DELETE actions act on
    the harvester's rows as on any), as ``pg_restore --disable-triggers`` does. Without the
    privilege the checks simply run."""
    try:
        with conn.transaction():
            conn.execute("SET session_replication_role = replica")
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


def _same_name(record: ProductRecord, other_path: str) -> FileFailure:
    reason = REJECTED(
        f"{other_path} has the same file name in collection {record.collection};"
        " a name must be unique within a collection"
    ).message
    return FileFailure(record.path, REJECTED.code, reason, record.file_bytes, record.mtime_ns)


class Loader:
    """Writes batches through one psycopg connection (the caller owns transactions)."""

    def __init__(self, conn: psycopg.Connection[Any], run_id: int) -> None:
        self.conn = conn
        self.run_id = run_id
        self.collections: dict[str, int] = {}
        self.manifests: dict[str, Manifest] = {}
        self.sequences = Sequences(conn)
        with conn.cursor() as cur:
            cur.execute(_STAGE_SQL)

    # -- collections --------------------------------------------------------------------------

    def collection_id(self, record: ProductRecord) -> int:
        """The id of the record's collection, created or refreshed from the headers."""
        assert record.collection is not None
        known = self.collections.get(record.collection)
        if known is not None:
            return known
        facts = record.facts
        manifest = self.manifests.get(record.collection, Manifest())
        values = {
            "hlsp_id": record.collection,
            "title": manifest.title or facts.title,
            "project_lead": manifest.lead or facts.lead,
            "description": manifest.description,
            "doi": clean_doi(manifest.doi) or clean_doi(facts.doi),
            "license": manifest.license or facts.license,
            "license_url": facts.license_url,
            "reference_paper": manifest.reference or facts.reference,
            "landing_url": manifest.landing_url,
            "release_date": (
                datetime.combine(manifest.release_date, datetime.min.time(), UTC)
                if manifest.release_date
                else None
            ),
        }
        with self.conn.cursor() as cur:
            cur.execute(
                "INSERT INTO hlsp.collection (hlsp_id, title, project_lead, description, doi, "
                "license, license_url, reference_paper, landing_url, release_date) VALUES "
                "(%(hlsp_id)s, %(title)s, %(project_lead)s, %(description)s, %(doi)s, "
                "%(license)s, %(license_url)s, %(reference_paper)s, %(landing_url)s, "
                "%(release_date)s) ON CONFLICT (hlsp_id) DO UPDATE SET "
                "title = coalesce(EXCLUDED.title, collection.title), "
                "project_lead = coalesce(EXCLUDED.project_lead, collection.project_lead), "
                "description = coalesce(EXCLUDED.description, collection.description), "
                "doi = coalesce(EXCLUDED.doi, collection.doi), "
                "license = coalesce(EXCLUDED.license, collection.license), "
                "license_url = coalesce(EXCLUDED.license_url, collection.license_url), "
                "reference_paper = coalesce(EXCLUDED.reference_paper, collection.reference_paper),"
                " landing_url = coalesce(EXCLUDED.landing_url, collection.landing_url), "
                "release_date = coalesce(EXCLUDED.release_date, collection.release_date), "
                "last_harvested = now() RETURNING collection_id",
                values,
            )
            row = cur.fetchone()
        assert row is not None
        self.collections[record.collection] = int(row[0])
        return int(row[0])

    def ensure_collections(self, records: Sequence[ProductRecord]) -> None:
        """Create or refresh the records' collections, each upsert a transaction of its own
        (call outside the batch's): loaders working in parallel on one collection then never
        wait for each other's batch to commit to get at its row."""
        for record in records:
            if record.collection is not None and record.collection not in self.collections:
                self.collection_id(record)

    # -- products -----------------------------------------------------------------------------

    def load_safely(self, records: Sequence[ProductRecord]) -> BatchOutcome:
        """:meth:`load` under a savepoint; if PostgreSQL rejects something, load the records
        one by one and record each one it rejects as a failure, so one bad file never costs
        the others. An error that is the database's, not a product's (see
        :mod:`catalog.harvest.outage`), is raised: no file is recorded for it."""
        try:
            with self.conn.transaction():
                return self.load(records)
        except _CONFLICTS:
            raise  # a lock conflict with another loader: the caller retries the whole batch
        except psycopg.Error as error:
            if is_outage(error):
                raise  # the database failed, not a product: no file is to blame
            self.collections.clear()  # ids made inside the rolled-back savepoint are gone
        outcome = BatchOutcome()
        for record in records:
            try:
                with self.conn.transaction():
                    one = self.load([record])
            except _CONFLICTS:
                raise
            except psycopg.Error as error:
                if is_outage(error):
                    raise
                self.collections.clear()
                reason = getattr(error.diag, "message_primary", None) or str(error)
                outcome.rejected.append(
                    FileFailure(
                        record.path,
                        REJECTED.code,
                        REJECTED(f"PostgreSQL refused the product: {reason}").message,
                        record.file_bytes,
                        record.mtime_ns,
                    )
                )
                continue
            outcome.added += one.added
            outcome.updated += one.updated
            outcome.product_ids.update(one.product_ids)
            outcome.rejected += one.rejected
        return outcome

    def load(self, records: Sequence[ProductRecord]) -> BatchOutcome:
        """Upsert the records and everything linked to them (inside the caller's transaction).

        New products are COPied straight into the table with pre-allocated ids; products
        the catalog already holds go through a staging table and one upsert.
        """
        outcome = BatchOutcome()
        if not records:
            return outcome
        by_key: dict[tuple[int, str], ProductRecord] = {}
        for record in records:
            collection_id = self.collection_id(record)
            key = (collection_id, record.file_name)
            if key in by_key:  # same name twice in one collection: keep the first
                outcome.rejected.append(_same_name(record, by_key[key].path))
                continue
            sanitize(record)
            by_key[key] = record
        existing = self._existing(list(by_key))
        for key, (_, stored_path) in list(existing.items()):
            record = by_key[key]
            if stored_path != record.path and Path(stored_path).exists():
                outcome.rejected.append(_same_name(record, stored_path))
                del by_key[key], existing[key]
        new_keys = [k for k in by_key if k not in existing]
        ids: dict[int, ProductRecord] = {}
        with self.conn.cursor() as cur:
            if new_keys:
                new_ids = self.sequences.draw("hlsp.product", "product_id", len(new_keys))
                end = f"\t{copytext.text(str(datetime.now(UTC)))}\n"  # last_harvested
                lines: list[str] = []
                for product_id, key in zip(new_ids, new_keys, strict=True):
                    record = by_key[key]
                    lines.append(
                        copytext.product_line(product_id, record, key[0], self.run_id, end)
                    )
                    ids[product_id] = record
                with cur.copy(
                    "COPY hlsp.product (product_id, "
                    + ", ".join(PRODUCT_COLUMNS)
                    + ", last_harvested) FROM STDIN"
                ) as copy:
                    copy.write("".join(lines))
                outcome.added = len(new_keys)
            if existing:
                with cur.copy(
                    "COPY stage_product (row_no, " + ", ".join(PRODUCT_COLUMNS) + ") FROM STDIN"
                ) as copy:
                    copy.write(
                        "".join(
                            [
                                copytext.product_line(no, by_key[key], key[0], self.run_id, "\n")
                                for no, key in enumerate(existing)
                            ]
                        )
                    )
                cur.execute(_UPSERT_SQL)
                for product_id, collection_id, file_name, inserted in cur.fetchall():
                    ids[int(product_id)] = by_key[(collection_id, file_name)]
                    outcome.added += bool(inserted)
                    outcome.updated += not inserted
                cur.execute("TRUNCATE stage_product")
        for product_id, record in ids.items():
            outcome.product_ids[record.path] = product_id
        self._children(ids, replace=[product_id for product_id, _ in existing.values()])
        return outcome

    def _existing(self, keys: list[tuple[int, str]]) -> dict[tuple[int, str], tuple[int, str]]:
        """(collection_id, file_name) -> (product_id, file_path) of the keys already held."""
        with self.conn.cursor() as cur:
            # One probe of the unique index per key (LIMIT keeps the subquery from being
            # flattened into a join): while a cold load grows the table faster than its
            # statistics, the planner would hash the whole table for every batch.
            cur.execute(
                "SELECT k.c, k.f, p.product_id, p.file_path "
                "FROM unnest(%s::bigint[], %s::text[]) AS k(c, f) "
                "CROSS JOIN LATERAL (SELECT product_id, file_path FROM hlsp.product "
                "WHERE collection_id = k.c AND file_name = k.f LIMIT 1) AS p",
                (
                    copytext.int_array([k[0] for k in keys]),
                    copytext.text_array([k[1] for k in keys]),
                ),
            )
            return {(int(c), str(f)): (int(p), str(path)) for c, f, p, path in cur.fetchall()}

    def _children(self, ids: dict[int, ProductRecord], replace: list[int]) -> None:
        """Findings (errors and warnings: info-level advice is for ``hlsp check`` reports),
        provenance and target links of the products; ``replace`` lists those that had some."""
        with self.conn.cursor() as cur:
            for table in (
                "product_finding",
                "provenance_input",
                "provenance_software",
                "product_target",
            ):
                if replace:
                    cur.execute(
                        f"DELETE FROM hlsp.{table} WHERE product_id = ANY(%s)",  # noqa: S608
                        (replace,),
                    )
            with cur.copy(
                "COPY hlsp.product_finding (product_id, finding_index, code, severity, "
                "hdu, keyword, message) FROM STDIN"
            ) as copy:
                copy.write(
                    "".join(
                        copytext.finding_lines(product_id, record.findings)
                        for product_id, record in ids.items()
                    )
                )
            with cur.copy(
                "COPY hlsp.provenance_input (product_id, input_index, kind, identifier,"
                " source, program_id, telescope, instrument, t_min, t_max) FROM STDIN"
            ) as copy:
                copy.write(
                    "".join(
                        copytext.input_lines(product_id, record.inputs)
                        for product_id, record in ids.items()
                    )
                )
            with cur.copy(
                "COPY hlsp.provenance_software (product_id, software_index, name, "
                "software_version, source) FROM STDIN"
            ) as copy:
                copy.write(
                    "".join(
                        copytext.software_lines(product_id, record.software)
                        for product_id, record in ids.items()
                    )
                )
        with self.conn.cursor() as cur:  # held to the commit: a name is created once
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (TARGET_LOCK,))
        links = TargetResolver(self.conn, self.sequences).resolve(ids)
        if links:
            with (
                self.conn.cursor() as cur,
                cur.copy("COPY hlsp.product_target (product_id, target_id) FROM STDIN") as copy,
            ):
                copy.write(copytext.link_lines(sorted(links)))

    # -- audit --------------------------------------------------------------------------------

    def record_failures(self, failures: Sequence[FileFailure]) -> None:
        if not failures:
            return
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO hlsp.harvest_failure (run_id, file_path, code, reason, file_bytes, "
                "file_mtime) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (run_id, file_path) DO "
                "UPDATE SET code = EXCLUDED.code, reason = EXCLUDED.reason",
                [
                    (
                        self.run_id,
                        f.path,
                        f.code,
                        f.reason,
                        f.file_bytes,
                        _mtime(f.mtime_ns) if f.mtime_ns is not None else None,
                    )
                    for f in failures
                ],
            )

    def apply_manifests(self, manifests: dict[str, Manifest]) -> None:
        """Write every manifest's values over its collection (run at the end of a walk, so an
        edited manifest takes effect even when no FITS file of the collection changed)."""
        with self.conn.cursor() as cur:
            for hlsp_id, m in manifests.items():
                released = (
                    datetime.combine(m.release_date, datetime.min.time(), UTC)
                    if m.release_date
                    else None
                )
                cur.execute(
                    "UPDATE hlsp.collection SET title = coalesce(%s, title), "
                    "project_lead = coalesce(%s, project_lead), "
                    "description = coalesce(%s, description), doi = coalesce(%s, doi), "
                    "license = coalesce(%s, license), "
                    "reference_paper = coalesce(%s, reference_paper), "
                    "landing_url = coalesce(%s, landing_url), "
                    "release_date = coalesce(%s, release_date) WHERE hlsp_id = %s",
                    (
                        m.title,
                        m.lead,
                        m.description,
                        m.doi,
                        m.license,
                        m.reference,
                        m.landing_url,
                        released,
                        hlsp_id,
                    ),
                )

    def withdraw(self, product_ids: Sequence[int]) -> int:
        """Mark products withdrawn (their file now belongs to another collection)."""
        if not product_ids:
            return 0
        with self.conn.cursor() as cur:
            cur.execute(
                "UPDATE hlsp.product SET withdrawn_at = now() WHERE withdrawn_at IS "
                "NULL AND product_id = ANY(%s)",
                (list(product_ids),),
            )
            return cur.rowcount

    def add_findings(self, findings: Mapping[int, Sequence[Finding]]) -> None:
        """Append cross-file findings to stored products (product id -> its new findings;
        info-level ones are left out) and worsen their verdicts where needed: a constant
        number of statements for any number of products."""
        kept = {
            product_id: [f for f in found if f.severity != Severity.INFO]
            for product_id, found in findings.items()
        }
        kept = {product_id: found for product_id, found in kept.items() if found}
        if not kept:
            return
        ids = sorted(kept)
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT product_id, max(finding_index) FROM hlsp.product_finding "
                "WHERE product_id = ANY(%s) GROUP BY product_id",
                (ids,),
            )
            last = {int(product_id): int(index) for product_id, index in cur.fetchall()}
            with cur.copy(
                "COPY hlsp.product_finding (product_id, finding_index, code, severity, "
                "hdu, keyword, message) FROM STDIN"
            ) as copy:
                copy.write(
                    "".join(
                        copytext.finding_lines(
                            product_id, kept[product_id], start=last.get(product_id, 0) + 1
                        )
                        for product_id in ids
                    )
                )
            cur.execute(
                "UPDATE hlsp.product p SET verdict = CASE "
                "WHEN EXISTS (SELECT 1 FROM hlsp.product_finding f WHERE f.product_id = "
                "p.product_id AND f.severity = 'error') THEN 'FAIL' "
                "WHEN EXISTS (SELECT 1 FROM hlsp.product_finding f WHERE f.product_id = "
                "p.product_id AND f.severity = 'warning') THEN 'NEEDS REVIEW' ELSE 'PASS' END "
                "WHERE p.product_id = ANY(%s)",
                (ids,),
            )
