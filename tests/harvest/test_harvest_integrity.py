"""What a harvest writes is whole: every reference resolves (the loader skips PostgreSQL's
per-row foreign-key triggers when it may, see ``skip_reference_triggers``), a role without
that privilege harvests the same catalog with the checks on, and the raw headers are stored
as the JSON text the reader wrote."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import make_url

from catalog.config import Settings
from catalog.corpus import generate_corpus
from catalog.db import Database
from catalog.harvest import loadpool
from catalog.harvest.load import skip_reference_triggers
from catalog.harvest.perfile import process_file
from catalog.harvest.records import ProductRecord
from catalog.harvest.run import Harvest, HarvestOptions, harvest
from catalog.harvest.walk import Walk


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("integrity") / "hlsp"
    generate_corpus(root, files=90, seed=11, damage=True)
    return root


def dangling_references(database: Database) -> dict[str, int]:
    """For every foreign key of the hlsp schema: the rows whose reference resolves nowhere
    (the constraints are read from pg_constraint, so a new one is covered unasked)."""
    with database.engine.connect() as conn:
        keys = conn.execute(
            sa.text(
                "SELECT c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text, "
                "array(SELECT attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i) JOIN "
                "pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i), "
                "array(SELECT attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i) JOIN "
                "pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i) "
                "FROM pg_constraint c WHERE c.contype = 'f' "
                "AND c.connamespace = 'hlsp'::regnamespace"
            )
        ).all()
        assert len(keys) >= 8
        found = {}
        for name, child, parent, columns, referenced in keys:
            match = " AND ".join(
                f"p.{r} = c.{col}" for col, r in zip(columns, referenced, strict=True)
            )
            present = " AND ".join(f"c.{col} IS NOT NULL" for col in columns)
            found[name] = conn.execute(
                sa.text(
                    f"SELECT count(*) FROM {child} c WHERE {present} AND NOT EXISTS "
                    f"(SELECT 1 FROM {parent} p WHERE {match})"
                )
            ).scalar_one()
    return found


def counts(database: Database) -> dict[str, int]:
    with database.engine.connect() as conn:
        return {
            table: conn.execute(sa.text(f"SELECT count(*) FROM hlsp.{table}")).scalar_one()
            for table in (
                "product",
                "product_finding",
                "provenance_input",
                "provenance_software",
                "product_target",
                "target",
                "target_alias",
                "harvest_failure",
            )
        }


def run(database: Database, root: Path, **options: Any) -> Any:
    options.setdefault("jobs", 2)
    return harvest(database, HarvestOptions(paths=[root], progress=False, **options))


def test_every_reference_a_harvest_writes_resolves(database: Database, corpus: Path) -> None:
    first = run(database, corpus)
    assert first.added > 60
    again = run(database, corpus, force=True)  # the update path: children replaced
    assert again.updated == first.added
    assert counts(database)["product_finding"] > 0
    assert set(dangling_references(database).values()) == {0}
    with psycopg.connect(database.url, autocommit=True) as conn:  # and it would tell
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "INSERT INTO hlsp.product_finding (product_id, finding_index, code, "
            "severity, message) VALUES (-1, 1, 'HLSP-X', 'error', 'dangling')"
        )
    dangling = {k: v for k, v in dangling_references(database).items() if v}
    assert list(dangling.values()) == [1] and "product_finding" in next(iter(dangling))


def test_the_superuser_session_skips_the_triggers_and_a_plain_role_keeps_them(
    database: Database,
) -> None:
    with psycopg.connect(database.url, autocommit=True) as conn:
        assert skip_reference_triggers(conn) is True
        assert conn.execute("SHOW session_replication_role").fetchone() == ("replica",)
    with psycopg.connect(database.url, autocommit=True) as conn:  # other sessions: untouched
        assert conn.execute("SHOW session_replication_role").fetchone() == ("origin",)


@pytest.fixture
def plain_role(database: Database) -> Iterator[Database]:
    """The same database reached as a login role that owns nothing and is no superuser."""
    role = f"hlsp_plain_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT USAGE ON SCHEMA hlsp TO {role}")
        conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA hlsp TO {role}")
        conn.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA hlsp TO {role}")
    url = make_url(database.url).set(username=role).render_as_string(hide_password=False)
    plain = Database(url, settings=Settings())
    yield plain
    plain.dispose()
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute(f"REASSIGN OWNED BY {role} TO CURRENT_USER")
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")


def test_a_role_without_the_privilege_harvests_with_the_checks_on(
    database: Database, plain_role: Database, corpus: Path, tmp_path: Path
) -> None:
    runner = Harvest(plain_role, HarvestOptions(paths=[corpus], jobs=2, progress=False))
    try:
        assert runner.checks_references is True
        summary = runner.run()
    finally:
        runner.close()
    assert summary.state == "completed" and summary.added > 60
    assert set(dangling_references(database).values()) == {0}
    plain_counts = counts(database)
    twin = _twin(database)  # the same corpus through the superuser's path: the same catalog
    try:
        assert run(twin, corpus).added == summary.added
        assert counts(twin) == plain_counts
    finally:
        _drop_twin(database, twin)


def _twin(database: Database) -> Database:
    """A second, empty, migrated database on the same server."""
    name = f"hlsp_twin_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    twin = Database(
        make_url(database.url).set(database=name).render_as_string(hide_password=False),
        settings=Settings(),
    )
    twin.migrate()
    return twin


def _drop_twin(database: Database, twin: Database) -> None:
    name = make_url(twin.url).database
    twin.dispose()
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_one_process_and_a_pool_load_the_same_catalog(database: Database, corpus: Path) -> None:
    pooled = run(database, corpus, jobs=2)
    alone = _twin(database)
    try:
        single = run(alone, corpus, jobs=1)
        assert (single.added, single.failed) == (pooled.added, pooled.failed)
        assert counts(alone) == counts(database)
        query = (
            "SELECT file_name, verdict, target_name, observatory, t_min, em_min, "
            "(SELECT count(*) FROM hlsp.product_finding f WHERE f.product_id = p.product_id)"
            " FROM hlsp.product p ORDER BY file_name"
        )
        with alone.engine.connect() as a, database.engine.connect() as b:
            assert a.execute(sa.text(query)).all() == b.execute(sa.text(query)).all()
    finally:
        _drop_twin(database, alone)


def test_raw_headers_are_stored_as_the_json_text_the_reader_wrote(
    database: Database, corpus: Path
) -> None:
    run(database, corpus)
    records = {
        r.path: r
        for r in (process_file(t) for t in Walk([corpus]).tasks())
        if isinstance(r, ProductRecord)
    }
    with database.engine.connect() as conn:
        stored: dict[str, str] = dict(
            conn.execute(sa.text("SELECT file_path, headers::text FROM hlsp.product")).all()
        )
        kind = conn.execute(
            sa.text(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = 'hlsp.product'::regclass AND attname = 'headers'"
            )
        ).scalar_one()
        first_keyword = conn.execute(
            sa.text("SELECT headers -> 0 -> 'cards' -> 0 ->> 0 FROM hlsp.product LIMIT 1")
        ).scalar_one()
    assert kind == "json"
    assert first_keyword == "SIMPLE"
    assert stored.keys() == records.keys()
    for path, text in stored.items():
        assert text == records[path].headers
        assert json.loads(text)[0]["hdu"] == 0


def test_migration_0004_turns_headers_back_into_jsonb_and_again(database: Database) -> None:
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute("INSERT INTO hlsp.collection (hlsp_id) VALUES ('mig')")
        conn.execute(
            "INSERT INTO hlsp.product (collection_id, file_name, file_path, file_bytes, "
            "file_mtime, headers) SELECT collection_id, 'a.fits', '/a.fits', 2880, now(), %s::json "
            "FROM hlsp.collection",
            ('[{"hdu":0,"cards":[["SIMPLE",true,""],["X",1.5,"c"]]}]',),
        )
    database.migrate("0003")
    with database.engine.connect() as conn:
        assert conn.execute(
            sa.text(
                "SELECT pg_typeof(headers)::text, headers -> 0 -> 'cards' -> 1 ->> 1 "
                "FROM hlsp.product"
            )
        ).one() == ("jsonb", "1.5")
    database.migrate()
    with database.engine.connect() as conn:
        assert conn.execute(
            sa.text(
                "SELECT pg_typeof(headers)::text, headers -> 0 -> 'cards' -> 0 ->> 0 "
                "FROM hlsp.product"
            )
        ).one() == ("json", "SIMPLE")


def test_a_worker_that_dies_fails_the_run_instead_of_hanging(
    database: Database, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalog.errors import HarvestError
    from catalog.harvest import loadpool

    def die(task: Any, keep_info: bool = True) -> Any:
        os._exit(9)  # as an OOM kill would end it

    monkeypatch.setattr(loadpool, "process_file", die)
    with pytest.raises(HarvestError, match="worker process ended abruptly"):
        run(database, corpus)
    with database.engine.connect() as conn:
        state, added = conn.execute(
            sa.text("SELECT state, files_added FROM hlsp.harvest_run")
        ).one()
    assert (state, added) == ("failed", 0)
    monkeypatch.undo()
    assert run(database, corpus).state == "completed"  # and the next run does the work


def test_loading_sessions_commit_without_waiting_for_the_disk(database: Database) -> None:
    """Chunks commit asynchronously; the harvest's own session does not."""
    with psycopg.connect(database.url, autocommit=True) as conn:
        # The tests' server runs with synchronous_commit off: make 'on' this database's default.
        name = conn.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET synchronous_commit = on").format(sql.Identifier(name))
        )
        run = conn.execute("INSERT INTO hlsp.harvest_run DEFAULT VALUES RETURNING run_id")
        row = run.fetchone()
        assert row is not None
    session = loadpool._Session(loadpool.LoadContext(database.url, int(row[0])))
    try:
        assert session.conn.execute("SHOW synchronous_commit").fetchone() == ("off",)
    finally:
        session.close()
    # The harvest's own session keeps the server's setting: its commit of the run's counts,
    # after the last chunk, is what puts every chunk on disk.
    runner = Harvest(database, HarvestOptions(paths=[], progress=False))
    try:
        assert runner.conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
    finally:
        runner.close()
