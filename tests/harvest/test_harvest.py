"""Harvesting generated corpora into a real catalog: values, targets, failures, re-runs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from catalog.corpus import Corpus, generate_corpus
from catalog.db import Database
from catalog.harvest import loadpool, perfile
from catalog.harvest.records import FileResult, FileTask
from catalog.harvest.run import HarvestOptions, HarvestSummary, harvest

ARCSEC = 1 / 3600


@pytest.fixture(scope="module")
def corpus_source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Corpus]:
    root = tmp_path_factory.mktemp("corpus-source") / "hlsp"
    return root, generate_corpus(root, files=120, seed=7, damage=True)


@pytest.fixture
def corpus(corpus_source: tuple[Path, Corpus], tmp_path: Path) -> Iterator[tuple[Path, Corpus]]:
    """A private copy (tests modify files), with the generator's facts re-rooted onto it."""
    source, generated = corpus_source
    root = tmp_path / "hlsp"
    shutil.copytree(source, root, copy_function=shutil.copy2)
    yield root, generated
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def run(database: Database, *paths: Path, **options: object) -> HarvestSummary:
    return harvest(database, HarvestOptions(paths=list(paths), jobs=2, progress=False, **options))  # type: ignore[arg-type]


def rows(database: Database, sql: str, **params: object) -> list[Any]:
    with database.engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params).all())


@pytest.fixture
def harvested(
    database: Database, corpus_source: tuple[Path, Corpus], corpus: tuple[Path, Corpus]
) -> tuple[Path, Corpus, HarvestSummary]:
    root, generated = corpus
    summary = run(database, root)
    return root, generated, summary


def test_every_file_is_a_product_or_a_recorded_failure(database, harvested):
    _root, generated, summary = harvested
    readable_damage = {"unreadable"} if os.geteuid() == 0 else set()  # root reads mode 000
    damaged = [f for f in generated.damaged if f.damage not in readable_damage]
    assert summary.state == "completed"
    assert summary.seen == len(generated.files)
    assert summary.failed == len(damaged)
    assert summary.added == summary.seen - summary.failed
    assert summary.exit_code == 1
    failures = rows(
        database,
        "SELECT file_path, code, reason FROM hlsp.harvest_failure WHERE run_id = :r",
        r=summary.run_id,
    )
    assert {Path(p).name for p, _, _ in failures} == {f.path.name for f in damaged}
    assert all(code.startswith("HLSP-R") and len(reason) > 20 for _, code, reason in failures)
    names = {r[0] for r in rows(database, "SELECT file_name FROM hlsp.product")}
    assert not names & {f.path.name for f in damaged}  # never a half-written row
    run_row = rows(
        database,
        "SELECT state, files_seen, files_added, files_failed FROM "
        "hlsp.harvest_run WHERE run_id = :r",
        r=summary.run_id,
    )[0]
    assert tuple(run_row) == ("completed", summary.seen, summary.added, summary.failed)


def test_extracted_values_match_what_the_generator_wrote(database, corpus_source, harvested):
    _source, _ = corpus_source
    _root, generated, _ = harvested
    stored = {
        r.file_name: r
        for r in rows(
            database,
            """
        SELECT p.file_name, c.hlsp_id, p.s_ra, p.s_dec, p.t_min, p.t_max, p.observatory,
               p.instrument, p.dataproduct_type, p.simulated, p.footprint IS NOT NULL AS fp
        FROM hlsp.product p JOIN hlsp.collection c USING (collection_id)""",
        )
    }
    kinds = {
        "image": "image",
        "spectrum": "spectrum",
        "lightcurve": "timeseries",
        "catalog": "measurements",
        "cube": "cube",
    }
    for f in generated.files:
        if f.damage is not None:
            continue
        row = stored[f.path.name]
        assert row.hlsp_id == f.hlsp_id, f.path
        assert row.dataproduct_type == kinds[f.kind], f.path
        assert row.simulated == f.simulated
        assert row.observatory == f.observatory.upper()
        if f.instrument.upper() != "MULTI":  # MULTI: the name's 'acs-wfc3' says more
            assert row.instrument == f.instrument.upper()
        if f.ra is not None and f.dec is not None and 0 <= f.ra < 360:
            assert row.s_ra == pytest.approx(f.ra, abs=ARCSEC / 10), f.path
            assert row.s_dec == pytest.approx(f.dec, abs=ARCSEC / 10), f.path
        if "ra-out-of-range" in f.flaws:
            assert row.s_ra is None
        if f.t_min_mjd is not None:
            assert row.t_min == pytest.approx(f.t_min_mjd, abs=1e-6), f.path
            assert row.t_max == pytest.approx(f.t_max_mjd, abs=1e-6), f.path
        assert row.fp == (f.kind in {"image", "cube"}), f.path


def test_targets_are_shared_across_collections(database, harvested):
    shared = rows(
        database,
        """
        SELECT t.name, array_agg(DISTINCT c.hlsp_id ORDER BY c.hlsp_id) AS collections
        FROM hlsp.target t JOIN hlsp.target_alias a USING (target_id)
        JOIN hlsp.product_target pt USING (target_id) JOIN hlsp.product p USING (product_id)
        JOIN hlsp.collection c USING (collection_id)
        WHERE a.name_key = 'tic25155310' GROUP BY t.target_id""",
    )
    assert len(shared) == 1  # 'TIC 25155310' and 'TIC25155310' are one target
    assert shared[0].collections == ["ffi-gaia", "tess-ffilc"]
    galaxy = rows(
        database,
        """
        SELECT count(DISTINCT pt.target_id), array_agg(DISTINCT c.hlsp_id ORDER BY c.hlsp_id)
        FROM hlsp.target_alias a JOIN hlsp.product_target pt USING (target_id)
        JOIN hlsp.product p USING (product_id) JOIN hlsp.collection c USING (collection_id)
        WHERE a.name_key = 'ngc1385'""",
    )[0]
    assert galaxy[0] == 1
    assert {"nearby-hst", "nearby-jwst"} <= set(galaxy[1])
    duplicates = rows(
        database,
        """
        SELECT a.target_id, b.target_id FROM hlsp.target a JOIN hlsp.target b
        ON a.target_id < b.target_id AND a.pos <@ scircle(b.pos, radians(3.0 / 3600))""",
    )
    assert duplicates == []  # positions within 3" always resolved to one target


def test_findings_and_verdicts_are_stored(database, harvested):
    _, generated, _ = harvested
    flawed = {f.path.name: f.flaws for f in generated.flawed}
    stored = {
        r.file_name: (r.verdict, set(r.codes or []))
        for r in rows(
            database,
            """
        SELECT p.file_name, p.verdict, array_agg(f.code) AS codes FROM hlsp.product p
        LEFT JOIN hlsp.product_finding f USING (product_id) GROUP BY p.product_id""",
        )
    }
    expected_code = {
        "missing-doi": "HLSP-K001",
        "license-cc-by": "HLSP-K006",
        "equinox-with-icrs": "HLSP-K010",
        "cd-and-pc": "HLSP-K012",
        "upper-case-name": "HLSP-N007",
        "bad-version": "HLSP-N012",
        "unknown-product-type": "HLSP-N018",
        "ra-out-of-range": "HLSP-K015",
        "hlspver-mismatch": "HLSP-K020",
    }
    for name, flaws in flawed.items():
        verdict, codes = stored[name]
        for flaw in flaws:
            assert expected_code[flaw] in codes, (name, flaw, codes)
        assert verdict in {"FAIL", "NEEDS REVIEW"}
    review = rows(database, "SELECT count(*) FROM hlsp.product WHERE verdict <> 'PASS'")[0][0]
    assert review >= len(flawed)
    consistent = rows(
        database,
        """
        SELECT count(*) FROM hlsp.product p WHERE p.verdict <> CASE
          WHEN EXISTS (SELECT 1 FROM hlsp.product_finding f WHERE f.product_id = p.product_id
                       AND f.severity = 'error') THEN 'FAIL'
          WHEN EXISTS (SELECT 1 FROM hlsp.product_finding f WHERE f.product_id = p.product_id
                       AND f.severity = 'warning') THEN 'NEEDS REVIEW' ELSE 'PASS' END""",
    )
    assert consistent[0][0] == 0


def test_collection_metadata_from_manifest_and_headers(database, harvested):
    _, generated, _ = harvested
    stored = {r.hlsp_id: r for r in rows(database, "SELECT * FROM hlsp.collection")}
    for info in generated.collections:
        row = stored[info.hlsp_id]
        if info.manifest:
            assert row.title and row.release_date is not None and row.description
        if not info.legacy:
            assert row.doi and row.doi.startswith("10.17909/")
    assert stored["ffi-gaia"].doi is None  # legacy style: nothing invented


def test_provenance_and_software_are_linked(database, harvested):
    counts = rows(
        database,
        """
        SELECT c.hlsp_id, count(DISTINCT i.product_id) AS with_inputs,
               count(DISTINCT s.product_id) AS with_software
        FROM hlsp.product p JOIN hlsp.collection c USING (collection_id)
        LEFT JOIN hlsp.provenance_input i USING (product_id)
        LEFT JOIN hlsp.provenance_software s USING (product_id) GROUP BY c.hlsp_id""",
    )
    by_id = {r.hlsp_id: r for r in counts}
    assert by_id["uv-stars"].with_inputs > 0
    assert by_id["tess-ffilc"].with_software > 0


def test_rerun_skips_unchanged_files_without_opening_them(database, harvested, monkeypatch):
    root, _, first = harvested

    failed_paths = {f.path for f in first.failures}
    opened: list[str] = []

    def reading(task: FileTask, **options: bool) -> FileResult:
        opened.append(task.path)
        return perfile.process_file(task, **options)

    monkeypatch.setattr(loadpool, "process_file", reading)  # what the loader calls per file
    again = harvest(database, HarvestOptions(paths=[root], jobs=1, progress=False))
    assert opened and set(opened) <= failed_paths  # only the failed files are read again
    assert (again.added, again.updated, again.withdrawn) == (0, 0, 0)
    assert again.unchanged == first.added
    assert rows(database, "SELECT count(*) FROM hlsp.product")[0][0] == first.added


def test_changed_vanished_and_returning_files(database, harvested):
    root, generated, _first = harvested
    intact = [f for f in generated.intact if not f.path.name.endswith(".gz")]
    changed = next(root.rglob(intact[0].path.name))
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    vanished = next(root.rglob(intact[1].path.name))
    backup = vanished.read_bytes()
    vanished.unlink()
    second = run(database, root)
    assert (second.added, second.updated, second.withdrawn) == (0, 1, 1)
    withdrawn = rows(database, "SELECT file_name FROM hlsp.product WHERE withdrawn_at IS NOT NULL")
    assert [r[0] for r in withdrawn] == [vanished.name]
    in_obscore = rows(
        database,
        "SELECT count(*) FROM ivoa.obscore WHERE obs_id = :o",
        o=vanished.name.removesuffix(".fits"),
    )
    assert in_obscore[0][0] == 0
    vanished.write_bytes(backup)
    third = run(database, root)
    assert (third.added, third.updated, third.withdrawn) == (0, 1, 0)
    assert (
        rows(database, "SELECT count(*) FROM hlsp.product WHERE withdrawn_at IS NOT NULL")[0][0]
        == 0
    )


@pytest.mark.parametrize(("damage", "keep_missing"), [("truncated", False), ("overwritten", True)])
def test_a_file_damaged_after_its_harvest_withdraws_its_product_until_repaired(
    database, harvested, damage, keep_missing
):
    """A harvested file truncated or overwritten with something that is not FITS: the next
    run records the failure and withdraws the product (its metadata describes bytes that are
    gone), even with --keep-missing (which is about files that are absent); a later run that
    reads the file repaired brings the product back."""
    root, generated, _first = harvested
    intact = [f for f in generated.intact if not f.path.name.endswith(".gz")]
    damaged = next(root.rglob(intact[2].path.name))
    good = damaged.read_bytes()
    obs_id = damaged.name.removesuffix(".fits")

    def served() -> int:
        return int(
            rows(database, "SELECT count(*) FROM ivoa.obscore WHERE obs_id = :o", o=obs_id)[0][0]
        )

    assert served() == 1
    if damage == "truncated":
        damaged.write_bytes(good[:1000])  # a copy cut short inside the primary header
    else:
        damaged.write_bytes(b"<!DOCTYPE html><title>502 Bad Gateway</title>".ljust(len(good)))
    second = run(database, root, withdraw=not keep_missing)
    assert (second.added, second.updated, second.withdrawn) == (0, 0, 1)
    failure = rows(
        database,
        "SELECT code, reason FROM hlsp.harvest_failure WHERE run_id = :r AND file_path = :p",
        r=second.run_id,
        p=str(damaged),
    )
    assert [code for code, _ in failure] == ["HLSP-R004" if damage == "truncated" else "HLSP-R003"]
    withdrawn = rows(database, "SELECT file_name FROM hlsp.product WHERE withdrawn_at IS NOT NULL")
    assert [r[0] for r in withdrawn] == [damaged.name]
    assert served() == 0
    damaged.write_bytes(good)  # repaired (a new mtime: the next run reads it)
    third = run(database, root, withdraw=not keep_missing)
    assert (third.added, third.updated, third.withdrawn) == (0, 1, 0)
    assert third.failed == _first.failed  # the corpus's own damaged files, as every run
    assert (
        rows(database, "SELECT count(*) FROM hlsp.product WHERE withdrawn_at IS NOT NULL")[0][0]
        == 0
    )
    assert served() == 1


def test_harvesting_a_subtree_withdraws_nothing_outside_it(database, harvested):
    root, _, _ = harvested
    subtree = root / "uv-stars"
    summary = run(database, subtree)
    assert summary.withdrawn == 0
    assert summary.unchanged > 0


def test_collection_resolution_order(database, tmp_path, corpus_source):
    _source, generated = corpus_source
    current = next(f for f in generated.intact if f.hlsp_id == "tess-ffilc")
    legacy = next(f for f in generated.intact if f.hlsp_id == "ffi-gaia")
    plain = tmp_path / "_loose"  # not a valid collection id
    plain.mkdir()
    shutil.copy2(current.path, plain / "renamed.fits")  # HLSPID decides
    shutil.copy2(legacy.path, plain / legacy.path.name)  # no HLSPID: the file name decides
    shutil.copy2(legacy.path, plain / "orphan.fits")  # nothing decides: a failure
    summary = run(database, plain)
    by_name = {
        r.file_name: r.hlsp_id
        for r in rows(
            database,
            "SELECT p.file_name, c.hlsp_id "
            "FROM hlsp.product p JOIN hlsp.collection c USING (collection_id)",
        )
    }
    assert by_name == {"renamed.fits": "tess-ffilc", legacy.path.name: "ffi-gaia"}
    assert [(Path(f.path).name, f.code) for f in summary.failures] == [("orphan.fits", "HLSP-R100")]
    forced = run(database, plain, collection="my-coll", force=True)
    assert forced.failed == 0
    assert (
        rows(
            database,
            "SELECT count(*) FROM hlsp.product p JOIN hlsp.collection c "
            "USING (collection_id) WHERE hlsp_id = 'my-coll'",
        )[0][0]
        == 3
    )
    named = tmp_path / "dir-coll"
    named.mkdir()
    shutil.copy2(legacy.path, named / "orphan.fits")  # the directory decides
    run(database, named)
    assert (
        rows(database, "SELECT count(*) FROM hlsp.collection WHERE hlsp_id = 'dir-coll'")[0][0] == 1
    )


def test_the_name_is_checked_against_the_collection_it_resolves_to(corpus_source, tmp_path):
    """The proj-id must be the collection's id, whichever source gave the collection."""
    from catalog.harvest.records import ProductRecord
    from catalog.harvest.rules.nomenclature import PROJ_ID_MISMATCH, check_name

    _source, generated = corpus_source
    current = next(f for f in generated.intact if f.hlsp_id == "tess-ffilc")
    name = current.path.name
    assert name.startswith("hlsp_tess-ffilc_")

    def read(file_name: str, collection: str | None = None) -> ProductRecord:
        path = tmp_path / file_name
        shutil.copy2(current.path, path)
        info = path.stat()
        result = perfile.process_file(
            FileTask(str(path), info.st_size, info.st_mtime_ns, collection)
        )
        assert isinstance(result, ProductRecord), result
        return result

    def codes(record: ProductRecord) -> set[str]:
        return {f.code for f in record.findings if f.field == "proj_id"}

    same = read(name)  # HLSPID and the name agree
    assert (same.collection, same.collection_source) == ("tess-ffilc", "HLSPID")
    assert PROJ_ID_MISMATCH.code not in codes(same)
    assert [f for f in same.findings if f.code.startswith("HLSP-N")] == list(
        check_name(name, "tess-ffilc").findings
    )
    other = read(name.replace("tess-ffilc", "tess-other"))  # HLSPID decides, the name differs
    assert (other.collection, other.collection_source) == ("tess-ffilc", "HLSPID")
    assert PROJ_ID_MISMATCH.code in codes(other)
    upper = read(name.replace("tess-ffilc", "TESS-FFILC"))  # same id, wrong case
    assert upper.collection == "tess-ffilc"
    assert PROJ_ID_MISMATCH.code not in codes(upper) and codes(upper)  # (case is its own rule)
    forced = read(name, collection="my-coll")  # --collection decides
    assert (forced.collection, forced.collection_source) == ("my-coll", "option")
    assert PROJ_ID_MISMATCH.code in codes(forced)
