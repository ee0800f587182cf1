"""Withdrawn products (files gone from a re-harvested tree) are not served through TAP: not
in hlsp.product, nor in any row attached to them, in joins or counts. The database enforces
it for the role ADQL runs as: it reads views that leave them out and no hlsp table at all.
Cone searches on hlsp.product keep the GiST index."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog.config import Settings
from catalog.corpus import generate_corpus
from catalog.db import READER_ROLE, Database
from catalog.harvest.run import HarvestOptions, harvest
from catalog.tap_service import TAP_READER_ROLE
from catalog.tap_tables import PUBLISHED_SCHEMA, published_metadata
from tap.adql import translate
from tap.tap_schema import with_tap_schema
from tests.support import factories as f
from tests.support.cli import serving
from tests.support.db import database_url

CHILD_TABLES = ("product_target", "product_finding", "provenance_input", "provenance_software")


@dataclass(frozen=True)
class Catalog:
    db: Database
    tap: str
    withdrawn: frozenset[int]  # product ids
    withdrawn_files: frozenset[str]


def _ids(conn: sa.Connection, sql: str) -> set[int]:
    return {int(i) for i in conn.execute(sa.text(sql)).scalars()}


@pytest.fixture(scope="module")
def catalog(
    module_database: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Catalog]:
    """A harvested corpus, some of whose files were then deleted and the tree re-harvested:
    the products withdrawn have targets, findings, provenance inputs and software."""
    corpus = generate_corpus(tmp_path_factory.mktemp("withdrawn-corpus"), files=60, seed=13)
    options = HarvestOptions(paths=[corpus.root], jobs=1, progress=False)
    assert harvest(module_database, options).added > 0
    chosen: dict[int, str] = {}
    with module_database.engine.connect() as conn:
        for table in CHILD_TABLES:
            pid, path = conn.execute(
                sa.text(
                    f"SELECT p.product_id, p.file_path FROM hlsp.product p WHERE EXISTS "
                    f"(SELECT FROM hlsp.{table} c WHERE c.product_id = p.product_id) "
                    "ORDER BY p.product_id LIMIT 1"
                )
            ).one()
            chosen[int(pid)] = str(path)
    for path in chosen.values():
        Path(path).unlink()
    assert harvest(module_database, options).withdrawn == len(chosen)
    with module_database.engine.connect() as conn:
        withdrawn = _ids(conn, "SELECT product_id FROM hlsp.product WHERE withdrawn_at IS NOT NULL")
        files = set(
            conn.execute(
                sa.text("SELECT file_name FROM hlsp.product WHERE withdrawn_at IS NOT NULL")
            ).scalars()
        )
    assert withdrawn == set(chosen)
    with serving("serve", env={"HLSP_DATABASE_URL": module_database.url}) as base:
        yield Catalog(module_database, base + "/tap", frozenset(withdrawn), frozenset(files))


def tap_rows(catalog: Catalog, query: str) -> list[dict[str, str]]:
    answer = httpx.post(
        f"{catalog.tap}/sync",
        timeout=60,
        data={"LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": "csv"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv"), answer.text
    return list(csv.DictReader(io.StringIO(answer.text)))


def admin_scalar(catalog: Catalog, sql: str) -> int:
    with catalog.db.engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


def test_withdrawn_products_are_in_no_published_table(catalog: Catalog) -> None:
    rows = tap_rows(catalog, "SELECT * FROM hlsp.product")
    assert rows and "withdrawn_at" in rows[0]
    assert not {int(r["product_id"]) for r in rows} & catalog.withdrawn
    assert not {r["file_name"] for r in rows} & catalog.withdrawn_files
    assert all(r["withdrawn_at"] == "" for r in rows)
    assert (
        tap_rows(catalog, "SELECT product_id FROM hlsp.product WHERE withdrawn_at IS NOT NULL")
        == []
    )
    for table in CHILD_TABLES:
        served = {int(r["product_id"]) for r in tap_rows(catalog, f"SELECT * FROM hlsp.{table}")}
        assert served and not served & catalog.withdrawn, table
        ids = ", ".join(map(str, sorted(catalog.withdrawn)))
        assert (
            tap_rows(catalog, f"SELECT product_id FROM hlsp.{table} WHERE product_id IN ({ids})")
            == []
        ), table


def test_counts_match_the_live_rows_and_not_the_stored_ones(catalog: Catalog) -> None:
    live = (
        "EXISTS (SELECT FROM hlsp.product p WHERE p.product_id = t.product_id AND "
        "p.withdrawn_at IS NULL)"
    )
    for table in ("product", *CHILD_TABLES):
        (row,) = tap_rows(catalog, f"SELECT COUNT(*) AS n FROM hlsp.{table}")
        stored = admin_scalar(catalog, f"SELECT count(*) FROM hlsp.{table}")
        served = admin_scalar(catalog, f"SELECT count(*) FROM hlsp.{table} t WHERE {live}")
        assert int(row["n"]) == served < stored, table
    (row,) = tap_rows(catalog, "SELECT COUNT(*) AS n FROM ivoa.ObsCore")
    assert int(row["n"]) == admin_scalar(
        catalog, "SELECT count(*) FROM hlsp.product WHERE withdrawn_at IS NULL"
    )


@pytest.mark.parametrize(
    "query",
    [
        # targets are shared: one observed by a withdrawn product shows its live products only
        "SELECT pt.product_id FROM hlsp.target AS t JOIN hlsp.product_target AS pt "
        "ON pt.target_id = t.target_id",
        "SELECT p.product_id FROM hlsp.target_alias AS a JOIN hlsp.product_target AS pt "
        "ON pt.target_id = a.target_id JOIN hlsp.product AS p ON p.product_id = pt.product_id",
        "SELECT i.product_id FROM hlsp.collection AS c JOIN hlsp.product AS p "
        "ON p.collection_id = c.collection_id RIGHT OUTER JOIN hlsp.provenance_input AS i "
        "ON i.product_id = p.product_id",
        "SELECT o.product_id FROM ivoa.ObsCore AS o JOIN hlsp.provenance_software AS s "
        "ON s.product_id = o.product_id",
        "SELECT product_id FROM hlsp.product_finding WHERE product_id NOT IN "
        "(SELECT product_id FROM hlsp.product)",
        "SELECT f.product_id FROM hlsp.product_finding AS f LEFT OUTER JOIN hlsp.product AS p "
        "ON p.product_id = f.product_id WHERE p.product_id IS NULL",
    ],
)
def test_joins_through_published_tables_reach_no_withdrawn_product(
    catalog: Catalog, query: str
) -> None:
    rows = tap_rows(catalog, query)
    assert not {int(r["product_id"]) for r in rows if r["product_id"]} & catalog.withdrawn


@pytest.fixture
def query_login(catalog: Catalog, admin_engine: sa.Engine) -> Iterator[sa.Engine]:
    """A login like the embedded default's hlsp_query: member of the reader role only."""
    name = f"q_{uuid.uuid4().hex[:8]}"
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {name} LOGIN IN ROLE {READER_ROLE}"))
    url = sa.engine.make_url(catalog.db.engine.url).set(username=name)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f"DROP ROLE {name}"))


def test_the_role_adql_runs_as_reads_no_withdrawn_row_and_no_hlsp_table(
    catalog: Catalog, query_login: sa.Engine
) -> None:
    with query_login.connect() as conn, conn.begin():
        conn.execute(sa.text(f"SET TRANSACTION READ ONLY; SET LOCAL ROLE {TAP_READER_ROLE}"))
        for table in ("product", *CHILD_TABLES):
            ids = _ids(conn, f"SELECT product_id FROM {PUBLISHED_SCHEMA}.{table}")
            assert ids and not ids & catalog.withdrawn, table
        assert _ids(conn, "SELECT product_id FROM ivoa.obscore").isdisjoint(catalog.withdrawn)
        assert conn.execute(sa.text("SELECT count(*) FROM tap_schema.tables")).scalar_one() > 0
    for table in ("product", "collection", "target", *CHILD_TABLES, "harvest_run"):
        with query_login.connect() as conn, conn.begin():
            conn.execute(sa.text(f"SET LOCAL ROLE {TAP_READER_ROLE}"))
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.execute(sa.text(f"SELECT 1 FROM hlsp.{table} LIMIT 1"))
    # The query login itself reads the same views; the admin still has every row.
    with query_login.connect() as conn:
        ids = _ids(conn, f"SELECT product_id FROM {PUBLISHED_SCHEMA}.product_finding")
        assert ids and ids.isdisjoint(catalog.withdrawn)
    stored = admin_scalar(
        catalog, "SELECT count(*) FROM hlsp.product WHERE withdrawn_at IS NOT NULL"
    )
    assert stored == len(catalog.withdrawn) > 0


def test_the_views_carry_every_column_tap_publishes(catalog: Catalog) -> None:
    metadata = published_metadata()
    with catalog.db.engine.connect() as conn:
        for table in metadata.tables:
            if table.schema != "hlsp":
                continue
            assert table.relation == f"{PUBLISHED_SCHEMA}.{table.name}"
            live = set(
                conn.execute(
                    sa.text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = :s AND table_name = :t"
                    ),
                    {"s": PUBLISHED_SCHEMA, "t": table.name},
                ).scalars()
            )
            helpers = {c for col in table.columns for c in (col.sql_bound, col.sql_geometry) if c}
            helpers |= {spoint for _, _, spoint in table.point_columns}
            assert {c.name for c in table.columns} | helpers <= live, table.name
            assert not live & {"file_path", "headers", "harvest_run_id"}


@pytest.mark.slow
def test_a_cone_on_hlsp_product_through_tap_uses_the_gist_index(database: Database) -> None:
    with Session(database.engine) as s:
        coll = f.collection(s)
        s.commit()
        s.execute(
            sa.text(
                "INSERT INTO hlsp.product (collection_id, file_name, file_path, file_bytes, "
                "file_mtime, pos, footprint, withdrawn_at) "
                "SELECT :c, 'f' || g || '.fits', '/f' || g, 2880, now(), "
                "spoint(radians(100 + (g % 200) * 0.01), radians(10 + (g / 200) * 0.01)), "
                "('{(' || (100 + (g % 200) * 0.01) || 'd,10d),(' || (100.01 + (g % 200) * 0.01) "
                "|| 'd,10d),(' || (100.01 + (g % 200) * 0.01) || 'd,10.01d)}')::spoly, "
                "CASE WHEN g % 3 = 0 THEN now() END FROM generate_series(1, 20000) g"
            ),
            {"c": coll.collection_id},
        )
        s.commit()
        s.execute(sa.text("ANALYZE hlsp.product"))
        s.commit()
    metadata = with_tap_schema(published_metadata())
    plans = {
        "product_pos_idx": "SELECT product_id FROM hlsp.product WHERE 1 = CONTAINS("
        "POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 100.5, 10.5, 0.05))",
        "product_footprint_bound_idx": "SELECT product_id FROM hlsp.product WHERE "
        "INTERSECTS(footprint, CIRCLE('ICRS', 100.5, 10.005, 0.01)) = 1",
    }
    found: dict[str, set[int]] = {}
    with database.engine.connect() as conn, conn.begin():
        conn.execute(sa.text(f"SET TRANSACTION READ ONLY; SET LOCAL ROLE {TAP_READER_ROLE}"))
        for index, query in plans.items():
            sql = translate(query, metadata).sql
            assert f"{PUBLISHED_SCHEMA}" in sql
            plan = "\n".join(conn.execute(sa.text("EXPLAIN " + sql)).scalars())
            assert index in plan and "Seq Scan" not in plan, plan
            found[index] = _ids(conn, sql)
            assert found[index], query
    with database.engine.connect() as conn:
        gone = _ids(conn, "SELECT product_id FROM hlsp.product WHERE withdrawn_at IS NOT NULL")
        assert len(gone) > 6000
        # the same searches on the base table, as the admin, find withdrawn products too
        for index, query in plans.items():
            stored = _ids(conn, translate(query, metadata).sql.replace(PUBLISHED_SCHEMA, "hlsp"))
            assert found[index] == stored - gone and stored & gone, index


def test_the_migration_goes_down_and_up(server_url: str, fresh_database_name: str) -> None:
    db = Database(database_url(server_url, fresh_database_name), settings=Settings())
    db.migrate()

    def state() -> tuple[int, int, int]:
        with db.engine.connect() as conn:
            return tuple(
                conn.execute(
                    sa.text(
                        "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = :s), "
                        "(SELECT count(*) FROM information_schema.views WHERE table_schema = :s), "
                        "(SELECT count(*) FROM information_schema.role_table_grants "
                        " WHERE grantee = :r)"
                    ),
                    {"s": PUBLISHED_SCHEMA, "r": TAP_READER_ROLE},
                ).one()
            )

    up = state()
    assert up == (1, 8, 9)  # the schema, eight views, SELECT on them and on ivoa.obscore
    db.migrate("0005")
    assert state() == (0, 0, 0)
    db.migrate()
    assert state() == up
    db.dispose()
