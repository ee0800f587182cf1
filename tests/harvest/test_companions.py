"""What the harvest records for delivery: the directories it was given, the collections' other
files (README, preview graphics, text beside products) and their roles; links out of the tree
and vanished files left out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from catalog.corpus import generate_corpus
from catalog.db import Database
from catalog.harvest.run import HarvestOptions, HarvestSummary, harvest
from catalog.harvest.walk import companion_role, media_type


def run(database: Database, *paths: Path) -> HarvestSummary:
    return harvest(database, HarvestOptions(paths=list(paths), jobs=1, progress=False))


def rows(database: Database, sql: str) -> list[Any]:
    with database.engine.connect() as conn:
        return list(conn.execute(sa.text(sql)).all())


@pytest.fixture
def corpus_root(tmp_path: Path) -> Path:
    root = tmp_path / "hlsp"
    generate_corpus(root, files=40, seed=3)
    return root


def test_roles_and_media_types_of_names() -> None:
    assert companion_role("hlsp_tglc_readme.txt") == "readme"
    assert companion_role("README.md") == "readme"
    assert companion_role("hlsp_x_hst_acs_m31_f814w_v1_drz.png") == "graphic"
    assert companion_role("hlsp_x_hst_acs_m31_f814w_v1_preview.JPG") == "graphic"
    assert companion_role("hlsp_x_hst_acs_m31_multi_v1_cat.csv") == "auxiliary"
    assert media_type("a.txt") == "text/plain"
    assert media_type("A.PNG") == "image/png"
    assert media_type("notes.md") == "text/markdown"
    assert media_type("x.unknown") == "application/octet-stream"


def test_readmes_graphics_and_siblings_are_recorded_with_their_collection(
    database: Database, corpus_root: Path, tmp_path: Path
) -> None:
    product = next(corpus_root.rglob("hlsp_*.fits"))
    stem = product.name.removesuffix(".fits")
    graphic = product.with_name(stem + ".png")
    graphic.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    sibling = product.with_name(stem + ".txt")
    sibling.write_text("notes on this observation\n", encoding="utf-8")
    outside = tmp_path / "secret.txt"
    outside.write_text("not part of any collection\n", encoding="utf-8")
    (product.parent / "escape.txt").symlink_to(outside)
    summary = run(database, corpus_root)
    assert summary.state == "completed" and summary.companions > 0
    found = {
        r[0]: r[1:]
        for r in rows(
            database,
            "SELECT f.file_name, f.role, f.media_type, f.stem, f.file_bytes, c.hlsp_id, "
            "f.file_path FROM hlsp.companion_file f JOIN hlsp.collection c USING (collection_id)",
        )
    }
    collection = rows(
        database,
        "SELECT c.hlsp_id FROM hlsp.product p JOIN hlsp.collection c USING (collection_id) "
        f"WHERE p.file_name = '{product.name}'",  # a generated name: no quote in it
    )[0][0]
    assert found[graphic.name][:4] == ("graphic", "image/png", stem, 108)
    assert found[sibling.name][:3] == ("auxiliary", "text/plain", stem)
    assert found[graphic.name][4] == found[sibling.name][4] == collection
    readmes = [name for name, r in found.items() if r[0] == "readme"]
    assert len(readmes) >= 4, "each generated collection ships a README"
    assert "escape.txt" not in found, "a link leaving the tree is not recorded"
    roots = rows(database, "SELECT root FROM hlsp.harvest_root")
    assert (os.path.realpath(corpus_root),) in [tuple(r) for r in roots]

    # a companion that vanished from a tree walked to the end is no longer recorded
    sibling.unlink()
    run(database, corpus_root)
    names = {r[0] for r in rows(database, "SELECT file_name FROM hlsp.companion_file")}
    assert sibling.name not in names and graphic.name in names


def test_the_query_login_reads_companions_but_not_their_paths(
    database: Database, corpus_root: Path
) -> None:
    run(database, corpus_root)
    with database.engine.connect() as conn, conn.begin():
        conn.execute(sa.text("SET LOCAL ROLE hlsp_reader"))
        names = conn.execute(sa.text("SELECT file_name FROM hlsp.companion_file")).scalars().all()
        assert names
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text("SELECT file_path FROM hlsp.companion_file"))
    with database.engine.connect() as conn, conn.begin():
        conn.execute(sa.text("SET LOCAL ROLE hlsp_tap_reader"))
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text("SELECT * FROM hlsp.deliverable_files(ARRAY['x/y'])"))
