"""Symbolic links in a harvested tree, and what a failure reason may quote of a file.

The harvest reads only what lies inside the harvested roots: a link out of them is a
recorded failure naming the link and its target is never opened; a link inside is followed
only when the walk would not reach its target itself (one file, one product); a file made a
link after the walk is not followed. A reason quotes a short, escaped excerpt of a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from catalog.corpus.fitswrite import header_bytes, primary_hdu, write_fits
from catalog.db import Database
from catalog.harvest.perfile import process_file
from catalog.harvest.records import REASON_LIMIT, FileFailure, ProductRecord
from catalog.harvest.walk import Walk
from tests.support.cli import hlsp

SECRET = b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:TOP-SECRET-LINE\n"


def rows(database: Database, sql: str, **params: object) -> list[Any]:
    with database.engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params).all())


def fits(path: Path, object_name: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_fits(
        path,
        [
            primary_hdu(
                [
                    ("HLSPID", "LNK"),
                    ("OBJECT", object_name),
                    ("MJD-BEG", 58000.0),
                    ("MJD-END", 58001.0),
                ]
            )
        ],
    )
    return path


def name(label: str) -> str:
    return f"hlsp_lnk_hst_wfc3_{label}_f555w_v1_drz.fits"


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """A contribution (root) with links in and out of it, and a place outside it."""
    outside = tmp_path / "elsewhere"
    fits(outside / name("foreign"), "FOREIGN")
    (outside / "passwd").write_bytes(SECRET)
    root = tmp_path / "contribution"
    coll = root / "lnk"
    fits(coll / name("plain"), "PLAIN")
    fits(coll / ".annex" / "objects" / "MD5E-s5760--d41d8cd9.fits", "ANNEXED")
    (coll / name("foreign")).symlink_to(outside / name("foreign"))
    (coll / name("passwd")).symlink_to(outside / "passwd")
    (coll / name("latest")).symlink_to(name("plain"))  # an alias of a file walked anyway
    (coll / name("annexed")).symlink_to(Path(".annex/objects/MD5E-s5760--d41d8cd9.fits"))
    (coll / "calibration").symlink_to(outside)  # a directory out of the tree
    (coll / "sub").mkdir()
    (coll / "sub" / "up").symlink_to(Path(".."))  # a directory inside: a cycle if followed
    return root, outside


def test_links_out_of_the_tree_are_failures_and_never_read(database: Database, tree) -> None:
    root, _outside = tree
    coll = root / "lnk"
    result = hlsp("harvest", str(root), "--no-progress", env={"HLSP_DATABASE_URL": database.url})
    assert result.returncode == 1, result.stderr  # some files failed (recorded)
    assert f"failed {coll / name('passwd')}: HLSP-R113 points outside the harvested tree" in (
        result.stderr
    )
    failures = {
        Path(path).name: (code, reason)
        for path, code, reason in rows(
            database, "SELECT file_path, code, reason FROM hlsp.harvest_failure"
        )
    }
    assert set(failures) == {name("foreign"), name("passwd"), "calibration"}
    for code, reason in failures.values():
        assert code == "HLSP-R113"
        assert reason.startswith("points outside the harvested tree")
        assert "root:x" not in reason and "SECRET" not in reason
    assert "a link to a directory" in failures["calibration"][1]
    products = {r[0] for r in rows(database, "SELECT file_name FROM hlsp.product")}
    assert name("foreign") not in products and name("passwd") not in products
    assert not rows(database, "SELECT 1 FROM hlsp.target_alias WHERE name ILIKE 'foreign'")


def test_links_inside_the_tree_count_each_file_once(database: Database, tree) -> None:
    root, _ = tree
    hlsp("harvest", str(root), "--no-progress", env={"HLSP_DATABASE_URL": database.url})
    products = {
        file_name: (path, target)
        for file_name, path, target in rows(
            database, "SELECT file_name, file_path, target_name FROM hlsp.product"
        )
    }
    coll = root / "lnk"
    # latest -> plain: the file walked anyway is one product, under its own name
    assert set(products) == {name("plain"), name("annexed")}
    assert products[name("plain")] == (str(coll / name("plain")), "PLAIN")
    # a file kept in a hidden store is known by its link: the link's name, the file's bytes
    assert products[name("annexed")] == (str(coll / name("annexed")), "ANNEXED")
    # the directory link inside the tree ('up' -> '..') is neither followed nor a failure
    failed = {Path(p).name for (p,) in rows(database, "SELECT file_path FROM hlsp.harvest_failure")}
    assert "up" not in failed


def test_a_link_given_as_a_root_is_followed(tree) -> None:
    _, outside = tree
    link = outside.parent / name("chosen")
    link.symlink_to(outside / name("foreign"))
    walk = Walk([link])
    (task,) = walk.tasks()
    assert (task.path, task.source) == (str(link), str(outside / name("foreign")))
    record = process_file(task)
    assert isinstance(record, ProductRecord) and record.target_name == "FOREIGN"
    assert not walk.failures


def test_a_file_made_a_link_after_the_walk_is_not_followed(tree) -> None:
    root, outside = tree
    tasks = {Path(t.path).name: t for t in Walk([root]).tasks()}
    plain = root / "lnk" / name("plain")
    plain.unlink()
    plain.symlink_to(outside / "passwd")  # swapped between the walk and the read
    failure = process_file(tasks[name("plain")])
    assert isinstance(failure, FileFailure)
    assert failure.code == "HLSP-R001" and "symbolic link" in failure.reason
    assert "root:x" not in failure.reason


def _padded(data: bytes) -> bytes:
    return data + b" " * (-len(data) % 2880)


_LONG = "a harmless start " * 3 + "TOP-SECRET /bin/bash " * 30
DAMAGED = {
    "text": SECRET * 40,
    "SIMPLE-a-long-string": header_bytes([("SIMPLE", _LONG)]),
    "BITPIX-a-long-string": header_bytes([("SIMPLE", True), ("BITPIX", _LONG)]),
    "text-after-the-last-HDU": header_bytes([("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0)])
    + _padded(SECRET * 10),
}


@pytest.mark.parametrize("kind", list(DAMAGED))
def test_a_reason_quotes_only_a_short_excerpt_of_the_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / name("damaged")
    path.write_bytes(DAMAGED[kind])
    failure = process_file(next(Walk([path]).tasks()))
    assert isinstance(failure, FileFailure), failure
    assert "TOP-SECRET" not in failure.reason and "/bin/bash" not in failure.reason
    assert len(failure.reason) < 300, failure.reason


def test_a_reason_is_one_bounded_line_whatever_made_it() -> None:
    failure = FileFailure(
        "/x.fits", "HLSP-R101", "ValueError: \x1b[2J\x1b[31mred\nnext" + "y" * 2000
    )
    assert "\x1b" not in failure.reason and "\n" not in failure.reason
    assert failure.reason.startswith("ValueError: \\x1b[2J\\x1b[31mred next")
    assert len(failure.reason) == REASON_LIMIT


def test_a_product_whose_file_became_a_link_out_is_withdrawn(database: Database, tree) -> None:
    """A product harvested from a file (or, before links were checked, through a link) that
    is now a link out of the tree: the next run records the link and withdraws the product,
    as for a file that vanished."""
    root, outside = tree
    env = {"HLSP_DATABASE_URL": database.url}
    was_link = root / "lnk" / name("foreign")
    was_link.unlink()
    fits(was_link, "FOREIGN")  # a plain file first
    hlsp("harvest", str(root), "--no-progress", env=env)
    live = "SELECT count(*) FROM hlsp.product WHERE file_name = :n AND withdrawn_at IS NULL"
    assert rows(database, live, n=name("foreign"))[0][0] == 1
    was_link.unlink()
    was_link.symlink_to(outside / name("foreign"))
    hlsp("harvest", str(root), "--no-progress", env=env)
    assert rows(database, live, n=name("foreign"))[0][0] == 0
    assert rows(
        database,
        "SELECT code FROM hlsp.harvest_failure WHERE file_path = :p AND "
        "run_id = (SELECT max(run_id) FROM hlsp.harvest_run)",
        p=str(was_link),
    ) == [("HLSP-R113",)]
