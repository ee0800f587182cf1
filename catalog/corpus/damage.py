"""Damaged files for the corpus: each kind of breakage a harvester must survive."""

from __future__ import annotations

import gzip
from collections.abc import Callable

from catalog.corpus.fitswrite import BLOCK, CARD, HDU, fits_bytes, header_bytes

DAMAGES = (
    "zero-length",  # an empty file
    "not-fits",  # an HTML error page saved under a .fits name
    "truncated-header",  # the file stops inside the primary header
    "missing-end",  # a primary header without its END card, then end of file
    "truncated-data",  # complete headers, the last data unit cut in half
    "bad-gzip",  # a .fits.gz whose deflate stream is corrupt
    "non-ascii",  # a Latin-1 byte in a header card
    "unreadable",  # mode 000
)
"""Kinds of damaged file written when ``damage=True``, one file each."""

DAMAGE_FAMILY = {
    "zero-length": "tess-lc",
    "not-fits": "hst-img",
    "truncated-header": "jwst-img",
    "missing-end": "tess-legacy",
    "truncated-data": "spectra",
    "bad-gzip": "tess-lc",
    "non-ascii": "k2-lc",
    "unreadable": "galex-img",
}
"""The family whose next file each damaged file is made from."""

NOT_FITS = (
    b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
    b"<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p>"
    b"</body></html>\n"
)


def _zero_length(hdus: list[HDU]) -> bytes:
    return b""


def _not_fits(hdus: list[HDU]) -> bytes:
    return NOT_FITS


def _truncated_header(hdus: list[HDU]) -> bytes:
    return fits_bytes(hdus)[: BLOCK // 2 + 40]  # mid-card, well before END


def _missing_end(hdus: list[HDU]) -> bytes:
    header = bytearray(header_bytes(hdus[0].cards))
    for offset in range(0, len(header), CARD):
        if header[offset : offset + CARD].rstrip() == b"END":
            header[offset : offset + CARD] = b" " * CARD
            return bytes(header)
    raise AssertionError("a written header always has an END card")


def _truncated_data(hdus: list[HDU]) -> bytes:
    last = hdus[-1]
    if not last.data:
        raise ValueError("truncated-data needs an HDU with data last")
    return fits_bytes(hdus[:-1]) + header_bytes(last.cards) + last.data[: len(last.data) // 2]


def _bad_gzip(hdus: list[HDU]) -> bytes:
    stream = bytearray(gzip.compress(fits_bytes(hdus), mtime=0))
    middle = len(stream) // 2
    stream[middle : middle + 16] = bytes(b ^ 0xFF for b in stream[middle : middle + 16])
    return bytes(stream)


def _non_ascii(hdus: list[HDU]) -> bytes:
    data = bytearray(fits_bytes(hdus))
    where = data.index(b" / ", 4 * CARD) + 3  # first comment character after the 4th card
    data[where] = 0xE9  # 'e acute' in Latin-1
    return bytes(data)


def _intact(hdus: list[HDU]) -> bytes:
    return fits_bytes(hdus)  # made unreadable by its permissions, not its bytes


DAMAGERS: dict[str, Callable[[list[HDU]], bytes]] = {
    "zero-length": _zero_length,
    "not-fits": _not_fits,
    "truncated-header": _truncated_header,
    "missing-end": _missing_end,
    "truncated-data": _truncated_data,
    "bad-gzip": _bad_gzip,
    "non-ascii": _non_ascii,
    "unreadable": _intact,
}


def damaged_bytes(kind: str, hdus: list[HDU]) -> bytes:
    """The bytes of a file of ``kind`` made from ``hdus``."""
    return DAMAGERS[kind](hdus)
