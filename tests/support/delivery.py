"""Helpers of the delivery tests: a served catalog, and decoding pictures."""

from __future__ import annotations

import gzip
import io
import os
import threading
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


class Swapper:
    """Renames, again and again, a link to ``outside`` and then the harvested file (a hard
    link: the same file, size and time) over ``target``, ``pause`` seconds apart: a race
    between a server's check of a file and its use."""

    def __init__(self, target: Path, outside: Path, pause: float = 0.001) -> None:
        self.pause = pause
        self.target = target
        self.keep = target.with_name("keep-" + target.name)
        os.link(target, self.keep)
        self.outside = outside
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        link, copy = self.target.with_name("l.tmp"), self.target.with_name("c.tmp")
        while not self.stop.is_set():
            link.unlink(missing_ok=True)
            link.symlink_to(self.outside)
            link.rename(self.target)
            self.stop.wait(self.pause)
            copy.unlink(missing_ok=True)
            os.link(self.keep, copy)
            copy.rename(self.target)
            self.stop.wait(self.pause)

    def __enter__(self) -> Swapper:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.target.unlink()
        self.keep.rename(self.target)
