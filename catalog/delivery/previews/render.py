"""Rendering one preview, as a pure function of a file: :func:`render` (a FITS product, drawn
by kind) and :func:`thumbnail_of_picture` (a collection's own graphic made small).

Both return PNG bytes, or raise :class:`PreviewError` saying what is wrong with the file;
no other exception escapes them. They read and draw in the calling process, with no bound
of their own: the server calls them through :mod:`catalog.delivery.previews.budget`, in a
child process with a time and memory budget.
"""

from __future__ import annotations

import gzip
import io
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from catalog.delivery.previews.errors import PreviewError
from catalog.delivery.previews.kinds import Kind, kind_of_file

if TYPE_CHECKING:
    from astropy.io.fits import HDUList

PREVIEW_SIZE = 1024  # the longest side of a preview, in pixels
THUMBNAIL_SIZE = 256  # the longest side of a thumbnail
SMALLEST, LARGEST = 16, 4096  # sizes render() accepts
MOST_PICTURE_PIXELS = 100_000_000  # a shipped graphic larger than this is refused (a bomb)


def _drawers() -> dict[Kind, Callable[[HDUList, int], bytes]]:
    from catalog.delivery.previews import images, plots

    return {
        Kind.IMAGE: lambda hdus, size: images.draw_image(hdus, size, cube=False),
        Kind.CUBE: lambda hdus, size: images.draw_image(hdus, size, cube=True),
        Kind.SPECTRUM: plots.draw_spectrum,
        Kind.LIGHTCURVE: plots.draw_lightcurve,
        Kind.CATALOG: plots.draw_catalog,
    }


def _check_size(size: int) -> None:
    if not isinstance(size, int) or not SMALLEST <= size <= LARGEST:
        raise ValueError(f"size must be an integer from {SMALLEST} to {LARGEST}, got {size!r}")


def render(path: Path, kind: Kind | None, *, size: int) -> bytes:
    """The PNG preview of the FITS file at ``path`` whose longest side is ``size`` pixels
    (an image's exactly; a plot is ``size`` x ``3/4 size``), drawn as ``kind`` (None, or a
    kind whose data the file lacks: as what the file holds, :func:`kind_of_file`)."""
    _check_size(size)
    from catalog.delivery.previews.images import NothingToDraw

    try:
        with _open(path) as hdus:
            drawers = _drawers()
            if kind is not None:
                try:
                    return drawers[kind](hdus, size)
                except NothingToDraw as missing:
                    found = kind_of_file(hdus)
                    if found is None or found is kind:
                        raise PreviewError(
                            f"{path.name} cannot be drawn as {_a(kind)}: {missing.message}"
                        ) from None
                    kind = found
            else:
                kind = kind_of_file(hdus)
                if kind is None:
                    raise PreviewError(
                        f"{path.name} holds nothing to draw: no image of at least 2 x 2 "
                        "pixels, no table of a spectrum, light curve or catalog"
                    )
            return drawers[kind](hdus, size)
    except PreviewError as error:
        if error.message.startswith(path.name):
            raise
        raise PreviewError(f"{path.name} cannot be drawn: {error.message}") from None
    except MemoryError:
        raise  # the budget's to report
    except Exception as error:  # every failure of a damaged file is one error
        said = describe(error)
        if path.name.lower().endswith(".gz") and said.startswith("it is not a readable FITS"):
            said = said.replace("it is not", "its gzip stream is damaged or is not", 1)
        raise PreviewError(f"{path.name} cannot be drawn: {said}") from None


def _a(kind: Kind) -> str:
    return {Kind.IMAGE: "an image", Kind.LIGHTCURVE: "a light curve"}.get(kind, f"a {kind}")


class _open:
    """The FITS file, opened memory-mapped with image scaling left to the drawing (a stride
    of a scaled image would otherwise load it whole), header warnings silenced (a damaged
    card is the harvest's finding; a damaged data section fails the drawing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._warnings = warnings.catch_warnings()

    def __enter__(self) -> HDUList:
        from astropy.io import fits

        self._warnings.__enter__()
        warnings.simplefilter("ignore")
        try:
            if self.path.stat().st_size == 0:
                raise PreviewError(f"{self.path.name} is empty (0 bytes): it holds no data")
            self.hdus = fits.open(
                self.path, memmap=True, do_not_scale_image_data=True, lazy_load_hdus=False
            )
        except BaseException:
            self._warnings.__exit__(None, None, None)
            raise
        return self.hdus

    def __exit__(self, *exc: object) -> None:
        try:
            self.hdus.close()
        finally:
            self._warnings.__exit__(None, None, None)


_MEANINGS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str, bool], ...] = (
    (FileNotFoundError, "the file is missing from the server's disk", False),
    (PermissionError, "the server may not read the file (permission denied)", False),
    (IsADirectoryError, "it is a directory, not a file", False),
    (
        (gzip.BadGzipFile, zlib.error, EOFError),
        "its gzip compression is damaged or cut short",
        True,
    ),
)


def describe(error: BaseException) -> str:
    """What an exception met while reading a file says about the file, for its user."""
    text = str(error).strip() or type(error).__name__
    for kinds, meaning, detailed in _MEANINGS:
        if isinstance(error, kinds):
            return f"{meaning} ({text})" if detailed else meaning
    if isinstance(error, TypeError | ValueError | IndexError) and "buffer" in text:
        return (
            f"its data section is shorter than its headers declare: the file is truncated ({text})"
        )
    if isinstance(error, OSError):
        return f"it is not a readable FITS file ({text})"
    return f"its data cannot be read ({type(error).__name__}: {text})"


def thumbnail_of_picture(path: Path, size: int) -> bytes:
    """A PNG of the graphic at ``path`` (PNG, JPEG or GIF: a collection's own preview) whose
    longest side is ``size`` (never enlarged); one larger than :data:`MOST_PICTURE_PIXELS`
    is refused before it is decoded."""
    _check_size(size)
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow warns from 89 million pixels; the bound here is MOST_PICTURE_PIXELS.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(path)
        with opened as picture:
            if picture.format not in {"PNG", "JPEG", "GIF"}:
                raise PreviewError(
                    f"{path.name} is a {picture.format} picture: a preview must be PNG, JPEG or GIF"
                )
            width, height = picture.size
            if width * height > MOST_PICTURE_PIXELS:
                raise PreviewError(
                    f"{path.name} is {width} x {height} pixels, more than the "
                    f"{MOST_PICTURE_PIXELS:,} a preview may have"
                )
            picture.draft("RGB", (size, size))  # JPEG: decode at a reduced scale
            small = picture.convert("RGBA" if picture.mode in {"RGBA", "LA", "P"} else "RGB")
            small.thumbnail((size, size), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            small.save(out, format="PNG")
            return out.getvalue()
    except PreviewError:
        raise
    except MemoryError:
        raise
    except UnidentifiedImageError:
        raise PreviewError(f"{path.name} is not a PNG, JPEG or GIF picture") from None
    except Image.DecompressionBombError as error:
        raise PreviewError(f"{path.name} is too large to decode ({error})") from None
    except Exception as error:
        raise PreviewError(f"{path.name} cannot be made small: {describe(error)}") from None
