"""Large FITS products for download tests and benchmarks, written in an instant.

The harvest reads headers only, so a large product is a valid image header (taken from a
single-HDU image of a generated corpus, its NAXIS made large) followed by its data section,
left as a hole in a sparse file where the file system allows (zeros when read)."""

from __future__ import annotations

import os
from pathlib import Path

from astropy.io import fits

BLOCK = 2880
WIDTH = 4096  # NAXIS1 of the images written


def single_image(root: Path) -> Path:
    """A corpus product with its image in the primary HDU (a GALEX image)."""
    for path in sorted(root.rglob("*_img.fits")):
        with fits.open(path) as hdul:
            if len(hdul) == 1 and hdul[0].header.get("NAXIS") == 2:
                return path
    raise LookupError(f"no single-HDU image under {root}")


def big_fits(template: Path, target: Path, data_bytes: int, *, written: bool = False) -> int:
    """Write ``target``: ``template``'s header with an image of about ``data_bytes`` bytes
    (32-bit floats, whole rows) after it; returns the file's size. The data are a hole,
    or, ``written``, bytes on the disk (a random MiB over and over: for read benchmarks)."""
    with fits.open(template) as hdul:
        header = hdul[0].header.copy()
    bytes_per = abs(int(header["BITPIX"])) // 8
    rows = max(1, data_bytes // (WIDTH * bytes_per))
    header["NAXIS1"] = WIDTH
    header["NAXIS2"] = rows
    head = header.tostring().encode("ascii")
    data = WIDTH * rows * bytes_per
    size = len(head) + data + (-data % BLOCK)
    with target.open("wb") as out:
        out.write(head)
        if written:
            block = os.urandom(1 << 20)
            left = size - len(head)
            while left > 0:
                left -= out.write(block[: min(len(block), left)])
        out.truncate(size)
    os.utime(target)
    return size
