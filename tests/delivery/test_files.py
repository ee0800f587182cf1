"""Files over HTTP from the running server: every harvested file byte for byte, HTTP range and
conditional semantics as curl and download managers use them, and hostile paths."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest
import pyvo
import sqlalchemy as sa

from catalog.delivery.urls import file_url
from tests.support.cli import serving
from tests.support.delivery import Site

CURL = shutil.which("curl") or "curl"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _files(site: Site) -> list[tuple[str, str, str]]:
    """(hlsp_id, file_name, path) of every deliverable product and companion file."""
    with site.db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT c.hlsp_id, p.file_name, p.file_path FROM hlsp.product p "
                "JOIN hlsp.collection c USING (collection_id) WHERE p.withdrawn_at IS NULL "
                "UNION ALL SELECT c.hlsp_id, f.file_name, f.file_path FROM hlsp.companion_file f "
                "JOIN hlsp.collection c USING (collection_id) ORDER BY 1, 2"
            )
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def test_every_harvested_file_downloads_byte_for_byte(site: Site) -> None:
    files = _files(site)
    companions = [f for f in files if not f[1].endswith((".fits", ".fits.gz"))]
    assert len(files) > 50 and companions, "the corpus should have products and README files"
    with httpx.Client(timeout=60) as client:
        for hlsp, name, path in files:
            response = client.get(file_url(site.base, hlsp, name))
            assert response.status_code == 200, (name, response.text)
            assert _sha(response.content) == _sha(Path(path).read_bytes()), name
            assert int(response.headers["content-length"]) == Path(path).stat().st_size
            assert name in response.headers["content-disposition"]


def test_media_types_and_headers(site: Site) -> None:
    files = {name: (hlsp, path) for hlsp, name, path in _files(site)}
    gz = next(n for n in files if n.endswith(".fits.gz"))
    fits = next(n for n in files if n.endswith(".fits"))
    readme = next(n for n in files if "readme" in n.lower())
    with httpx.Client(timeout=30) as client:
        for name, media in ((fits, "application/fits"), (gz, "application/fits+gzip")):
            head = client.head(file_url(site.base, files[name][0], name))
            assert head.status_code == 200 and head.content == b""
            assert head.headers["content-type"] == media
            assert head.headers["accept-ranges"] == "bytes"
            assert head.headers["content-length"] == str(Path(files[name][1]).stat().st_size)
            assert head.headers["etag"].startswith('"')
            assert head.headers["last-modified"].endswith("GMT")
            assert head.headers["content-disposition"] == f'attachment; filename="{name}"'
        text = client.head(file_url(site.base, files[readme][0], readme))
        assert text.headers["content-type"].startswith(("text/plain", "text/markdown"))
        assert text.headers["content-disposition"].startswith("inline")


def _one_fits(site: Site) -> tuple[str, bytes]:
    hlsp, name, path = next(f for f in _files(site) if f[1].endswith(".fits"))
    return file_url(site.base, hlsp, name), Path(path).read_bytes()


def test_ranges(site: Site) -> None:
    url, data = _one_fits(site)
    size = len(data)
    with httpx.Client(timeout=30) as client:
        r = client.get(url, headers={"Range": "bytes=100-2979"})
        assert r.status_code == 206 and r.content == data[100:2980]
        assert r.headers["content-range"] == f"bytes 100-2979/{size}"
        r = client.get(url, headers={"Range": "bytes=-500"})
        assert r.status_code == 206 and r.content == data[-500:]
        r = client.get(url, headers={"Range": f"bytes={size - 10}-"})
        assert r.status_code == 206 and r.content == data[-10:]
        r = client.get(url, headers={"Range": f"bytes=0-{size * 10}"})  # clipped to the end
        assert r.status_code == 206 and r.content == data
        r = client.get(url, headers={"Range": f"bytes={size}-"})
        assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{size}"
        for malformed in ("bytes=abc", "lines=1-2", "bytes=5-1", "bytes=", "bytes=1-2;x"):
            r = client.get(url, headers={"Range": malformed})
            assert r.status_code == 200 and r.content == data, malformed
        # several ranges: multipart/byteranges, each part with its Content-Range
        r = client.get(url, headers={"Range": "bytes=0-9,2880-2889"})
        assert r.status_code == 206
        assert r.headers["content-type"].startswith("multipart/byteranges; boundary=")
        assert int(r.headers["content-length"]) == len(r.content)
        assert data[0:10] in r.content and data[2880:2890] in r.content
        assert f"Content-Range: bytes 2880-2889/{size}".encode() in r.content
        # overlapping or too many ranges: the whole file
        r = client.get(url, headers={"Range": "bytes=0-100,50-150"})
        assert r.status_code == 200 and r.content == data
        many = ",".join(f"{i}-{i}" for i in range(0, 400, 20))
        assert client.get(url, headers={"Range": f"bytes={many}"}).status_code == 200
        # If-Range: the same validator gives the range, another the whole file
        etag = r.headers["etag"]
        r = client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
        assert r.status_code == 206 and r.content == data[:10]
        r = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
        assert r.status_code == 200 and r.content == data


def test_conditional_requests(site: Site) -> None:
    url, data = _one_fits(site)
    with httpx.Client(timeout=30) as client:
        first = client.get(url)
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
        assert client.get(url, headers={"If-None-Match": f'"x", W/{etag}'}).status_code == 304
        assert client.head(url, headers={"If-None-Match": etag}).status_code == 304
        assert client.get(url, headers={"If-None-Match": '"x"'}).content == data
        assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
        old = formatdate(86400, usegmt=True)
        assert client.get(url, headers={"If-Modified-Since": old}).status_code == 200
        assert client.get(url, headers={"If-Match": '"x"'}).status_code == 412
        assert client.get(url, headers={"If-Match": etag}).status_code == 200
        assert client.get(url, headers={"If-Unmodified-Since": old}).status_code == 412
        # a garbled date is ignored, never an error
        assert client.get(url, headers={"If-Modified-Since": "yesterday"}).status_code == 200


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_resumes_an_interrupted_download(site: Site, tmp_path: Path) -> None:
    url, data = _one_fits(site)
    target = tmp_path / "partial.fits"
    target.write_bytes(data[:1234])  # what an interrupted download left
    subprocess.run([CURL, "-sf", "-C", "-", "-o", str(target), url], check=True, timeout=60)
    assert _sha(target.read_bytes()) == _sha(data)
    etag_file = tmp_path / "etag"
    again = tmp_path / "again.fits"
    subprocess.run([CURL, "-sf", "--etag-save", str(etag_file), "-o", str(again), url], check=True)
    compare = ["--etag-compare", str(etag_file)]
    out = subprocess.run(
        [CURL, "-s", "-o", "/dev/null", "-w", "%{http_code}", *compare, url],
        check=True,
        capture_output=True,
        text=True,
    )
    assert out.stdout == "304"


def test_tap_access_url_is_this_server_and_pyvo_downloads_it(site: Site) -> None:
    service = pyvo.dal.TAPService(site.base + "/tap")
    result = service.search(
        "SELECT TOP 5 obs_publisher_did, access_url, access_format, access_estsize "
        "FROM ivoa.obscore ORDER BY obs_id"
    )
    assert len(result) == 5
    with site.db.engine.connect() as conn:
        rows: dict[str, str] = dict(
            conn.execute(
                sa.text(
                    "SELECT c.hlsp_id || '/' || p.file_name, p.file_path FROM hlsp.product p "
                    "JOIN hlsp.collection c USING (collection_id)"
                )
            ).all()
        )
    for record in result:
        did = record["obs_publisher_did"]
        key = did.partition("?")[2]
        hlsp, _, name = key.partition("/")
        assert record["access_url"] == file_url(site.base, hlsp, name)
        assert record.getdataurl() == record["access_url"]
        data = record.getdataset().read()
        assert _sha(data) == _sha(Path(rows[key]).read_bytes())
        assert record["access_estsize"] == (len(data) + 999) // 1000


def test_the_product_table_has_the_same_access_url(site: Site) -> None:
    service = pyvo.dal.TAPService(site.base + "/tap")
    rows = service.search(
        "SELECT p.access_url AS a, o.access_url AS b FROM hlsp.product AS p "
        "JOIN ivoa.obscore AS o ON o.product_id = p.product_id"
    )
    assert len(rows) > 10
    assert all(r["a"] == r["b"] and r["a"].startswith(site.base + "/files/") for r in rows)


def test_sql_and_python_build_the_same_url(site: Site) -> None:
    names = ["plain_v1.fits", "with space.fits", "ümlaut_ß.fits", "a%b+c&d?e#f.fits", "~x.fits"]
    with site.db.engine.connect() as conn:
        for name in names:
            escaped = conn.execute(sa.text("SELECT hlsp.url_escape(:n)"), {"n": name}).scalar()
            assert file_url("", "h", name) == f"/files/h/{escaped}"
    with httpx.Client() as client:  # a URL with escapes comes back as the same name
        r = client.get(site.base + "/files/tglc/" + "with%20space.fits")
        assert r.status_code == 404 and "with space.fits" in r.text


TRAVERSALS = [
    "/files/../../etc/passwd",
    "/files/x/..%2f..%2fetc%2fpasswd",
    "/files/%2e%2e/%2e%2e/etc/passwd",
    "/files/x/%252e%252e%252fetc%252fpasswd",
    "/files/x/..%252f..%252fetc%252fpasswd",
    "/files/x/passwd%00.fits",
    "/files/x/%00",
    "/files/..%00/x",
    "/files/x/.hidden",
    "/files/etc/passwd",
    "/files//etc/passwd",
    "/files/x/" + "a" * 5000,
    "/files/x/%C0%AE%C0%AE%2Fetc%2Fpasswd",
    "/files/x/%ff%fe",
    "/files/x\\..\\..\\etc\\passwd/y",
]


def test_traversal_attempts_never_read_outside(site: Site) -> None:
    secret = Path("/etc/passwd").read_bytes()
    with httpx.Client(timeout=30) as client:
        for path in TRAVERSALS:
            response = client.get(site.base + path)
            assert response.status_code in (404, 400, 414), (path, response.status_code)
            assert secret[:32] not in response.content, path


def test_a_file_that_moved_changed_or_left_the_tree_is_a_404_and_is_counted(
    site: Site, tmp_path: Path
) -> None:
    files = [f for f in _files(site) if f[1].endswith(".fits")]
    (h1, n1, moved), (h2, n2, changed), (h3, n3, linked) = files[-3:]
    original = {p: Path(p).read_bytes() for p in (moved, changed, linked)}
    outside = tmp_path / "elsewhere.fits"
    outside.write_bytes(b"SECRET" * 1000)
    try:
        Path(moved).rename(moved + ".moved")
        Path(changed).write_bytes(original[changed][::-1])  # same size, other bytes
        Path(linked).unlink()
        Path(linked).symlink_to(outside)
        with httpx.Client(timeout=30) as client:
            for hlsp, name in ((h1, n1), (h2, n2), (h3, n3)):
                r = client.get(file_url(site.base, hlsp, name))
                assert r.status_code == 404, name
                assert b"SECRET" not in r.content and original[changed][::-1][:64] not in r.content
                assert name in r.text
        with site.db.engine.connect() as conn:
            missing: dict[str, str] = dict(
                conn.execute(sa.text("SELECT file_path, reason FROM hlsp.missing_file")).all()
            )
        assert missing == {moved: "gone", changed: "changed", linked: "outside"}
    finally:
        Path(moved + ".moved").rename(moved)
        Path(linked).unlink()
        for path, data in original.items():
            Path(path).write_bytes(data)
    # the next harvest sees them again (updated: their dates changed) and clears them
    from catalog.harvest.run import HarvestOptions, harvest

    summary = harvest(site.db, HarvestOptions(paths=[site.root], jobs=1, progress=False))
    assert summary.missing_found == 3 and summary.missing_still == 0
    with site.db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM hlsp.missing_file")).scalar() == 0
    with httpx.Client(timeout=30) as client:
        r = client.get(file_url(site.base, h2, n2))
        assert r.status_code == 200 and r.content == original[changed]


def test_async_results_carry_the_access_urls_and_datalink_of_the_request(site: Site) -> None:
    service = pyvo.dal.TAPService(site.base + "/tap")
    job = service.submit_job(
        "SELECT TOP 3 obs_publisher_did, access_url FROM ivoa.obscore ORDER BY obs_id"
    )
    job.run().wait(timeout=60)
    result = job.fetch_result()
    job.delete()
    assert len(result) == 3
    assert all(r["access_url"].startswith(site.base + "/files/") for r in result)
    descriptor = result.get_adhocservice_by_ivoid("ivo://ivoa.net/std/DataLink#links")
    params = {p.name: p.value for p in descriptor.params}
    assert params["accessURL"] == site.base + "/datalink/links"


def test_public_url_setting_is_the_base_of_every_link(site: Site) -> None:
    public = "https://archive.example.org/hlsp"
    env = {"HLSP_DATABASE_URL": site.db.url, "HLSP_PUBLIC_URL": public, "HLSP_WORKERS": "1"}
    with serving("serve", env=env) as base:
        rows = pyvo.dal.TAPService(base + "/tap").search(
            "SELECT TOP 2 access_url FROM ivoa.obscore"
        )
        assert all(r["access_url"].startswith(public + "/files/") for r in rows)
    with site.db.engine.connect() as conn:  # kept for SQL clients without a server
        stored = conn.execute(
            sa.text("SELECT setting_value FROM hlsp.setting WHERE name = 'public_url'")
        ).scalar()
    assert stored == public
