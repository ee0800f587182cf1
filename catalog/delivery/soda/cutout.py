"""Cut one product's FITS file by a SODA request: :func:`cut` writes the cutout to a
temporary FITS file and returns a :class:`CutResult`.

What is cut:
    POS (CIRCLE, RANGE, POLYGON)  every image HDU with a celestial FITS WCS (SCI, ERR, WHT…
        that carry one), by the bounding box of the region's pixels on it (SODA lets a
        service return a bounding cutout: a circle or polygon comes back as a box), trimmed to
        the image (SODA §3.3: a region larger than the data is reduced to the data).
    BAND    the spectral axis of image HDUs that have one (cubes, 1-D spectral images), or
        the spectrum table of a file without one (see :mod:`catalog.delivery.soda.spectra`).
    Both    the spatial and spectral axes of a cube.
An image HDU without a WCS of its own that has the same shape as a cut one shares its pixel
grid (the ERR and WHT arrays of many mosaics): it is cut with the same box and gets that
HDU's WCS cards. Other images are left out (a HISTORY card says so); tables are kept, except
a JWST ``ASDF`` extension, whose gWCS describes the uncut image.

The output keeps every header card of the original except those the cut invalidates:
``CRPIXja`` and ``LTVi`` move with the cut (astropy's ``Cutout2D`` does the same for its WCS),
``NAXISn`` follow the data, ``CHECKSUM``/``DATASUM`` are recomputed when the original had
them, and scaled integers (``BSCALE``/``BZERO``) are written as their physical values. The
primary and every cut HDU get ``SODACUT`` (the request, in SODA syntax), ``SODASRC`` (the
file cut) and a HISTORY card with the pixel ranges taken.

Data are read through memory maps and ``.section``, so only the cut's pixels are read; the
output's size is estimated before anything is read, and a cut past ``max_output_bytes`` is a
UsageError. Errors are :class:`~catalog.delivery.soda.errors.SodaError` subclasses: a
request that misses the product raises ``NoOverlap`` naming the product's coverage, and a
file astropy cannot read raises ``ProductUnreadable``. The function has no global state
and is meant to run off the event loop (a thread or a process).
"""

from __future__ import annotations

import logging
import math
import re
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from astropy.io import fits
from astropy.wcs import WCS

from catalog.delivery.soda.errors import NoOverlap, ProductUnreadable, SodaError, UsageError
from catalog.delivery.soda.params import SodaRequest
from catalog.delivery.soda.pixels import (
    Box,
    band_planes,
    has_celestial,
    has_spectral,
    header_wcs,
    shift_header,
    sky_box,
    sky_coverage,
)
from catalog.delivery.soda.spectra import cut_spectrum, wavelength_column

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/fits"
STALE_EXTENSIONS = frozenset({"ASDF"})
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._+-]+")
_IMAGE_TYPES = (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)


@dataclass(frozen=True)
class CutResult:
    """A cutout written to ``path`` (a temporary file the caller streams, then deletes),
    ``size`` bytes, to be offered as ``file_name``."""

    path: Path
    file_name: str
    size: int
    media_type: str = MEDIA_TYPE


@dataclass
class _ImageCut:
    index: int
    boxes: dict[int, Box]  # 0-based FITS axis -> first, last pixel (others: whole axis)
    wcs_cards: fits.Header | None = None  # for an HDU sharing another's grid


def file_name_for(name: str) -> str:
    """``<name>_cutout.fits`` with characters unsafe in a file name replaced."""
    stem = name.removesuffix(".gz").removesuffix(".fits").removesuffix(".fit")
    return f"{_SAFE_NAME.sub('_', stem)[:150] or 'product'}_cutout.fits"


def _is_image(hdu: Any) -> bool:
    if not isinstance(hdu, _IMAGE_TYPES):
        return False
    shape = hdu.shape
    return len(shape) >= 1 and all(n > 0 for n in shape)


def _slices(shape: tuple[int, ...], boxes: dict[int, Box]) -> tuple[slice, ...]:
    """numpy slices (axes reversed from FITS) for ``boxes``."""
    ndim = len(shape)
    slices = []
    for numpy_axis in range(ndim):
        box = boxes.get(ndim - 1 - numpy_axis)
        slices.append(slice(box[0], box[1] + 1) if box else slice(0, shape[numpy_axis]))
    return tuple(slices)


def _physical(raw: npt.NDArray[Any], header: fits.Header) -> npt.NDArray[Any]:
    """Raw (unscaled) pixels as the physical values BSCALE/BZERO/BLANK say; the scaling
    cards are removed from ``header`` when the values are no longer the raw integers."""
    bscale = float(header.get("BSCALE", 1.0))
    bzero = float(header.get("BZERO", 0.0))
    if bscale == 1.0 and bzero == 0.0:
        return raw
    bits = raw.dtype.itemsize * 8
    for key in ("BSCALE", "BZERO"):
        header.remove(key, ignore_missing=True)
    if bscale == 1.0 and raw.dtype.kind == "i" and bzero == 2 ** (bits - 1):
        header.remove("BLANK", ignore_missing=True)
        unsigned = raw.astype(raw.dtype.newbyteorder("=")).view(f"u{raw.dtype.itemsize}")
        return np.asarray(unsigned ^ np.array(1 << (bits - 1), dtype=unsigned.dtype))
    if bscale == 1.0 and raw.dtype.kind == "u" and bits == 8 and bzero == -128:
        return np.asarray((raw ^ np.uint8(0x80)).view(np.int8))
    values: npt.NDArray[np.floating[Any]] = raw.astype(np.float32 if bits <= 16 else np.float64)
    values = values * bscale + bzero
    blank = header.get("BLANK")
    header.remove("BLANK", ignore_missing=True)
    if isinstance(blank, int) and raw.dtype.kind in "iu":
        values[raw == blank] = np.nan
    return np.asarray(values)


def _out_itemsize(header: fits.Header) -> int:
    bits = abs(int(header.get("BITPIX", 8)))
    scaled = float(header.get("BSCALE", 1.0)) != 1.0 or float(header.get("BZERO", 0.0)) not in {
        0.0,
        float(2 ** (bits - 1)),
    }
    return max(bits // 8, 4 if bits <= 16 else 8) if scaled else bits // 8


def _header_bytes(header: fits.Header) -> int:
    return 2880 * math.ceil((len(header) + 8) * 80 / 2880)


def _set(header: fits.Header, key: str, value: str, comment: str) -> None:
    """Set a string card, without its comment when the value leaves no room for it (values
    past 68 characters continue on CONTINUE cards, which keep the comment)."""
    fits_card = len(value) > 68 or 10 + len(value) + 2 + 3 + len(comment) <= 80
    header[key] = (value, comment if fits_card else "")


def _provenance(header: fits.Header, request: SodaRequest, source: str, history: str) -> None:
    _set(header, "SODACUT", request.describe(), "SODA cutout: the region and band cut")
    _set(header, "SODASRC", source, "SODA cutout: the file it was cut from")
    header.add_history(history)


def _strip(header: fits.Header) -> fits.Header:
    header = header.copy()
    for key in ("CHECKSUM", "DATASUM"):
        header.remove(key, ignore_missing=True)
    return header


class _Cutter:
    """One cut of one open file."""

    def __init__(self, hdul: fits.HDUList, request: SodaRequest, source: str) -> None:
        self.hdul = hdul
        self.request = request
        self.source = source
        self.notes: list[str] = []

    # -- images ---------------------------------------------------------------------------

    def _applies(self, wcs: WCS | None, ndim: int) -> bool:
        if self.request.shape is not None and not (ndim >= 2 and has_celestial(wcs)):
            return False
        return self.request.band is None or has_spectral(wcs)

    def image_cuts(self) -> dict[int, _ImageCut] | None:
        """The image HDUs to cut and their boxes; None when no image HDU applies."""
        targets = []
        for index, hdu in enumerate(self.hdul):
            if _is_image(hdu):
                wcs = header_wcs(hdu.header)
                if self._applies(wcs, len(hdu.shape)):
                    targets.append((index, hdu, wcs))
        if not targets:
            return None
        cuts: dict[int, _ImageCut] = {}
        coverages: list[str] = []
        for index, hdu, wcs in targets:
            boxes, coverage = self._boxes(wcs, hdu.shape)
            if boxes is None:
                coverages.append(f"HDU {index} covers {coverage}")
                self.notes.append(f"HDU {index} left out: the cut misses it")
            else:
                cuts[index] = _ImageCut(index, boxes)
        if not cuts:
            raise NoOverlap(f"the cut misses the product: {'; '.join(coverages)}")
        self._companions(cuts)
        return cuts

    def _boxes(self, wcs: WCS, shape: tuple[int, ...]) -> tuple[dict[int, Box] | None, str]:
        boxes: dict[int, Box] = {}
        if self.request.shape is not None:
            sky = sky_box(wcs, self.request.shape, shape)
            if sky is None:
                return None, sky_coverage(wcs, shape)
            boxes.update(sky)
        if self.request.band is not None:
            axis = int(wcs.wcs.spec)
            planes = shape[len(shape) - 1 - axis]
            axis, box, coverage = band_planes(wcs, self.request.band, planes)
            if box is None:
                return None, coverage
            boxes[axis] = box
        return boxes, ""

    def _companions(self, cuts: dict[int, _ImageCut]) -> None:
        """Cut the images that share a cut image's pixel grid; note the others left out."""
        for index, hdu in enumerate(self.hdul):
            if index in cuts or not _is_image(hdu):
                continue
            wcs = header_wcs(hdu.header)
            twin = next((c for c in cuts.values() if self.hdul[c.index].shape == hdu.shape), None)
            if twin is not None and not (has_celestial(wcs) or has_spectral(wcs)):
                grid = header_wcs(self.hdul[twin.index].header)
                cards = grid.to_header(relax=True) if grid is not None else None
                cuts[index] = _ImageCut(index, twin.boxes, cards)
            elif index > 0:
                name = hdu.header.get("EXTNAME", "")
                self.notes.append(f"HDU {index} {name} left out: it has no WCS this cut applies to")

    def image_hdu(self, cut: _ImageCut) -> fits.PrimaryHDU | fits.ImageHDU:
        hdu = self.hdul[cut.index]
        header = _strip(hdu.header)
        if cut.wcs_cards is not None:
            header.extend(cut.wcs_cards, update=True)
        slices = _slices(hdu.shape, cut.boxes)
        data = _physical(self._read(hdu, slices), header)
        ndim = len(hdu.shape)
        starts = {ndim - 1 - a: s.start for a, s in enumerate(slices)}
        shift_header(header, starts)
        ranges = ", ".join(
            f"axis {ndim - a} {s.start + 1}..{s.stop}" for a, s in reversed(list(enumerate(slices)))
        )
        _provenance(header, self.request, self.source, f"SODA cutout of HDU {cut.index}: {ranges}")
        if cut.index == 0:
            return fits.PrimaryHDU(data=data, header=header)
        for key in ("SIMPLE", "EXTEND"):
            header.remove(key, ignore_missing=True)
        return fits.ImageHDU(data=data, header=header)

    def _read(self, hdu: Any, slices: tuple[slice, ...]) -> npt.NDArray[Any]:
        """The raw pixels of ``slices``: from the memory map of a plain file (the file is
        opened without scaling, so ``.data`` reads nothing until sliced), through
        ``.section`` for tile-compressed images and compressed files (which ``.data`` would
        decompress whole)."""
        if isinstance(hdu, fits.CompImageHDU) or getattr(self.hdul._file, "compression", None):
            return np.asarray(hdu.section[slices])
        return np.array(hdu.data[slices])

    def image_bytes(self, cuts: dict[int, _ImageCut]) -> int:
        total = 0
        for cut in cuts.values():
            hdu = self.hdul[cut.index]
            pixels = math.prod(
                (b[1] - b[0] + 1) if (b := cut.boxes.get(len(hdu.shape) - 1 - a)) else n
                for a, n in enumerate(hdu.shape)
            )
            total += pixels * _out_itemsize(hdu.header) + _header_bytes(hdu.header)
        return total

    # -- the whole file -------------------------------------------------------------------

    def _kept(self, index: int, hdu: Any) -> bool:
        name = str(hdu.header.get("EXTNAME", "")).strip().upper()
        return index > 0 and not _is_image(hdu) and name not in STALE_EXTENSIONS

    def _table_bytes(self, hdus: list[Any]) -> int:
        return sum(
            int(h.header.get("NAXIS1", 0)) * int(h.header.get("NAXIS2", 0))
            + int(h.header.get("PCOUNT", 0))
            + _header_bytes(h.header)
            for h in hdus
        )

    def build(self, max_output_bytes: int) -> fits.HDUList:
        cuts = self.image_cuts()
        if cuts is not None:
            kept = {i: h for i, h in enumerate(self.hdul) if i not in cuts and self._kept(i, h)}
            size = self.image_bytes(cuts) + self._table_bytes(list(kept.values()))
            self._check_size(size, max_output_bytes)
            out: list[Any] = []
            for index, hdu in enumerate(self.hdul):
                if index in cuts:
                    out.append(self.image_hdu(cuts[index]))
                elif index == 0:
                    out.append(fits.PrimaryHDU(header=self._primary_header(hdu)))
                elif index in kept:
                    out.append(hdu)
        else:
            out = self._spectrum(max_output_bytes)
        primary = out[0]
        if "SODACUT" not in primary.header:
            _provenance(primary.header, self.request, self.source, f"SODA cutout of {self.source}")
        for note in self.notes:
            primary.header.add_history(note)
        return fits.HDUList(out)

    def _primary_header(self, hdu: Any) -> fits.Header:
        header = _strip(hdu.header)
        if _is_image(hdu):
            self.notes.append("the primary array is left out: it has no WCS this cut applies to")
            for key in [k for k in header if re.match(r"^(NAXIS\d+|BSCALE|BZERO|BLANK)$", k)]:
                header.remove(key)
            header["NAXIS"] = 0
        return header

    def _spectrum(self, max_output_bytes: int) -> list[Any]:
        request = self.request
        if request.shape is not None:
            what = "POS and BAND" if request.band is not None else "POS"
            raise UsageError(
                f"{what} cannot be applied to this product: no image in it has a "
                f"{'celestial and spectral' if request.band is not None else 'celestial'} "
                "FITS WCS"
            )
        assert request.band is not None
        found = next(((i, c) for i, h in enumerate(self.hdul) if (c := wavelength_column(h))), None)
        if found is None:
            raise UsageError(
                "BAND cannot be applied to this product: it has no spectral axis (no image with "
                "a spectral WCS, no table with a WAVELENGTH column)"
            )
        index, column = found
        table, kept_what = cut_spectrum(self.hdul[index], column, request.band)
        table.header.remove("CHECKSUM", ignore_missing=True)
        table.header.remove("DATASUM", ignore_missing=True)
        _provenance(table.header, request, self.source, f"SODA cutout of HDU {index}: {kept_what}")
        others = [h for i, h in enumerate(self.hdul) if i != index and self._kept(i, h)]
        size = self._table_bytes([table, *others]) + _header_bytes(self.hdul[0].header)
        self._check_size(size, max_output_bytes)
        out: list[Any] = [fits.PrimaryHDU(header=self._primary_header(self.hdul[0]))]
        for i, hdu in enumerate(self.hdul):
            if i == index:
                out.append(table)
            elif self._kept(i, hdu):
                out.append(hdu)
        return out

    @staticmethod
    def _check_size(size: int, limit: int) -> None:
        if size > limit:
            raise UsageError(
                f"the cutout would hold about {size:,} bytes, more than this service's limit of "
                f"{limit:,}: ask for a smaller region or a narrower band"
            )


def cut(
    path: Path,
    request: SodaRequest,
    *,
    max_output_bytes: int,
    name: str | None = None,
    work_dir: Path | None = None,
) -> CutResult:
    """Cut the FITS file at ``path`` as ``request`` asks (see the module docstring) into a
    temporary file in ``work_dir`` (the system's temporary directory by default); ``name``
    (the product's obs_id or file name; the file's name by default) names the download."""
    if request.shape is None and request.band is None:
        raise UsageError(
            "no cutout asked for: give POS, CIRCLE, POLYGON or BAND (the whole file is "
            "downloaded from its access URL)"
        )
    source = path.name
    try:
        hdul = fits.open(path, memmap=True, do_not_scale_image_data=True, lazy_load_hdus=False)
    except Exception as e:  # astropy raises OSError, ValueError, TypeError… for a bad file
        raise ProductUnreadable(
            f"the product's file cannot be read as FITS: {_reason(e, path)}"
        ) from None
    written: Path | None = None
    try:
        with hdul:
            out = _Cutter(hdul, request, source).build(max_output_bytes)
            checksum = any("CHECKSUM" in h.header for h in hdul)
            with tempfile.NamedTemporaryFile(
                dir=work_dir, prefix="soda-", suffix=".fits", delete=False
            ) as handle:
                written = Path(handle.name)
                out.writeto(handle, checksum=checksum, output_verify="silentfix")
    except SodaError:
        _remove(written)
        raise
    except Exception as e:  # a damaged file fails anywhere in astropy; never a bare 500
        _remove(written)
        log.warning("cutout of %s failed", path, exc_info=True)
        raise ProductUnreadable(
            f"the product's file could not be cut ({type(e).__name__}: {_reason(e, path)})"
        ) from None
    return CutResult(written, file_name_for(name or source), written.stat().st_size)


def _reason(error: Exception, path: Path) -> str:
    """What went wrong, for the client: never where the file is kept on the server."""
    text = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    for where in (str(path), str(path.parent)):
        text = text.replace(where, "")
    return text[:200]


def _remove(path: Path | None) -> None:
    if path is not None:
        with suppress(OSError):
            path.unlink()
