"""What a preview costs, per kind of product: drawn cold, and served from the cache.

For each kind (image, cube, spectrum, light curve, catalog) of a generated corpus, plus two
larger synthetic images (4096² float32, and 8000² float32 gzipped, as a big mosaic would be)
and the real files of ``../shared`` when present, every file is measured as:

  read      astropy's ``fits.open`` + every HDU's ``.data`` (the cost of just reading the
            data: the baseline, in the same run)
  render    ``render(path, kind, size=1024)`` in this process (reading + drawing + PNG)
  cold      ``PreviewService.get_blocking`` on an empty cache: the drawing in a budgeted child
            process (warm: started before timing), the PNG written to the cache
  cached    the same call again: a stat, a hash and the PNG's head and tail checked

Usage:

    uv run python benchmarks/previews.py [--files 120] [--per-kind 8]

Files are warm in the page cache; times are medians per file in milliseconds.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from astropy.io import fits

from catalog.config import Settings
from catalog.corpus import generate_corpus
from catalog.delivery.previews import Kind, PreviewService, PreviewSource
from catalog.delivery.previews.kinds import kind_of_product
from catalog.delivery.previews.render import PREVIEW_SIZE, render

KINDS = {
    "image": Kind.IMAGE,
    "cube": Kind.CUBE,
    "spectrum": Kind.SPECTRUM,
    "lightcurve": Kind.LIGHTCURVE,
    "catalog": Kind.CATALOG,
}
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "fits"


def read_all(path: Path) -> None:
    with fits.open(path, memmap=False) as hdus:
        for hdu in hdus:
            _ = hdu.data


def median_ms(paths: list[Path], action: Callable[[Path], object]) -> float:
    times = []
    for path in paths:
        started = time.perf_counter()
        action(path)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def large_images(directory: Path) -> list[tuple[str, list[Path], Kind]]:
    plain = directory / "large4096_img.fits"
    rng = np.random.default_rng(0)
    fits.PrimaryHDU(rng.normal(100, 5, (4096, 4096)).astype(np.float32)).writeto(plain)
    packed = directory / "large8000_img.fits.gz"
    header = fits.Header([("SIMPLE", True), ("BITPIX", -32), ("NAXIS", 2)])
    header["NAXIS1"] = header["NAXIS2"] = 8000
    with gzip.open(packed, "wb", compresslevel=1) as file:
        file.write(header.tostring().encode("ascii"))
        row = rng.normal(100, 5, 8000).astype(">f4").tobytes()
        for _ in range(8000):
            file.write(row)
        file.write(b"\0" * ((-(8000 * 8000 * 4)) % 2880))
    return [("image 4096² f32", [plain], Kind.IMAGE), ("image 8000² f32 .gz", [packed], Kind.IMAGE)]


def real_files() -> list[tuple[str, list[Path], Kind]]:
    found = []
    for path in sorted(SHARED.glob("*/*.fits")):
        kind = kind_of_product(None, path.stem.rsplit("_", 1)[-1])
        if kind is not None and path.name != "jwst_headers.fits":
            found.append((f"real: {path.name}", [path], kind))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=120, help="files in the generated corpus")
    parser.add_argument("--per-kind", type=int, default=8, help="files measured per kind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hlsp-previews-bench-") as scratch:
        root = Path(scratch)
        corpus = generate_corpus(root / "corpus", files=args.files, seed=11)
        groups: list[tuple[str, list[Path], Kind]] = []
        for name, kind in KINDS.items():
            paths = [f.path for f in corpus.intact if f.kind == name][: args.per_kind]
            groups.append((name, paths, kind))
        groups += large_images(root)
        groups += real_files()
        settings = Settings(data_dir=root / "data")
        settings = replace(settings, previews=replace(settings.previews, workers=1, timeout=120))
        service = PreviewService.from_settings(settings)
        try:
            warm = groups[0][1][0]
            render(warm, Kind.IMAGE, size=PREVIEW_SIZE)  # imports, font cache
            service.renderer.render_blocking(warm, Kind.IMAGE, PREVIEW_SIZE)  # a child, warm
            print(
                f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}"
            )
            print(f"corpus: {args.files} files, seed 11; medians per file, ms\n")
            print(
                "| files | n | read (baseline) | render in process | cold (child + cache) "
                "| cached | cold / read |"
            )
            print("|---|---:|---:|---:|---:|---:|---:|")
            for name, paths, kind in groups:
                sources = {p: PreviewSource("bench", p.name, p, kind.value, None) for p in paths}
                read = median_ms(paths, read_all)
                drawn = median_ms(paths, lambda p, k=kind: render(p, k, size=PREVIEW_SIZE))

                def get(path: Path, served: dict[Path, PreviewSource] = sources) -> Path:
                    return service.get_blocking(served[path], "preview")

                cold = median_ms(paths, get)
                cached = median_ms(paths, get)
                print(
                    f"| {name} | {len(paths)} | {read:.2f} | {drawn:.1f} | {cold:.1f} | "
                    f"{cached:.3f} | {cold / read:.0f}× |",
                    flush=True,
                )
        finally:
            service.close()


if __name__ == "__main__":
    sys.exit(main())
