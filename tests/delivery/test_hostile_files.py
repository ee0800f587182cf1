"""Files under attack from the file system: a directory of a harvested product swapped, while
the product is being asked for, between itself and a link to a directory outside the
harvested trees that holds a file of the same name, size and modification time (what someone
who can write in a collection's tree can arrange). Whatever the timing, the server answers
with the harvested bytes or a 404, never a byte of the other file."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import httpx
import sqlalchemy as sa

from catalog.delivery.urls import file_url
from tests.support.delivery import Site

ATTEMPTS = 400


def _product(site: Site) -> tuple[str, str, Path]:
    with site.db.engine.connect() as conn:
        hlsp, name, path = conn.execute(
            sa.text(
                "SELECT c.hlsp_id, p.file_name, p.file_path FROM hlsp.product p "
                "JOIN hlsp.collection c USING (collection_id) WHERE p.withdrawn_at IS NULL "
                "AND p.file_name LIKE '%.fits' ORDER BY 2 LIMIT 1"
            )
        ).one()
    return hlsp, name, Path(path)


class DirectorySwapper:
    """Moves ``directory`` aside and puts a link to ``outside`` in its place, and back, again
    and again."""

    def __init__(self, directory: Path, outside: Path) -> None:
        self.directory = directory
        self.aside = directory.with_name(directory.name + "-aside")
        self.outside = outside
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            self.directory.rename(self.aside)
            self.directory.symlink_to(self.outside)
            self.stop.wait(0.0003)
            self.directory.unlink()
            self.aside.rename(self.directory)
            self.stop.wait(0.0003)

    def __enter__(self) -> DirectorySwapper:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def test_a_directory_swapped_for_a_link_outside_never_serves_the_outside_file(
    site: Site, tmp_path: Path
) -> None:
    hlsp, name, path = _product(site)
    original = path.read_bytes()
    info = path.stat()
    impostor = tmp_path / name  # outside every harvested root
    impostor_bytes = b"X" * info.st_size
    impostor.write_bytes(impostor_bytes)
    os.utime(impostor, ns=(info.st_atime_ns, info.st_mtime_ns))
    url = file_url(site.base, hlsp, name)
    seen: dict[str, int] = {}
    with httpx.Client(timeout=30) as client:
        assert client.get(url).content == original
        with DirectorySwapper(path.parent, tmp_path):
            for _ in range(ATTEMPTS):
                r = client.get(url)
                leaked = r.content == impostor_bytes
                assert not leaked, f"the file outside was served after {seen}"
                kind = "harvested" if r.content == original else str(r.status_code)
                seen[kind] = seen.get(kind, 0) + 1
        assert client.get(url).content == original
    assert set(seen) <= {"harvested", "404"}, seen


def test_if_match_compares_strongly(site: Site) -> None:
    """RFC 9110 §13.1.1: If-Match uses the strong comparison, so a weak tag never matches."""
    hlsp, name, _ = _product(site)
    url = file_url(site.base, hlsp, name)
    with httpx.Client(timeout=30) as client:
        etag = client.head(url).headers["etag"]
        assert client.get(url, headers={"If-Match": etag}).status_code == 200
        assert client.get(url, headers={"If-Match": f'"x", {etag}'}).status_code == 200
        weak = client.get(url, headers={"If-Match": f"W/{etag}"})
        assert weak.status_code == 412
        # If-None-Match compares weakly: a weak tag of the same value matches
        assert client.get(url, headers={"If-None-Match": f"W/{etag}"}).status_code == 304
