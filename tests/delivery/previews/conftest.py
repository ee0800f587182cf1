"""Fixtures of the previews' tests: a generated corpus with every product type and every kind
of damage, a PNG's size and pixels, and a FITS image too large to draw within a small budget."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

from catalog.corpus import Corpus, generate_corpus

KINDS = ("image", "cube", "spectrum", "lightcurve", "catalog")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return generate_corpus(tmp_path_factory.mktemp("previews") / "hlsp", files=60, damage=True)


def picture(png: bytes | Path) -> Image.Image:
    """The PNG, opened and fully decoded with Pillow (a broken one raises)."""
    data = png.read_bytes() if isinstance(png, Path) else png
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    image.load()
    return image


def write_large_image(path: Path, side: int) -> Path:
    """A gzipped FITS image of ``side`` x ``side`` float32 zeros: a few hundred KB on disk,
    ``4 side**2`` bytes to read (a decompression bomb, as a hostile contribution would be)."""
    header = fits.Header([("SIMPLE", True), ("BITPIX", -32), ("NAXIS", 2)])
    header["NAXIS1"] = header["NAXIS2"] = side
    with gzip.open(path, "wb", compresslevel=1) as file:
        file.write(header.tostring().encode("ascii"))
        row = np.zeros(side, dtype=">f4").tobytes()
        for _ in range(side):
            file.write(row)
        file.write(b"\0" * ((-(side * side * 4)) % 2880))
    return path


@pytest.fixture(scope="session")
def large_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8000 x 8000 pixels (256 MB once read): seconds to draw, more than 64 MB to hold."""
    return write_large_image(tmp_path_factory.mktemp("large") / "large_img.fits.gz", 8000)
