"""Helpers of the delivery tests: a served catalog, and decoding pictures."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from PIL import Image

from catalog.corpus import Corpus
from catalog.db import Database

KINDS = ("image", "cube", "spectrum", "lightcurve", "catalog")


@dataclass(frozen=True)
class Site:
    """A served catalog: its URL, its database and the corpus it harvested."""

    base: str
    db: Database
    corpus: Corpus

    @property
    def root(self) -> Path:
        return self.corpus.root


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
