"""Cutouts under attack from the file system: a product swapped, while it is being cut,
between the harvested file and a link to another FITS file outside the harvested trees (same
WCS, other pixels). Whatever the timing, a cutout holds the harvested pixels or the answer
is an error, never the other file's pixels."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import numpy as np
import sqlalchemy as sa
from astropy.io import fits

from tests.support.delivery import Site, Swapper

ATTEMPTS = 150
MARK = 12345.0


def _image(site: Site) -> tuple[str, Path, float, float]:
    with site.db.engine.connect() as conn:
        did, path, ra, dec = conn.execute(
            sa.text(
                "SELECT o.obs_publisher_did, p.file_path, o.s_ra, o.s_dec FROM ivoa.obscore o "
                "JOIN hlsp.product p USING (product_id) WHERE o.dataproduct_type = 'image' "
                "AND p.file_name LIKE '%.fits' AND o.s_ra IS NOT NULL ORDER BY 1 LIMIT 1"
            )
        ).one()
    return did, Path(path), ra, dec


def _marked_copy(path: Path, to: Path) -> None:
    with fits.open(path) as hdus:
        copy = fits.HDUList([hdu.copy() for hdu in hdus])
    for hdu in copy:
        if hdu.is_image and hdu.data is not None:
            hdu.data[...] = MARK
    copy.writeto(to)


def _marked(content: bytes) -> bool:
    with fits.open(io.BytesIO(content)) as hdus:
        return any(
            hdu.is_image and hdu.data is not None and bool(np.all(hdu.data == MARK)) for hdu in hdus
        )


def test_a_product_swapped_for_a_link_outside_is_never_cut(site: Site, tmp_path: Path) -> None:
    did, path, ra, dec = _image(site)
    outside = tmp_path / "other.fits"
    _marked_copy(path, outside)
    params = {"ID": did, "CIRCLE": f"{ra} {dec} 0.001"}
    seen: dict[str, int] = {}
    with httpx.Client(timeout=60) as client:
        first = client.get(site.base + "/soda/sync", params=params)
        assert first.status_code == 200 and not _marked(first.content), first.text[:200]
        with Swapper(path, outside):
            for _ in range(ATTEMPTS):
                r = client.get(site.base + "/soda/sync", params=params)
                leaked = r.status_code == 200 and _marked(r.content)
                assert not leaked, f"a file outside was cut after {seen}"
                seen[str(r.status_code)] = seen.get(str(r.status_code), 0) + 1
    assert set(seen) <= {"200", "404"}, seen
