"""Previews under attack from the file system: a collection's own graphic swapped, while it is
being asked for, between the harvested picture and a link to a file outside the harvested
trees. Whatever the timing, the server answers with the harvested picture or a 404, never a
byte of the other file."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import sqlalchemy as sa
from PIL import Image

from catalog.delivery.urls import preview_url
from catalog.harvest.run import HarvestOptions, harvest
from tests.support.delivery import Site, Swapper

SECRET = b"TOP-SECRET"
ATTEMPTS = 300


def _spectrum(site: Site) -> tuple[str, str, Path]:
    with site.db.engine.connect() as conn:
        hlsp, name, path = conn.execute(
            sa.text(
                "SELECT c.hlsp_id, p.file_name, p.file_path FROM hlsp.product p "
                "JOIN hlsp.collection c USING (collection_id) WHERE p.withdrawn_at IS NULL "
                "AND p.dataproduct_type = 'spectrum' ORDER BY 2 LIMIT 1"
            )
        ).one()
    return hlsp, name, Path(path)


def test_a_graphic_swapped_for_a_link_outside_never_serves_the_outside_file(
    site: Site, tmp_path: Path
) -> None:
    hlsp, name, path = _spectrum(site)
    graphic = path.with_name(name.removesuffix(".gz").removesuffix(".fits") + ".png")
    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), (10, 120, 200)).save(buffer, format="PNG")
    graphic.write_bytes(buffer.getvalue())
    harvest(site.db, HarvestOptions(paths=[site.root], jobs=1, progress=False))
    secret = tmp_path / "secret.txt"  # outside every harvested root
    secret.write_bytes(SECRET)
    url = preview_url(site.base, hlsp, name)
    seen: dict[str, int] = {}
    with httpx.Client(timeout=30) as client:
        assert client.get(url).content == buffer.getvalue()
        with Swapper(graphic, secret, pause=0.0005):
            for _ in range(ATTEMPTS):
                try:
                    r = client.get(url)
                except httpx.TransportError as error:  # other bytes than the length promised
                    raise AssertionError(f"a preview was cut short after {seen}") from error
                assert SECRET not in r.content, f"a file outside was served after {seen}"
                kind = "picture" if r.content == buffer.getvalue() else str(r.status_code)
                seen[kind] = seen.get(kind, 0) + 1
        assert client.get(url).content == buffer.getvalue()
    assert set(seen) <= {"picture", "404", "200"}, seen
