"""Bulk retrieval from the running server: download scripts run with bash and curl, zip and
tar archives opened with the standard library, IDs from TAP results, limits, hostile input,
and a client that leaves mid-archive."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import shlex
import shutil
import stat
import subprocess
import tarfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import pyvo
import sqlalchemy as sa
from astropy.io.votable import from_table, writeto

from catalog.config import BulkSettings
from catalog.delivery.archives import LAYOUTS, Entry, Written, archive_length, member_name
from catalog.delivery.download_script import (
    ScriptFile,
    download_script,
    human_bytes,
    script_path,
)
from catalog.delivery.urls import file_url, publisher_did
from tests.support.bigfits import big_fits, single_image
from tests.support.cli import serving
from tests.support.procs import holding, listening_pids, open_files_under
from tests.support.served import Served

BASH = shutil.which("bash") or "bash"
AUTHORITY = "ivo://hlsp.example/catalog"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _products(site: Served) -> list[tuple[str, str, str]]:
    """(hlsp_id, file_name, path) of the live products, by collection then name."""
    with site.db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT c.hlsp_id, p.file_name, p.file_path FROM hlsp.product p "
                "JOIN hlsp.collection c USING (collection_id) WHERE p.withdrawn_at IS NULL "
                "ORDER BY 1, 2"
            )
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def _sample(site: Served, n: int) -> list[tuple[str, str, str]]:
    """``n`` products spread over the collections (round robin)."""
    by: dict[str, list[tuple[str, str, str]]] = {}
    for row in _products(site):
        by.setdefault(row[0], []).append(row)
    picked: list[tuple[str, str, str]] = []
    while len(picked) < n and any(by.values()):
        for rows in by.values():
            if rows and len(picked) < n:
                picked.append(rows.pop(0))
    assert len({p[0] for p in picked}) >= min(n, 4), "the sample should span collections"
    return picked


def _ids(site: Served, rows: list[tuple[str, str, str]]) -> list[str]:
    """The three kinds of ID in turn: a publisher DID, a key, an access URL."""
    out = []
    for i, (hlsp, name, _) in enumerate(rows):
        out.append(
            [
                publisher_did(AUTHORITY, hlsp, name),
                f"{hlsp}/{name}",
                file_url(site.base, hlsp, name),
            ][i % 3]
        )
    return out


# -- the script builder --------------------------------------------------------------------------

HOSTILE = [
    "it's.fits",
    "$(touch pwned1).fits",
    "`touch pwned2`.fits",
    "a\nb; touch pwned3.fits",
    "x'; touch pwned4; echo '.fits",
    "--output=pwned5",
    "-o pwned6",
    "space and * glob?.fits",
    "ümlaut.fits",
]

SHIM = """#!/bin/bash
# records its arguments, NUL-separated, and writes the -o file as curl would
out=""
prev=""
for a in "$@"; do
  printf '%s\\0' "$a" >> "$CURL_LOG"; [ "$prev" = "-o" ] && out="$a"; prev="$a"
done
printf '\\n\\0' >> "$CURL_LOG"
mkdir -p "$(dirname -- "$out")" && printf 'data' > "$out"
"""


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_script_quotes_hostile_names_and_ids(tmp_path: Path) -> None:
    files = [
        ScriptFile("coll", name, f"http://h/files/coll/{i}?q='$(touch pwned7)'", 4)
        for i, name in enumerate(HOSTILE)
    ]
    not_found = [("bad\n touch pwned8", "not in the catalog"), ("$(touch pwned9)", "x\ny")]
    text = download_script(
        files, not_found, generated=datetime(2026, 1, 2, tzinfo=UTC), source="http://h"
    )
    shim = tmp_path / "bin" / "curl"
    shim.parent.mkdir()
    shim.write_text(SHIM)
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    work = tmp_path / "work"
    work.mkdir()
    (work / "s.sh").write_text(text)
    log = tmp_path / "log"
    env = {"PATH": f"{shim.parent}:{os.environ['PATH']}", "CURL_LOG": str(log)}
    done = subprocess.run(
        [BASH, "s.sh"], cwd=work, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert f"{len(files)} files downloaded" in done.stdout
    assert not list(tmp_path.rglob("pwned*"))
    calls = [c.split("\0")[:-1] for c in log.read_text().split("\n\0") if c]
    assert len(calls) == len(files)
    for call, file in zip(calls, files, strict=True):
        assert call[call.index("-o") + 1] == f"coll/{file.file_name}"
        assert call[-1] == file.url
        assert (work / "coll" / file.file_name).read_text() == "data"
    for name in ("..", ".", "a/b", "x\0"):
        with pytest.raises(ValueError):
            script_path("coll", name)


# -- the archive layouts --------------------------------------------------------------------------


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


def test_the_bulk_settings_are_bounded() -> None:
    assert BulkSettings.from_env({"HLSP_BULK_MAX_BYTES": "5"}).max_bytes == 5
    from catalog.errors import ConfigError

    for name, value in (("HLSP_BULK_ARCHIVES", "0"), ("HLSP_BULK_MAX_FILES", "nan")):
        with pytest.raises(ConfigError, match=name):
            BulkSettings.from_env({name: value})


# -- scripts from the server ----------------------------------------------------------------------


@pytest.mark.skipif(
    shutil.which("bash") is None or shutil.which("curl") is None, reason="bash and curl are needed"
)
def test_the_script_downloads_every_file_and_resumes(site: Served, tmp_path: Path) -> None:
    rows = _sample(site, 15)
    ids = [*_ids(site, rows), "nosuch/file.fits", "not an id at all"]
    r = httpx.post(site.base + "/bulk/script", data={"ID": ids}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/x-shellscript")
    assert re.fullmatch(
        r'attachment; filename="hlsp-download-\d{8}-\d{6}\.sh"',
        r.headers["content-disposition"],
    )
    total = sum(Path(p).stat().st_size for _, _, p in rows)
    assert f"# 15 files, {human_bytes(total)} in all." in r.text
    assert "#   nosuch/file.fits: not in the catalog" in r.text
    assert "#   not an id at all: not a catalog ID" in r.text
    script = tmp_path / "get.sh"
    script.write_text(r.text)
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [BASH, str(script)], cwd=work, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    for hlsp, name, path in rows:
        assert _sha((work / hlsp / name).read_bytes()) == _sha(Path(path).read_bytes()), name
    assert len(list(work.rglob("*.fits*"))) == 15
    # interrupted: one file partial, one absent; run again: resumed, the rest skipped
    hlsp, name, path = rows[0]
    (work / hlsp / name).write_bytes(Path(path).read_bytes()[:1000])
    (work / rows[1][0] / rows[1][1]).unlink()
    again = subprocess.run(
        [BASH, str(script)], cwd=work, capture_output=True, text=True, timeout=120, check=False
    )
    assert again.returncode == 0, again.stderr
    for hlsp, name, path in rows:
        assert _sha((work / hlsp / name).read_bytes()) == _sha(Path(path).read_bytes()), name


# -- archives from the server ---------------------------------------------------------------------


def _check_zip(data: bytes, rows: list[tuple[str, str, str]]) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        got = {i.filename: archive.read(i) for i in archive.infolist()}
    for hlsp, name, path in rows:
        assert _sha(got.pop(f"{hlsp}/{name}")) == _sha(Path(path).read_bytes()), name
    return got  # what is left: MISSING.txt, if anything


def _check_tar(data: bytes, rows: list[tuple[str, str, str]]) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        got = {m.name: archive.extractfile(m).read() for m in archive}  # type: ignore[union-attr]
    for hlsp, name, path in rows:
        assert _sha(got.pop(f"{hlsp}/{name}")) == _sha(Path(path).read_bytes()), name
    return got


def test_zip_and_tar_archives_hold_the_files(site: Served, tmp_path: Path) -> None:
    rows = _sample(site, 20)
    ids = _ids(site, rows)
    with httpx.Client(timeout=60) as client:
        r = client.get(site.base + "/bulk/archive", params={"ID": ids})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/zip"
        assert int(r.headers["content-length"]) == len(r.content)
        assert r.headers["content-disposition"].endswith('.zip"')
        assert _check_zip(r.content, rows) == {}
        if shutil.which("unzip"):
            (tmp_path / "a.zip").write_bytes(r.content)
            listed = subprocess.run(
                ["unzip", "-tq", str(tmp_path / "a.zip")], capture_output=True, check=False
            )
            assert listed.returncode == 0, listed.stdout
        r = client.post(site.base + "/bulk/archive?format=TAR", data={"ID": ids})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/x-tar"
        assert int(r.headers["content-length"]) == len(r.content)
        assert _check_tar(r.content, rows) == {}
        # format in the form, the name of the parameter in any case (DALI)
        r = client.post(site.base + "/bulk/archive", data={"id": ids[:3], "Format": "tar"})
        assert r.headers["content-type"] == "application/x-tar"
        assert _check_tar(r.content, rows[:3]) == {}


def test_what_is_not_found_or_gone_is_listed_in_missing_txt(site: Served) -> None:
    rows = _sample(site, 6)
    gone_hlsp, gone_name, gone_path = rows.pop()
    ids = [*_ids(site, rows), f"{gone_hlsp}/{gone_name}", "nosuch/x.fits", "ivo://x?bad"]
    moved = gone_path + ".away"
    Path(gone_path).rename(moved)
    try:
        for kind, check in (("zip", _check_zip), ("tar", _check_tar)):
            r = httpx.post(
                site.base + "/bulk/archive", data={"ID": ids, "FORMAT": kind}, timeout=60
            )
            assert r.status_code == 200, r.text
            assert int(r.headers["content-length"]) == len(r.content)
            rest = check(r.content, rows)
            assert set(rest) == {"MISSING.txt"}
            text = rest["MISSING.txt"].decode()
            assert f"{gone_hlsp}/{gone_name}\t" in text and "no longer where" in text
            assert "nosuch/x.fits\tnot in the catalog" in text
            assert "ivo://x?bad\tnot a catalog ID" in text
            r = httpx.post(site.base + "/bulk/script", data={"ID": ids}, timeout=60)
            assert "#   nosuch/x.fits: not in the catalog" in r.text
    finally:
        Path(moved).rename(gone_path)


def test_ids_from_a_tap_result_votable_and_csv(site: Served) -> None:
    service = pyvo.dal.TAPService(site.base + "/tap")
    result = service.search(
        "SELECT TOP 12 obs_publisher_did, access_url, obs_id FROM ivoa.obscore ORDER BY obs_id"
    )
    table = result.to_table()
    assert len(table) == 12
    keys = [str(did).partition("?")[2] for did in table["obs_publisher_did"]]
    paths = {f"{h}/{n}": p for h, n, p in _products(site)}
    rows = [(k.split("/", 1)[0], k.split("/", 1)[1], paths[k]) for k in keys]
    votable = io.BytesIO()
    writeto(from_table(table), votable)
    with httpx.Client(timeout=60) as client:
        r = client.post(
            site.base + "/bulk/archive",
            content=votable.getvalue(),
            headers={"Content-Type": "application/x-votable+xml"},
        )
        assert r.status_code == 200, r.text
        assert _check_zip(r.content, rows) == {}
        # as a file of a multipart form, with the format beside it
        r = client.post(
            site.base + "/bulk/archive",
            files={"table": ("result.xml", votable.getvalue(), "application/octet-stream")},
            data={"FORMAT": "tar"},
        )
        assert r.status_code == 200, r.text
        assert _check_tar(r.content, rows) == {}
        # CSV with access_url only (no DID column)
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["obs_id", "access_url"])
        writer.writerows([[r["obs_id"], r["access_url"]] for r in table])
        r = client.post(
            site.base + "/bulk/script",
            content=text.getvalue().encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert r.status_code == 200, r.text
        urls = re.findall(r"-o \S+ (\S+) \|\|", r.text)
        assert [shlex.split(u)[0] for u in urls] == [str(u) for u in table["access_url"]]
        # a table without an ID column says which columns it has
        r = client.post(
            site.base + "/bulk/script",
            content=b"obs_id,ra\nx,1\n",
            headers={"Content-Type": "text/csv"},
        )
        assert r.status_code == 400 and "obs_publisher_did" in r.text and "obs_id" in r.text


def test_requests_that_name_nothing_usable(site: Served) -> None:
    big = "a" * 21_000_000
    with httpx.Client(timeout=60) as client:
        for path in ("/bulk/script", "/bulk/archive"):
            r = client.get(site.base + path)
            assert r.status_code == 400 and "ID parameters" in r.text
            r = client.get(site.base + path, params={"ID": ["nosuch/a.fits", "x"]})
            assert r.status_code == 404 and "nosuch/a.fits" in r.text
            r = client.post(
                site.base + path, content=b"<VOTABLE><oops", headers={"Content-Type": "text/xml"}
            )
            assert r.status_code == 400 and "VOTable" in r.text
            r = client.post(
                site.base + path,
                content=b"\x00\x01",
                headers={"Content-Type": "application/octet-stream"},
            )
            assert r.status_code == 415 and "text/csv" in r.text
            r = client.post(
                site.base + path, content=big.encode(), headers={"Content-Type": "text/plain"}
            )
            assert r.status_code == 413, r.text
            many = {"ID": [f"c/{i}.fits" for i in range(10_001)]}
            r = client.post(site.base + path, data=many)
            assert r.status_code == 413 and "10,000" in r.text
            # 19 MB of newlines: no ID (and no list of 19 million empty lines)
            blank = {"Content-Type": "text/plain"}
            r = client.post(site.base + path, content=b"\n" * 19_000_000, headers=blank)
            assert r.status_code == 400 and "ID parameters" in r.text
            rows = "".join(f"<TR><TD>c/{i}</TD></TR>" for i in range(10_001))
            table = (
                '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE>'
                '<TABLE><FIELD name="obs_publisher_did" datatype="char" arraysize="*"/>'
                f"<DATA><TABLEDATA>{rows}</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
            )
            votable = {"Content-Type": "application/x-votable+xml"}
            r = client.post(site.base + path, content=table.encode(), headers=votable)
            assert r.status_code == 413 and "10,000 rows" in r.text
        hlsp, name, _ = _products(site)[0]
        r = client.get(
            site.base + "/bulk/archive", params={"ID": f"{hlsp}/{name}", "FORMAT": "rar"}
        )
        assert r.status_code == 400 and "zip or tar" in r.text
        # one ID per line as plain text
        r = client.post(
            site.base + "/bulk/script",
            content=f"\n{hlsp}/{name}\n\n".encode(),
            headers={"Content-Type": "text/plain"},
        )
        assert r.status_code == 200 and name in r.text
        assert client.get(site.base + "/health").status_code == 200


# -- limits, admission, and a client that leaves --------------------------------------------------


@pytest.fixture(scope="module")
def big(site: Served) -> Iterator[tuple[str, str]]:
    """Two large products (~120 MB each, sparse) harvested into the site: (hlsp_id, name)."""
    from catalog.harvest.run import HarvestOptions, harvest

    template = single_image(site.root)
    made = []
    for i in (1, 2):
        target = template.with_name(template.name.replace("_img.fits", f"-big{i}_img.fits"))
        big_fits(template, target, 120_000_000)
        made.append(target)
    harvest(site.db, HarvestOptions(paths=[site.root], jobs=1, progress=False))
    found = {n: h for h, n, _ in _products(site)}
    assert all(t.name in found for t in made), "the large files should be harvested"
    yield found[made[0].name], made[0].name
    # left in place: later tests of the module may see them


def test_limits_and_admission(site: Served, big: tuple[str, str]) -> None:
    hlsp, name = big
    ids = [f"{hlsp}/{name}", f"{hlsp}/{name.replace('big1', 'big2')}"]
    small = [f"{h}/{n}" for h, n, _ in _sample(site, 5)]
    env = {
        "HLSP_DATABASE_URL": site.db.url,
        "HLSP_WORKERS": "1",
        "HLSP_BULK_MAX_BYTES": "200000000",
        "HLSP_BULK_ARCHIVES": "1",
        "HLSP_BULK_MAX_FILES": "6",
    }
    with serving("serve", env=env) as base, httpx.Client(timeout=60) as client:
        r = client.get(base + "/bulk/archive", params={"ID": ids})
        assert r.status_code == 413
        assert "The 2 files come to 240." in r.text and "than the 200.0 MB" in r.text
        assert "HLSP_BULK_MAX_BYTES" in r.text and "/bulk/script" in r.text
        r = client.get(base + "/bulk/script", params={"ID": ids})
        assert r.status_code == 200  # a script has no size limit
        r = client.get(base + "/bulk/archive", params={"ID": [f"c/{i}" for i in range(7)]})
        assert r.status_code == 413 and "at most 6" in r.text
        # one archive at a time here: a second one while the first streams is refused
        with (
            httpx.Client(timeout=60) as other,
            other.stream("GET", base + "/bulk/archive", params={"ID": ids[0]}) as first,
        ):
            assert first.status_code == 200
            chunks = first.iter_raw()  # held: a dropped iterator would close the connection
            next(chunks)
            r = client.get(base + "/bulk/archive", params={"ID": small})
            assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
            assert "busy" in r.text
        for _ in range(100):  # the slot comes back once the first client is gone
            r = client.get(base + "/bulk/archive", params={"ID": small})
            if r.status_code != 503:
                break
            time.sleep(0.1)
        assert r.status_code == 200 and len(r.content) == int(r.headers["content-length"])


def test_a_client_that_leaves_mid_archive_leaves_no_open_file(
    site: Served, big: tuple[str, str]
) -> None:
    hlsp, name = big
    port = int(site.base.rsplit(":", 1)[1])
    pids = listening_pids(port)
    assert pids, "the server's processes should be found by their listening socket"
    ids = [f"{hlsp}/{name}", f"{hlsp}/{name.replace('big1', 'big2')}"]
    paths = {str(Path(p).resolve()) for h, n, p in _products(site) if f"{h}/{n}" in ids}
    assert len(paths) == 2
    assert holding(pids, paths) == 0  # none left open by the requests before
    for kind in ("zip", "tar"):
        with (
            httpx.Client(timeout=60) as client,
            client.stream(
                "GET", site.base + "/bulk/archive", params={"ID": ids, "FORMAT": kind}
            ) as r,
        ):
            assert r.status_code == 200
            assert int(r.headers["content-length"]) > 240_000_000
            chunks = r.iter_raw()  # held: a dropped iterator would close the connection
            got = 0
            while got < 3_000_000:
                got += len(next(chunks))
            assert holding(pids, paths) == 1  # it is streaming the first file
        del chunks
        # the client closed its connection: the server stops and closes the file
        for _ in range(100):
            if holding(pids, paths) == 0:
                break
            time.sleep(0.1)
        assert holding(pids, paths) == 0
        assert open_files_under(pids, site.root) == 0
    assert httpx.get(site.base + "/health", timeout=30).status_code == 200
    r = httpx.get(site.base + "/bulk/archive", params={"ID": ids[:1], "FORMAT": "tar"}, timeout=120)
    assert r.status_code == 200 and int(r.headers["content-length"]) == len(r.content)


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_a_file_gone_while_the_archive_streams_is_listed_and_the_length_kept(
    site: Served, big: tuple[str, str], kind: str
) -> None:
    hlsp, name = big
    rows = _sample(site, 3)
    vanishing = rows.pop(1)
    ids = [f"{hlsp}/{name}", *(f"{h}/{n}" for h, n, _ in [rows[0], vanishing, rows[1]])]
    moved = vanishing[2] + ".away"
    received = bytearray()
    try:
        with (
            httpx.Client(timeout=120) as client,
            client.stream(
                "POST", site.base + "/bulk/archive", data={"ID": ids, "FORMAT": kind}
            ) as r,
        ):
            assert r.status_code == 200
            chunks = r.iter_raw()
            received += next(chunks)  # the large file is streaming: the others wait
            Path(vanishing[2]).rename(moved)
            for chunk in chunks:
                received += chunk
            assert len(received) == int(r.headers["content-length"])
    finally:
        Path(moved).rename(vanishing[2])
    rest = (_check_zip if kind == "zip" else _check_tar)(bytes(received), rows)
    assert set(rest) == {f"{hlsp}/{name}", "MISSING.txt"}
    text = rest["MISSING.txt"].decode()
    reason = f"{vanishing[1]} is no longer where it was harvested"
    assert f"{vanishing[0]}/{vanishing[1]}\t{reason}\n" in text
    assert text.startswith("Files of this request that are not in this archive")


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
