"""Bulk retrieval from the running server: download scripts run with bash and curl, zip and
tar archives opened with the standard library, IDs from TAP results, limits, hostile input,
and a client that leaves mid-archive."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shlex
import shutil
import subprocess
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import pyvo
import sqlalchemy as sa
from astropy.io.votable import from_table, writeto

from catalog.config import BulkSettings
from catalog.delivery.download_script import human_bytes
from catalog.delivery.urls import file_url, publisher_did
from tests.support.bigfits import big_fits, single_image
from tests.support.cli import serving
from tests.support.delivery import Site
from tests.support.procs import holding, listening_pids, open_files_under

BASH = shutil.which("bash") or "bash"
AUTHORITY = "ivo://hlsp.example/catalog"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _products(site: Site) -> list[tuple[str, str, str]]:
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


def _sample(site: Site, n: int) -> list[tuple[str, str, str]]:
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


def _ids(site: Site, rows: list[tuple[str, str, str]]) -> list[str]:
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
def test_the_script_downloads_every_file_and_resumes(site: Site, tmp_path: Path) -> None:
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


def test_zip_and_tar_archives_hold_the_files(site: Site, tmp_path: Path) -> None:
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


def test_what_is_not_found_or_gone_is_listed_in_missing_txt(site: Site) -> None:
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


def test_ids_from_a_tap_result_votable_and_csv(site: Site) -> None:
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


def test_requests_that_name_nothing_usable(site: Site) -> None:
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
def big(site: Site) -> Iterator[tuple[str, str]]:
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


def test_limits_and_admission(site: Site, big: tuple[str, str]) -> None:
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
    site: Site, big: tuple[str, str]
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
    site: Site, big: tuple[str, str], kind: str
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
