"""Edge cases of loading and walking: refused rows, overlapping roots, moved and duplicated
names, collection changes, target resolution at RA 0/360, odd file names."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from catalog.corpus import generate_corpus
from catalog.corpus.fitswrite import primary_hdu, write_fits
from catalog.db import Database
from catalog.errors import HarvestBusy
from catalog.harvest.findings import Finding, Severity, Verdict
from catalog.harvest.load import Loader
from catalog.harvest.manifest import clean_doi
from catalog.harvest.records import ProductRecord, TargetRef
from catalog.harvest.run import LOCK_KEY, Harvest, HarvestOptions, harvest
from catalog.harvest.walk import Walk


def record(
    name: str,
    *targets: TargetRef,
    ra: float | None = None,
    dec: float | None = None,
    collection: str = "edge",
) -> ProductRecord:
    return ProductRecord(
        path=f"/virtual/{name}",
        file_name=name,
        file_bytes=2880,
        mtime_ns=0,
        file_format="application/fits",
        collection=collection,
        collection_source="option",
        hdu_count=1,
        ra=ra,
        dec=dec,
        targets=list(targets),
    )


def load(database: Database, *batches: list[ProductRecord]) -> list[Any]:
    outcomes = []
    with psycopg.connect(database.url, autocommit=True) as conn:
        run = conn.execute("INSERT INTO hlsp.harvest_run DEFAULT VALUES RETURNING run_id")
        row = run.fetchone()
        assert row is not None
        loader = Loader(conn, int(row[0]))
        for batch in batches:
            with conn.transaction():
                outcomes.append(loader.load_safely(batch))
    return outcomes


def scalar(database: Database, sql: str) -> Any:
    with database.engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar_one()


def test_a_refused_row_costs_only_itself(database):
    good = [record(f"hlsp_edge_x_y_t{i}_f_v1_img.fits") for i in range(5)]
    bad = record("bad/name.fits")  # breaks the file_name_bare constraint
    (outcome,) = load(database, [*good[:2], bad, *good[2:]])
    assert outcome.added == 5
    assert [(f.path, f.code) for f in outcome.rejected] == [("/virtual/bad/name.fits", "HLSP-R102")]
    assert "file_name_bare" in outcome.rejected[0].reason
    assert scalar(database, "SELECT count(*) FROM hlsp.product") == 5


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("10.17909/abc-def", "10.17909/abc-def"),
        ("doi:10.17909/abc", "10.17909/abc"),
        ("https://doi.org/10.17909/t9-x", "10.17909/t9-x"),
        ("not a doi", None),
        (None, None),
    ],
)
def test_doi_forms(raw, clean):
    assert clean_doi(raw) == clean


def test_every_name_of_a_product_becomes_an_alias(database):
    tic = TargetRef("TIC 100", "TICID", 10.0, 20.0)
    load(
        database,
        [record("a.fits", tic, ra=10.0, dec=20.0)],
        [record("b.fits", TargetRef("WASP-18", "OBJECT", 10.0, 20.0), tic, ra=10.0, dec=20.0)],
        [record("c.fits", TargetRef("WASP 18", "OBJECT", None, None))],
    )
    assert scalar(database, "SELECT count(*) FROM hlsp.target") == 1
    assert scalar(database, "SELECT count(DISTINCT target_id) FROM hlsp.product_target") == 1


def test_new_targets_meet_across_ra_zero_within_one_batch(database):
    east = TargetRef("Star A", "OBJECT", 359.99995, 10.0)
    west = TargetRef("Star B", "OBJECT", 0.00005, 10.0)  # 0.35" away, across RA 0
    load(
        database,
        [
            record("e.fits", east, ra=east.ra, dec=east.dec),
            record("w.fits", west, ra=west.ra, dec=west.dec),
        ],
    )
    assert scalar(database, "SELECT count(*) FROM hlsp.target") == 1


def test_a_generic_name_far_away_is_another_object(database):
    load(
        database,
        [record("f1.fits", TargetRef("Field 1", "HLSPTARG", 10.0, -30.0), ra=10.0, dec=-30.0)],
        [record("f2.fits", TargetRef("FIELD1", "HLSPTARG", 200.0, 45.0), ra=200.0, dec=45.0)],
    )
    assert scalar(database, "SELECT count(*) FROM hlsp.target") == 2


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny") / "hlsp"
    generate_corpus(root, files=30, seed=21, flaws=False)
    return root


def run(database: Database, *paths: Path, **options: Any):
    return harvest(database, HarvestOptions(paths=list(paths), jobs=1, progress=False, **options))


def test_overlapping_roots_read_each_file_once(database, tiny):
    some = next(tiny.rglob("*.fits"))
    summary = run(database, tiny, tiny / ".", some.parent, some)
    assert summary.failed == 0
    assert summary.seen == summary.added == len(list(tiny.rglob("*.fits*")))


def test_one_name_in_two_directories_of_a_collection(database, tiny, tmp_path):
    source = next(tiny.rglob("hlsp_tess-ffilc_*_lc.fits"))
    first, second = tmp_path / "a", tmp_path / "b"
    for d in (first, second):
        d.mkdir()
        shutil.copy2(source, d / source.name)
    assert run(database, first).added == 1
    clash = run(database, second)
    assert clash.failed == 1 and clash.failures[0].code == "HLSP-R102"
    assert str(first / source.name) in clash.failures[0].reason
    again = run(database, second)  # no flip-flopping: refused again, row untouched
    assert again.failed == 1 and again.updated == 0
    assert scalar(database, "SELECT file_path FROM hlsp.product") == str(first / source.name)
    shutil.rmtree(first)  # the first copy is gone: the name moved
    moved = run(database, second)
    assert (moved.updated, moved.failed) == (1, 0)


def test_a_file_read_into_another_collection_leaves_one_live_product(database, tiny):
    source = next(tiny.rglob("hlsp_tess-ffilc_*_lc.fits"))
    run(database, source, collection="first-coll")
    switched = run(database, source, collection="second-coll")  # unchanged file, new owner
    assert switched.updated + switched.added == 1
    live = scalar(
        database,
        "SELECT string_agg(c.hlsp_id, ',') FROM hlsp.product p JOIN "
        "hlsp.collection c USING (collection_id) WHERE p.withdrawn_at IS NULL",
    )
    assert live == "second-coll"


def test_names_the_catalog_cannot_hold_are_recorded_failures(tmp_path):
    root = tmp_path / "odd"
    root.mkdir()
    raw = os.fsencode(root) + b"/hlsp_x_y_z_\xff_f_v1_img.fits"
    with open(raw, "wb") as handle:  # noqa: PTH123 - a bytes path
        handle.write(b"SIMPLE  =                    T" + b" " * 2850)
    hidden = root / ".hidden.fits"
    hidden.write_bytes(b"")
    walk = Walk([root, hidden])
    assert list(walk.tasks()) == []
    assert sorted(f.code for f in walk.failures) == ["HLSP-R112", "HLSP-R112"]
    assert any("\\xff" in f.path for f in walk.failures)  # printable, never an encode error


def test_an_edited_manifest_takes_effect_without_any_file_changing(database, tiny, tmp_path):
    collection = tmp_path / "tess-ffilc"
    shutil.copytree(tiny / "tess-ffilc", collection, copy_function=shutil.copy2)
    manifest = collection / "hlsp-collection.toml"
    assert manifest.exists()
    run(database, collection)
    text = manifest.read_text()
    manifest.write_text(
        "\n".join(
            'title = "A New Title"' if line.startswith("title") else line
            for line in text.splitlines()
        )
        + "\n"
    )
    again = run(database, collection)
    assert again.added == again.updated == 0
    assert (
        scalar(database, "SELECT title FROM hlsp.collection WHERE hlsp_id = 'tess-ffilc'")
        == "A New Title"
    )
    manifest.write_text(text.replace('doi = "', 'doi = "nonsense-'))
    broken = run(database, collection)
    assert [f.code for f in broken.failures] == ["HLSP-R110"]
    assert "is not a DOI" in broken.failures[0].reason


def test_cross_file_findings_are_added_to_the_products_they_concern(database, tmp_path):
    """Files whose HLSPID or DOI differ from their collection's get C001/C002 appended after
    their own findings, and their verdict worsens; the others keep theirs."""
    root = tmp_path / "xcol"
    root.mkdir()
    doi = "10.17909/abcd-1234"
    for i in range(6):
        cards: list[tuple[str, Any]] = [("HLSPID", "xcol"), ("DOI", doi)]
        if i == 4:
            cards = [("HLSPID", "other"), ("DOI", "10.17909/zzzz-9999")]
        write_fits(root / f"hlsp_xcol_hst_wfc3_t{i}_f555w_v1_img.fits", [primary_hdu(cards)])
    summary = harvest(
        database, HarvestOptions(paths=[root], collection="xcol", jobs=1, progress=False)
    )
    assert summary.added == 6
    with psycopg.connect(database.url) as conn:
        rows = conn.execute(
            "SELECT p.file_name, p.verdict, array_agg(f.code ORDER BY f.finding_index), "
            "array_agg(f.finding_index ORDER BY f.finding_index) FROM hlsp.product p "
            "JOIN hlsp.product_finding f USING (product_id) GROUP BY 1, 2 ORDER BY 1"
        ).fetchall()
    by_name = {name[len("hlsp_xcol_hst_wfc3_") :][:2]: row for name, *row in rows}
    verdict, codes, indexes = by_name["t4"]
    assert verdict == "FAIL" and codes[-2:] == ["HLSP-C001", "HLSP-C002"]
    assert indexes == list(range(1, len(indexes) + 1))  # appended after the file's own
    for other in ("t0", "t1", "t2", "t3", "t5"):
        assert "HLSP-C001" not in by_name[other][1] and "HLSP-C002" not in by_name[other][1]


def test_a_harvest_releases_its_lock_before_it_returns(database, tmp_path, monkeypatch):
    """The next harvest may start at once: it must not find the lock still held by the
    last one's session, whose backend may not have exited yet when the client closed it."""
    write_fits(tmp_path / "hlsp_lock_hst_wfc3_t_f555w_v1_img.fits", [primary_hdu([])])
    runner = Harvest(database, HarvestOptions(paths=[tmp_path], jobs=1, progress=False))
    lingering = runner.conn
    monkeypatch.setattr(lingering, "close", lambda: None)  # as if the backend lingered
    try:
        assert runner.run().state == "completed"
        with psycopg.connect(database.url, autocommit=True) as other:
            row = other.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
            assert row == (True,)
            other.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        again = harvest(database, HarvestOptions(paths=[tmp_path], jobs=1, progress=False))
        assert again.unchanged == 1
    finally:
        monkeypatch.undo()
        lingering.close()


def test_a_second_harvest_is_refused_while_one_holds_the_lock(database, tmp_path):
    write_fits(tmp_path / "hlsp_lock_hst_wfc3_t_f555w_v1_img.fits", [primary_hdu([])])
    options = HarvestOptions(paths=[tmp_path], jobs=1, progress=False)
    with psycopg.connect(database.url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        with pytest.raises(HarvestBusy, match="another harvest is running"):
            harvest(database, options)
        # A lock released within the grace period (a session ending) is waited for.
        release = threading.Timer(
            0.3, lambda: holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        )
        release.start()
        try:
            assert harvest(database, options).added == 1
        finally:
            release.join()
    assert scalar(database, "SELECT count(*) FROM hlsp.harvest_run WHERE state = 'running'") == 0


def test_a_refused_harvest_says_which_run_holds_the_lock(database, tmp_path):
    write_fits(tmp_path / "hlsp_lock_hst_wfc3_t_f555w_v1_img.fits", [primary_hdu([])])
    options = HarvestOptions(paths=[tmp_path], jobs=1, progress=False)
    with psycopg.connect(database.url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        row = holder.execute(
            "INSERT INTO hlsp.harvest_run (host) VALUES ('elsewhere') RETURNING run_id"
        ).fetchone()
        assert row is not None
        with pytest.raises(HarvestBusy) as refused:
            harvest(database, options)
        pid = holder.info.backend_pid
    busy = refused.value
    assert busy.code == "HLSP-031"
    assert f"run {row[0]}, started " in busy.message and " on elsewhere" in busy.message
    assert f"server process {pid}" in busy.message
    assert busy.hint is not None and "run again" in busy.hint


def test_added_findings_continue_each_products_numbering_and_worsen_its_verdict(database):
    def finding(code: str, severity: Severity) -> Finding:
        return Finding(code, severity, f"{code} message")

    warned = record("hlsp_edge_x_y_warned_f_v1_img.fits")
    warned.findings, warned.verdict = [finding("HLSP-K002", Severity.WARNING)], Verdict.NEEDS_REVIEW
    clean = record("hlsp_edge_x_y_clean_f_v1_img.fits")
    quiet = record("hlsp_edge_x_y_quiet_f_v1_img.fits")
    (outcome,) = load(database, [warned, clean, quiet])
    ids = {
        name: outcome.product_ids[f"/virtual/{name}"]
        for name in (
            "hlsp_edge_x_y_warned_f_v1_img.fits",
            "hlsp_edge_x_y_clean_f_v1_img.fits",
            "hlsp_edge_x_y_quiet_f_v1_img.fits",
        )
    }
    warned_id, clean_id, quiet_id = ids.values()
    with psycopg.connect(database.url, autocommit=True) as conn:
        loader = Loader(conn, 1)
        loader.add_findings({})  # nothing to add: no statement fails
        loader.add_findings(
            {
                warned_id: [finding("HLSP-C001", Severity.ERROR)],
                clean_id: [
                    finding("HLSP-C002", Severity.WARNING),
                    finding("HLSP-C003", Severity.INFO),
                ],
                quiet_id: [finding("HLSP-C003", Severity.INFO)],
            }
        )
        rows = conn.execute(
            "SELECT p.product_id, p.verdict, f.finding_index, f.code FROM hlsp.product p "
            "LEFT JOIN hlsp.product_finding f USING (product_id) ORDER BY 1, 3"
        ).fetchall()
    assert rows == [
        (warned_id, "FAIL", 1, "HLSP-K002"),
        (warned_id, "FAIL", 2, "HLSP-C001"),
        (clean_id, "NEEDS REVIEW", 1, "HLSP-C002"),
        (quiet_id, "PASS", None, None),  # info-level findings are not stored
    ]
