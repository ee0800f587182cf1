"""The archive layouts: what the standard library (and unzip) read of the bytes they write,
ZIP64 where sizes, offsets and counts need it, and member names that cannot climb out."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from catalog.delivery.archives import LAYOUTS, Entry, Written, archive_length, member_name


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_an_archive_written_from_its_layout_is_what_the_standard_library_reads(
    kind: str,
) -> None:
    layout = LAYOUTS[kind]
    contents = {
        "a/x.fits": b"",
        "a/" + "long" * 40 + ".fits": os.urandom(3000),
        "b/ümlaut.fits": os.urandom(512),
        "b/y.fits": os.urandom(100_001),
    }
    entries = [Entry(n, len(d), 1.7e9) for n, d in contents.items()]
    out = io.BytesIO()
    written = []
    for entry in entries:
        offset = out.tell()
        out.write(layout.head(entry, offset))
        data = contents[entry.name]
        out.write(data)
        done = Written(entry, offset, zlib.crc32(data))
        out.write(layout.tail(done))
        written.append(done)
    out.write(layout.trailer(written, out.tell()))
    assert out.tell() == archive_length(layout, entries)
    out.seek(0)
    if kind == "zip":
        with zipfile.ZipFile(out) as archive:
            assert archive.testzip() is None
            assert {i.filename: archive.read(i) for i in archive.infolist()} == contents
    else:
        with tarfile.open(fileobj=out) as archive:
            got = {m.name: archive.extractfile(m).read() for m in archive}  # type: ignore[union-attr]
            assert got == contents


def test_archive_member_names_cannot_climb_out() -> None:
    assert member_name("coll", "x.fits") == "coll/x.fits"
    for name in ("..", ".", "a/b", "a\\..\\b", "x\ny", ""):
        with pytest.raises(ValueError):
            member_name("coll", name)
    with pytest.raises(ValueError):
        member_name("../x", "y")


def _write_zip(path: Path, entries: list[Entry], hole: int) -> None:
    """Write the archive of ``entries`` as the response does: data ``x`` bytes, except for
    entries of ``hole`` bytes, left as a hole in the file (zeros when read)."""
    layout = LAYOUTS["zip"]
    zeros = bytes(8 << 20)
    written = []
    with path.open("wb") as out:
        for entry in entries:
            offset = out.tell()
            out.write(layout.head(entry, offset))
            if entry.size == hole:
                crc = 0
                for start in range(0, hole, len(zeros)):
                    crc = zlib.crc32(zeros[: min(len(zeros), hole - start)], crc)
                out.seek(hole, os.SEEK_CUR)
            else:
                data = b"x" * entry.size
                out.write(data)
                crc = zlib.crc32(data)
            done = Written(entry, offset, crc)
            out.write(layout.tail(done))
            written.append(done)
        out.write(layout.trailer(written, out.tell()))
    assert path.stat().st_size == archive_length(layout, entries)


def test_zip64_where_a_size_or_an_offset_needs_it(tmp_path: Path) -> None:
    huge = (1 << 32) + 10
    entries = [Entry("c/a.fits", 5, 1.7e9), Entry("c/huge.fits", huge, 1.7e9)]
    entries += [Entry("c/after.fits", 3, 1.7e9)]
    _write_zip(tmp_path / "big.zip", entries, huge)
    with zipfile.ZipFile(tmp_path / "big.zip") as archive:
        assert [(i.filename, i.file_size) for i in archive.infolist()] == [
            ("c/a.fits", 5),
            ("c/huge.fits", huge),
            ("c/after.fits", 3),
        ]
        assert archive.read("c/a.fits") == b"xxxxx"
        assert archive.read("c/after.fits") == b"xxx"  # its header past 4 GiB
        with archive.open("c/huge.fits") as member:  # its local header and ZIP64 field
            assert member.read(10) == bytes(10)


def test_zip64_where_the_count_of_entries_needs_it(tmp_path: Path) -> None:
    entries = [Entry(f"e/{i}", i % 3, 1.7e9) for i in range(65_536)]
    _write_zip(tmp_path / "many.zip", entries, -1)
    with zipfile.ZipFile(tmp_path / "many.zip") as archive:
        assert len(archive.infolist()) == 65_536
        assert archive.read("e/65535") == b"" and archive.read("e/65534") == b"xx"
    if shutil.which("unzip"):
        checked = subprocess.run(
            ["unzip", "-tq", str(tmp_path / "many.zip")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout[-2000:]
