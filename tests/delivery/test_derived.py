"""Previews, thumbnails and cutouts from the running server, found by catalog id like files:
every product type drawn, the collection's own graphic preferred, damaged data refused with
its reason, and SODA cutouts through pyvo."""

from __future__ import annotations

import io
import os
from pathlib import Path

import httpx
import numpy as np
import pytest
import sqlalchemy as sa
from astropy.io import fits
from astropy.wcs import WCS
from pyvo.dal.adhoc import SodaQuery

from catalog.delivery.urls import preview_url, publisher_did, thumbnail_url
from catalog.harvest.run import HarvestOptions, harvest
from tests.support.db import TEST_AUTHORITY
from tests.support.delivery import Site, picture


def _products(site: Site, where: str = "TRUE") -> list[tuple[str, str, str, str]]:
    with site.db.engine.connect() as conn:
        return [
            (r[0], r[1], r[2], r[3])
            for r in conn.execute(
                sa.text(
                    "SELECT c.hlsp_id, p.file_name, p.file_path, p.dataproduct_type FROM "
                    "hlsp.product p JOIN hlsp.collection c USING (collection_id) "
                    f"WHERE p.withdrawn_at IS NULL AND {where} ORDER BY 2"
                )
            )
        ]


def test_every_product_type_has_a_preview_and_a_thumbnail(site: Site) -> None:
    one_per_type = {row[3]: row for row in _products(site)}
    assert {"image", "cube", "spectrum", "timeseries", "measurements"} <= set(one_per_type)
    with httpx.Client(timeout=120) as client:
        for kind, (hlsp, name, _, _) in one_per_type.items():
            r = client.get(preview_url(site.base, hlsp, name))
            assert r.status_code == 200, (kind, name, r.text)
            assert r.headers["content-type"] == "image/png"
            image = picture(r.content)
            assert 200 <= max(image.size) <= 1024, (kind, image.size)
            r = client.get(thumbnail_url(site.base, hlsp, name))
            assert r.status_code == 200, (kind, name, r.text)
            assert max(picture(r.content).size) == 256, kind


def test_the_collections_own_graphic_is_the_preview(site: Site) -> None:
    hlsp, name, path, _ = _products(site, "p.dataproduct_type = 'spectrum'")[0]
    stem = name.removesuffix(".gz").removesuffix(".fits")
    ours = Path(path).with_name(stem + ".png")
    buffer = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (640, 480), (200, 30, 30)).save(buffer, format="PNG")
    ours.write_bytes(buffer.getvalue())
    harvest(site.db, HarvestOptions(paths=[site.root], jobs=1, progress=False))
    with httpx.Client(timeout=60) as client:
        r = client.get(preview_url(site.base, hlsp, name))
        assert r.status_code == 200 and r.content == buffer.getvalue()
        thumb = picture(client.get(thumbnail_url(site.base, hlsp, name)).content)
        assert thumb.size == (256, 192)
        assert thumb.convert("RGB").getpixel((128, 96)) == (200, 30, 30)


def test_what_has_no_preview_or_cannot_be_drawn(site: Site) -> None:
    with httpx.Client(timeout=60) as client:
        assert client.get(site.base + "/previews/nope/x.fits").status_code == 404
        readme = client.get(site.base + "/previews/" + _readme_key(site))
        assert readme.status_code == 404 and "not a product" in readme.text
        assert client.get(site.base + "/previews/x/..%2f..%2fetc%2fpasswd").status_code == 404
    # a gzipped product whose compressed stream is damaged, size and date kept as harvested
    gz = _products(site, "p.file_name LIKE '%.gz'")
    if not gz:
        pytest.skip("the corpus has no gzipped product")
    hlsp, name, path, _ = gz[0]
    data = bytearray(Path(path).read_bytes())
    info = Path(path).stat()
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    Path(path).write_bytes(bytes(data))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    with httpx.Client(timeout=120) as client:
        r = client.get(preview_url(site.base, hlsp, name))
    assert r.status_code == 422 and name in r.text, r.text


def _readme_key(site: Site) -> str:
    with site.db.engine.connect() as conn:
        return str(
            conn.execute(
                sa.text(
                    "SELECT c.hlsp_id || '/' || f.file_name FROM hlsp.companion_file f "
                    "JOIN hlsp.collection c USING (collection_id) WHERE f.role = 'readme' LIMIT 1"
                )
            ).scalar()
        )


def test_pyvo_cuts_an_image_by_its_publisher_did(site: Site, tmp_path: Path) -> None:
    images = _products(site, "p.dataproduct_type = 'image' AND p.file_name LIKE '%.fits'")
    hlsp, name, path, _ = images[0]
    with fits.open(path) as original:
        hdu = next(
            h for h in original if h.is_image and h.data is not None and h.header.get("CTYPE1")
        )
        wcs = WCS(hdu.header)
        pixels = np.array(hdu.data)
        ny, nx = pixels.shape[-2:]
        ra, dec = wcs.celestial.pixel_to_world_values(nx / 2, ny / 2)
        scale = abs(float(wcs.celestial.proj_plane_pixel_scales()[0].value))
    did = publisher_did(TEST_AUTHORITY, hlsp, name)
    query = SodaQuery(site.base + "/soda/sync", circle=(float(ra), float(dec), 10 * scale))
    query["ID"] = did
    out = tmp_path / "cut.fits"
    out.write_bytes(query.execute_stream().read())
    with fits.open(out) as cut:
        piece = next(h for h in cut if h.is_image and h.data is not None)
        assert max(piece.data.shape[-2:]) <= 22
        assert "SODACUT" in piece.header or "SODACUT" in cut[0].header
        got = WCS(piece.header).celestial.pixel_to_world_values(0, 0)
        x0, y0 = wcs.celestial.world_to_pixel_values(*got)
        y, x = round(float(y0)), round(float(x0))
        assert np.allclose(piece.data[0, 0], pixels[y, x], equal_nan=True)
    with httpx.Client(timeout=30) as client:
        r = client.get(site.base + "/soda/sync", params={"ID": did.replace(name, "nope.fits")})
        assert r.status_code == 404 and r.text.startswith("UsageError")
        r = client.get(site.base + "/soda/sync", params={"ID": "ivo://x?../../etc/passwd"})
        assert r.status_code == 404
