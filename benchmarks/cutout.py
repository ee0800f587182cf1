"""SODA cutout latency on a 4k x 4k image: small, medium and large circles.

Writes a 4096 x 4096 float32 image (64 MiB) with a TAN WCS, then times, for each circle:

  soda      catalog.delivery.soda.cutout.cut: parse the request, open the file (memory
            map), find the region's pixels, read them, write the cutout FITS file (what the
            endpoint does, minus HTTP)
  cutout2d  baseline: astropy's Cutout2D on an already-open memory map with the WCS already
            built, the pixels copied out (no file opened, nothing written)
  getdata   baseline: fits.getdata of the whole image into memory (what a service that
            reads the file before cutting pays), once per run

The file stays in the page cache between calls (the second call on is what is timed); the
median and the 90th percentile of ``--repeat`` calls are printed, with the cut's size. Usage:

    uv run python benchmarks/cutout.py [--repeat 30] [--size 4096]

The machine is shared: compare variants within one run, not across runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.wcs import WCS

from catalog.delivery.soda.cutout import cut
from catalog.delivery.soda.params import parse_request

SCALE = 0.1 / 3600  # degrees per pixel (0.1 arcsec, a drizzled HST mosaic)
CIRCLES = {"small": 10, "medium": 200, "large": 1500}  # radius in pixels


def write_image(directory: Path, size: int) -> tuple[Path, WCS]:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.1, 2.2]
    wcs.wcs.crpix = [size / 2 + 0.5, size / 2 + 0.5]
    wcs.wcs.cdelt = [-SCALE, SCALE]
    rng = np.random.default_rng(0)
    data = rng.normal(0.0, 1.0, (size, size)).astype(np.float32)
    path = directory / "image_4k.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, wcs.to_header(), name="SCI")]).writeto(
        path
    )
    return path, wcs


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    call()  # warm: the page cache, imports
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def row(name: str, label: str, times: list[float], size: int, baseline: float | None) -> str:
    median = statistics.median(times) * 1000
    p90 = sorted(times)[int(0.9 * (len(times) - 1))] * 1000
    ratio = f"{median / baseline:6.1f}x" if baseline else "      "
    return f"{name:<8} {label:<9} {median:10.2f} {p90:10.2f} {size / 1e6:10.2f}  {ratio}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--size", type=int, default=4096)
    args = parser.parse_args()
    python = sys.version.split()[0]
    print(f"# {platform.node()} {platform.platform()}, {os.cpu_count()} CPUs, Python {python}")
    print(f"# load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        path, wcs = write_image(directory, args.size)
        out = directory / "out"
        out.mkdir()
        ra, dec = wcs.pixel_to_world_values(args.size / 2 - 0.5 + 37, args.size / 2 - 0.5 - 21)
        centre = SkyCoord(float(ra), float(dec), unit="deg")
        print(f"# image: {args.size} x {args.size} float32, {path.stat().st_size / 2**20:.0f} MiB")
        head = f"{'circle':<8} {'variant':<9} {'median ms':>10} {'p90 ms':>10} {'MB out':>10}"
        print(f"{head}  vs cutout2d")
        hdul = fits.open(path, memmap=True)
        memmap = hdul["SCI"].data
        for name, radius in CIRCLES.items():
            r = radius * SCALE
            request = parse_request([("CIRCLE", f"{float(ra)} {float(dec)} {r}")])

            def soda(request=request) -> int:
                result = cut(path, request, max_output_bytes=2**31, work_dir=out)
                result.path.unlink()
                return result.size

            def cutout2d(r=r) -> int:
                piece = Cutout2D(memmap, centre, 2 * r * u.deg, wcs=wcs, mode="trim", copy=True)
                return int(piece.data.nbytes)

            baseline = timed(cutout2d, args.repeat)
            base_median = statistics.median(baseline) * 1000
            print(row(name, "cutout2d", baseline, cutout2d(), None))
            print(row(name, "soda", timed(soda, args.repeat), soda(), base_median))
        hdul.close()
        whole = timed(lambda: fits.getdata(path, "SCI", memmap=False), max(3, args.repeat // 5))
        print(row("-", "getdata", whole, args.size**2 * 4, None))
    print(f"# load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
