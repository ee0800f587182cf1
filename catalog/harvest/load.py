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
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from catalog.harvest.extract import target_key
from catalog.harvest.findings import Finding, Severity, rule
from catalog.harvest.records import FileFailure, ProductRecord, TargetRef
from catalog.harvest.skywcs import angular_distance
from catalog.model.base import DATAPRODUCT_TYPES
from catalog.sphere import wrap_ra

MATCH_RADIUS_ARCSEC = 3.0
"""Names that differ but sit within this distance resolve to one target."""
NAME_MATCH_LIMIT_ARCSEC = 60.0
"""A name match farther than this is a different object sharing a generic name ('Field 1')."""

REJECTED = rule(
    "HLSP-R102", Severity.ERROR, "Database rejected the product",
    "The values read from the headers break a catalog constraint; fix the header values.",
)  # fmt: skip

# (column, staging type): geometry and JSON travel as text and are cast on insert.
_STAGED = (
    ("collection_id", "bigint"), ("file_name", "text"), ("file_path", "text"),
    ("file_format", "text"), ("file_bytes", "bigint"), ("file_mtime", "timestamptz"),
    ("hdu_count", "int"), ("product_version", "text"), ("product_type", "text"),
    ("dataproduct_type", "text"), ("calib_level", "smallint"), ("observatory", "text"),
    ("telescope", "text"), ("instrument", "text"), ("detector", "text"),
    ("filter_name", "text"), ("aperture", "text"), ("disperser", "text"),
    ("target_name", "text"), ("pos", "text"), ("footprint", "text"), ("s_fov", "float8"),
    ("s_xel1", "int"), ("s_xel2", "int"), ("t_min", "float8"), ("t_max", "float8"),
    ("time_scale", "text"), ("t_exptime", "float8"), ("t_xel", "bigint"), ("em_min", "float8"),
    ("em_max", "float8"), ("em_xel", "int"), ("simulated", "boolean"), ("headers", "text"),
    ("verdict", "text"), ("harvest_run_id", "bigint"),
)  # fmt: skip
PRODUCT_COLUMNS = tuple(column for column, _ in _STAGED)
_CASTS = {"pos": "::spoint", "footprint": "::spoly", "headers": "::jsonb"}
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


@dataclass(frozen=True)
class Manifest:
    """Collection metadata from an optional ``hlsp-collection.toml`` (overrides headers)."""

    hlsp_id: str | None = None
    title: str | None = None
    lead: str | None = None
    doi: str | None = None
    description: str | None = None
    release_date: date | None = None
    reference: str | None = None
    landing_url: str | None = None
    license: str | None = None

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Parse a manifest; ValueError says what is wrong with it."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ValueError(f"cannot read {path.name}: {error}") from error
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path.name}: unknown keys {unknown}; allowed: {sorted(known)}")
        values: dict[str, Any] = {}
        for key, raw in data.items():
            values[key] = _release_date(path, raw) if key == "release_date" else raw
            if key != "release_date" and not isinstance(raw, str):
                raise ValueError(f"{path.name}: {key} must be a string")
        if "doi" in values:
            values["doi"] = clean_doi(values["doi"])
            if values["doi"] is None:
                raise ValueError(f"{path.name}: doi {data['doi']!r} is not a DOI (10.xxxx/...)")
        return cls(**values)


def _release_date(path: Path, value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{path.name}: release_date {value!r} is not a date (YYYY-MM-DD)")


@dataclass
class BatchOutcome:
    added: int = 0
    updated: int = 0
    failed: int = 0
    product_ids: dict[str, int] = field(default_factory=dict)  # path -> product_id
    rejected: list[FileFailure] = field(default_factory=list)


_DOI = re.compile(r"^10\.[0-9]{4,9}/\S+$")
_DOI_PREFIX = re.compile(r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/)", re.IGNORECASE)


def clean_doi(value: str | None) -> str | None:
    """A bare DOI (10.x/y) from 'doi:…' or 'https://doi.org/…' forms; None if not a DOI."""
    if not value:
        return None
    bare = _DOI_PREFIX.sub("", value.strip())
    return bare if _DOI.match(bare) else None


def _mtime(ns: int) -> datetime:
    """The mtime to the microsecond, exactly (a float of ns/1e9 loses the last digits)."""
    seconds, nanoseconds = divmod(ns, 10**9)
    return datetime.fromtimestamp(seconds, tz=UTC) + timedelta(microseconds=nanoseconds // 1000)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def sanitize(record: ProductRecord) -> None:
    """Drop extracted values that would break a catalog constraint (the rules report them)."""
    record.t_min, record.t_max = _finite(record.t_min), _finite(record.t_max)
    if record.t_min is None or record.t_max is None or record.t_min > record.t_max:
        record.t_min = record.t_max = None
    record.em_min, record.em_max = _finite(record.em_min), _finite(record.em_max)
    if record.em_min is None or record.em_max is None or not 0 < record.em_min <= record.em_max:
        record.em_min = record.em_max = None
    record.t_exptime = _finite(record.t_exptime)
    if record.t_exptime is not None and record.t_exptime < 0:
        record.t_exptime = None
    record.s_fov = _finite(record.s_fov)
    if record.s_fov is not None and not 0 < record.s_fov <= 360:
        record.s_fov = None
    for name in ("s_xel1", "s_xel2", "t_xel", "em_xel"):
        value = getattr(record, name)
        if value is not None and not 0 <= value < 2**31:
            setattr(record, name, None)
    if record.dataproduct_type not in DATAPRODUCT_TYPES:
        record.dataproduct_type = None
    if record.ra is not None and record.dec is not None:
        if not (math.isfinite(record.ra) and math.isfinite(record.dec)
                and -90 <= record.dec <= 90):  # fmt: skip
            record.ra = record.dec = None
        else:
            record.ra = wrap_ra(record.ra)


def _point(ra: float | None, dec: float | None) -> str | None:
    return None if ra is None or dec is None else f"({ra!r}d, {dec!r}d)"


def _polygon(vertices: list[tuple[float, float]] | None) -> str | None:
    if not vertices:
        return None
    return "{" + ",".join(f"({wrap_ra(ra)!r}d, {dec!r}d)" for ra, dec in vertices) + "}"


def _product_row(no: int, r: ProductRecord, collection_id: int, run_id: int) -> tuple[Any, ...]:
    return (
        no, collection_id, r.file_name, r.path, r.file_format, r.file_bytes,
        _mtime(r.mtime_ns), r.hdu_count, r.product_version, r.product_type,
        r.dataproduct_type, 4, r.observatory, r.telescope, r.instrument, r.detector,
        r.filter_name, r.aperture, r.disperser, r.target_name, _point(r.ra, r.dec),
        _polygon(r.footprint), r.s_fov, r.s_xel1, r.s_xel2, r.t_min, r.t_max, r.time_scale,
        r.t_exptime, r.t_xel, r.em_min, r.em_max, r.em_xel, r.simulated,
        r.headers, str(r.verdict), run_id,
    )  # fmt: skip


def _same_name(record: ProductRecord, other_path: str) -> FileFailure:
    reason = REJECTED(f"{other_path} has the same file name in collection {record.collection};"
                      " a name must be unique within a collection").message  # fmt: skip
    return FileFailure(record.path, REJECTED.code, reason, record.file_bytes, record.mtime_ns)


def _aliases(
    refs: dict[int, list[TargetRef]], resolved: dict[int, int], known: dict[str, int]
) -> dict[str, tuple[int, str]]:
    """name key -> (target, name as first seen) for every name that designates its target:
    each name a product gives becomes an alias of its target, unless it names another."""
    for product_id, targets in refs.items():
        for t in targets:
            known.setdefault(target_key(t.name), resolved[product_id])
    aliases: dict[str, tuple[int, str]] = {}
    for product_id, targets in refs.items():
        for t in targets:
            key = target_key(t.name)
            if known.get(key) == resolved[product_id]:
                aliases.setdefault(key, (resolved[product_id], t.name))
    return aliases


class _Grid:
    """Positions bucketed on the unit sphere (3-D cells of the radius' size): finds one
    within the radius with no trouble at RA 0/360 or at the poles."""

    def __init__(self, radius_deg: float) -> None:
        self.radius = radius_deg
        self.size = math.radians(radius_deg)
        self.cells: dict[tuple[int, int, int], list[tuple[float, float, int]]] = {}

    def _cell(self, ra: float, dec: float) -> tuple[int, int, int]:
        r, d = math.radians(ra), math.radians(dec)
        v = (math.cos(d) * math.cos(r), math.cos(d) * math.sin(r), math.sin(d))
        return int(v[0] // self.size), int(v[1] // self.size), int(v[2] // self.size)

    def add(self, ra: float | None, dec: float | None, target_id: int) -> None:
        if ra is not None and dec is not None:
            self.cells.setdefault(self._cell(ra, dec), []).append((ra, dec, target_id))

    def near(self, ra: float | None, dec: float | None) -> int | None:
        if ra is None or dec is None:
            return None
        x, y, z = self._cell(ra, dec)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for dz in (-1, 0, 1):
                    for ra2, dec2, target_id in self.cells.get((x + dx, y + dy, z + dz), ()):
                        if angular_distance((ra, dec), (ra2, dec2)) <= self.radius:
                            return target_id
        return None


class Loader:
    """Writes batches through one psycopg connection (the caller owns transactions)."""

    def __init__(self, conn: psycopg.Connection[Any], run_id: int) -> None:
        self.conn = conn
        self.run_id = run_id
        self.collections: dict[str, int] = {}
        self.manifests: dict[str, Manifest] = {}
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

    # -- products -----------------------------------------------------------------------------

    def load_safely(self, records: Sequence[ProductRecord]) -> BatchOutcome:
        """:meth:`load` under a savepoint; if PostgreSQL rejects something, load the records
        one by one and record each one it rejects as a failure, so one bad file never costs
        the others."""
        try:
            with self.conn.transaction():
                return self.load(records)
        except psycopg.Error:
            self.collections.clear()  # ids made inside the rolled-back savepoint are gone
        outcome = BatchOutcome()
        for record in records:
            try:
                with self.conn.transaction():
                    one = self.load([record])
            except psycopg.Error as error:
                self.collections.clear()
                reason = getattr(error.diag, "message_primary", None) or str(error)
                outcome.rejected.append(FileFailure(
                    record.path, REJECTED.code,
                    REJECTED(f"PostgreSQL refused the product: {reason}").message,
                    record.file_bytes, record.mtime_ns,
                ))  # fmt: skip
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
                cur.execute("SELECT nextval(pg_get_serial_sequence('hlsp.product', 'product_id'))"
                            " FROM generate_series(1, %s)", (len(new_keys),))  # fmt: skip
                new_ids = [int(row[0]) for row in cur.fetchall()]
                now = datetime.now(UTC)
                with cur.copy("COPY hlsp.product (product_id, " + ", ".join(PRODUCT_COLUMNS)
                              + ", last_harvested) FROM STDIN") as copy:  # fmt: skip
                    for product_id, key in zip(new_ids, new_keys, strict=True):
                        row = _product_row(product_id, by_key[key], key[0], self.run_id)
                        copy.write_row((*row, now))
                        ids[product_id] = by_key[key]
                outcome.added = len(new_keys)
            if existing:
                with cur.copy("COPY stage_product (row_no, " + ", ".join(PRODUCT_COLUMNS)
                              + ") FROM STDIN") as copy:  # fmt: skip
                    for no, key in enumerate(existing):
                        copy.write_row(_product_row(no, by_key[key], key[0], self.run_id))
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
            cur.execute(
                "SELECT p.collection_id, p.file_name, p.product_id, p.file_path "
                "FROM hlsp.product p "
                "JOIN unnest(%s::bigint[], %s::text[]) AS k(c, f) "
                "ON p.collection_id = k.c AND p.file_name = k.f",
                ([k[0] for k in keys], [k[1] for k in keys]),
            )
            return {(int(c), str(f)): (int(p), str(path)) for c, f, p, path in cur.fetchall()}

    def _children(self, ids: dict[int, ProductRecord], replace: list[int]) -> None:
        """Findings (errors and warnings: info-level advice is for ``hlsp check`` reports),
        provenance and target links of the products; ``replace`` lists those that had some."""
        with self.conn.cursor() as cur:
            for table in ("product_finding", "provenance_input", "provenance_software",
                          "product_target"):  # fmt: skip
                if replace:
                    cur.execute(f"DELETE FROM hlsp.{table} WHERE product_id = ANY(%s)",  # noqa: S608
                                (replace,))  # fmt: skip
            with cur.copy("COPY hlsp.product_finding (product_id, finding_index, code, severity, "
                          "hdu, keyword, message) FROM STDIN") as copy:  # fmt: skip
                for product_id, record in ids.items():
                    stored = (f for f in record.findings if f.severity != Severity.INFO)
                    for n, f in enumerate(stored, start=1):
                        copy.write_row((product_id, n, f.code, str(f.severity), f.hdu,
                                        f.keyword or f.field, f.message))  # fmt: skip
            with cur.copy("COPY hlsp.provenance_input (product_id, input_index, kind, identifier,"
                          " source, program_id, telescope, instrument, t_min, t_max) FROM STDIN"
                          ) as copy:  # fmt: skip
                for product_id, record in ids.items():
                    for n, i in enumerate(record.inputs, start=1):
                        copy.write_row((product_id, n, i.kind, i.identifier, i.source,
                                        i.program_id, i.telescope, i.instrument, i.t_min,
                                        i.t_max))  # fmt: skip
            with cur.copy("COPY hlsp.provenance_software (product_id, software_index, name, "
                          "software_version, source) FROM STDIN") as copy:  # fmt: skip
                for product_id, record in ids.items():
                    for n, s in enumerate(record.software, start=1):
                        copy.write_row((product_id, n, s.name, s.version, s.source))
        links = self._resolve_targets(ids)
        if links:
            with (
                self.conn.cursor() as cur,
                cur.copy("COPY hlsp.product_target (product_id, target_id) FROM STDIN") as copy,
            ):
                for link in sorted(links):
                    copy.write_row(link)

    # -- targets ------------------------------------------------------------------------------

    def _resolve_targets(self, ids: dict[int, ProductRecord]) -> set[tuple[int, int]]:
        """Link each product to its target, creating targets and aliases as needed.

        A name whose normalised key is known links to that target. A product's unknown
        names join the target one of its other names resolves to, else the nearest target
        within MATCH_RADIUS_ARCSEC of the product's position (in the catalog, or new in
        this batch), else a new target. A constant number of statements per batch.
        """
        refs = {pid: r.targets for pid, r in ids.items() if r.targets}
        keys = sorted({target_key(t.name) for ts in refs.values() for t in ts})
        if not keys:
            return set()
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT a.name_key, a.target_id, degrees(long(t.pos)), degrees(lat(t.pos)) "
                "FROM hlsp.target_alias a JOIN hlsp.target t USING (target_id) "
                "WHERE a.name_key = ANY(%s)", (keys,),
            )  # fmt: skip
            rows = cur.fetchall()
        known: dict[str, int] = {k: int(t) for k, t, _, _ in rows}
        where: dict[int, tuple[float, float]] = {int(t): (ra, dec) for _, t, ra, dec in rows
                                                 if ra is not None}  # fmt: skip

        def by_name(targets: list[TargetRef]) -> int | None:
            """The target one of the names designates, unless it lies far from this one."""
            for t in targets:
                found = known.get(target_key(t.name))
                if found is None:
                    continue
                there = where.get(found)
                if there is None or t.ra is None or t.dec is None or angular_distance(
                    there, (t.ra, t.dec)) <= NAME_MATCH_LIMIT_ARCSEC / 3600:  # fmt: skip
                    return found
            return None

        resolved: dict[int, int] = {}
        pending: list[int] = []
        for product_id, targets in refs.items():
            found = by_name(targets)
            if found is None:
                pending.append(product_id)
            else:
                resolved[product_id] = found
        new_targets: list[tuple[int, TargetRef]] = []
        if pending:
            nearby = self._nearby([refs[pid][0] for pid in pending])
            fresh = _Grid(MATCH_RADIUS_ARCSEC / 3600)
            ids_needed = [pid for pid, near in zip(pending, nearby, strict=True) if near is None]
            allocated = iter(self._allocate_target_ids(len(ids_needed)))
            for product_id, near in zip(pending, nearby, strict=True):
                first = refs[product_id][0]
                found = near
                if found is None:  # a name known since (earlier in this batch)?
                    found = by_name(refs[product_id])
                if found is None:
                    found = fresh.near(first.ra, first.dec)
                if found is None:
                    found = next(allocated)
                    new_targets.append((found, first))
                    fresh.add(first.ra, first.dec, found)
                    if first.ra is not None and first.dec is not None:
                        where[found] = (first.ra, first.dec)
                resolved[product_id] = found
                for t in refs[product_id]:
                    known.setdefault(target_key(t.name), found)
        self._write_targets(new_targets, _aliases(refs, resolved, known), set(keys))
        return set(resolved.items())

    def _allocate_target_ids(self, count: int) -> list[int]:
        if count == 0:
            return []
        with self.conn.cursor() as cur:
            cur.execute("SELECT nextval(pg_get_serial_sequence('hlsp.target', 'target_id')) "
                        "FROM generate_series(1, %s)", (count,))  # fmt: skip
            return [int(row[0]) for row in cur.fetchall()]

    def _write_targets(
        self, new_targets: list[tuple[int, TargetRef]], aliases: dict[str, tuple[int, str]],
        looked_up: set[str],
    ) -> None:  # fmt: skip
        """COPY the new targets, then the aliases the catalog did not know."""
        with self.conn.cursor() as cur:
            if new_targets:
                with cur.copy("COPY hlsp.target (target_id, name, pos) FROM STDIN") as copy:
                    for target_id, ref in new_targets:
                        copy.write_row((target_id, ref.name, _point(ref.ra, ref.dec)))
            cur.execute("SELECT name_key FROM hlsp.target_alias WHERE name_key = ANY(%s)",
                        (sorted(looked_up),))  # fmt: skip
            stored = {row[0] for row in cur.fetchall()}
            missing = [(k, tid, name) for k, (tid, name) in aliases.items() if k not in stored]
            if missing:
                with cur.copy("COPY hlsp.target_alias (name_key, target_id, name) FROM STDIN"
                              ) as copy:  # fmt: skip
                    for row in missing:
                        copy.write_row(row)

    def _nearby(self, refs: list[TargetRef]) -> list[int | None]:
        """Nearest existing target within the match radius of each reference's position."""
        ras = [t.ra for t in refs]
        decs = [t.dec for t in refs]
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT (SELECT t.target_id FROM hlsp.target t WHERE u.ra IS NOT NULL AND "
                "t.pos <@ scircle(spoint(radians(u.ra), radians(u.dec)), radians(%s / 3600.0)) "
                "ORDER BY t.pos <-> spoint(radians(u.ra), radians(u.dec)), t.target_id LIMIT 1) "
                "FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS u(ra, dec, n) "
                "ORDER BY u.n",
                (MATCH_RADIUS_ARCSEC, ras, decs),
            )
            return [None if row[0] is None else int(row[0]) for row in cur.fetchall()]

    # -- audit --------------------------------------------------------------------------------

    def record_failures(self, failures: Sequence[FileFailure]) -> None:
        if not failures:
            return
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO hlsp.harvest_failure (run_id, file_path, code, reason, file_bytes, "
                "file_mtime) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (run_id, file_path) DO "
                "UPDATE SET code = EXCLUDED.code, reason = EXCLUDED.reason",
                [(self.run_id, f.path, f.code, f.reason, f.file_bytes,
                  _mtime(f.mtime_ns) if f.mtime_ns is not None else None)
                 for f in failures],
            )  # fmt: skip

    def apply_manifests(self, manifests: dict[str, Manifest]) -> None:
        """Write every manifest's values over its collection (run at the end of a walk, so an
        edited manifest takes effect even when no FITS file of the collection changed)."""
        with self.conn.cursor() as cur:
            for hlsp_id, m in manifests.items():
                released = (datetime.combine(m.release_date, datetime.min.time(), UTC)
                            if m.release_date else None)  # fmt: skip
                cur.execute(
                    "UPDATE hlsp.collection SET title = coalesce(%s, title), "
                    "project_lead = coalesce(%s, project_lead), "
                    "description = coalesce(%s, description), doi = coalesce(%s, doi), "
                    "license = coalesce(%s, license), "
                    "reference_paper = coalesce(%s, reference_paper), "
                    "landing_url = coalesce(%s, landing_url), "
                    "release_date = coalesce(%s, release_date) WHERE hlsp_id = %s",
                    (m.title, m.lead, m.description, m.doi, m.license, m.reference,
                     m.landing_url, released, hlsp_id),
                )  # fmt: skip

    def withdraw(self, product_ids: Sequence[int]) -> int:
        """Mark products withdrawn (their file now belongs to another collection)."""
        if not product_ids:
            return 0
        with self.conn.cursor() as cur:
            cur.execute("UPDATE hlsp.product SET withdrawn_at = now() WHERE withdrawn_at IS "
                        "NULL AND product_id = ANY(%s)", (list(product_ids),))  # fmt: skip
            return cur.rowcount

    def add_findings(self, product_id: int, findings: Sequence[Finding]) -> None:
        """Append cross-file findings to a stored product and worsen its verdict if needed."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT coalesce(max(finding_index), 0) FROM hlsp.product_finding "
                        "WHERE product_id = %s", (product_id,))  # fmt: skip
            row = cur.fetchone()
            start = int(row[0]) if row else 0
            cur.executemany(
                "INSERT INTO hlsp.product_finding (product_id, finding_index, code, severity, hdu,"
                " keyword, message) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [(product_id, start + n, f.code, str(f.severity), f.hdu, f.keyword or f.field,
                  f.message) for n, f in enumerate(
                      (f for f in findings if f.severity != Severity.INFO), start=1)],
            )  # fmt: skip
            cur.execute(
                "UPDATE hlsp.product SET verdict = CASE "
                "WHEN EXISTS (SELECT 1 FROM hlsp.product_finding f WHERE f.product_id = %(p)s "
                "AND f.severity = 'error') THEN 'FAIL' "
                "WHEN EXISTS (SELECT 1 FROM hlsp.product_finding f WHERE f.product_id = %(p)s "
                "AND f.severity = 'warning') THEN 'NEEDS REVIEW' ELSE 'PASS' END "
                "WHERE product_id = %(p)s",
                {"p": product_id},
            )
