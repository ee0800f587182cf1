"""Read the header of every HDU of a FITS file, plain or gzip, without reading data.

    read_headers(path) -> list[Header]     raises FitsReadError

Only header blocks are read: each data unit is skipped by the size its header announces
(a seek for plain files; decompress-and-discard in bounded chunks for gzip, recognised by
its magic bytes whatever the file name), so memory stays bounded whatever the file size.
Cards are parsed as astropy.io.fits parses them (see cards); parsed cards are kept in a
small cache keyed by the 80-character image, since a collection repeats most of its cards.

A file that cannot be read completely raises :class:`FitsReadError` with an HLSP-Rnnn code;
there are never partial results. The reader is stricter than astropy, which warns and
carries on, in these cases: bytes other than printable ASCII in a card before END
(HLSP-R006), a value astropy cannot parse (HLSP-R007; astropy raises only when the value is
used), extension headers that are truncated or missing END (astropy drops those HDUs), and
bytes after the last HDU that are not zeros (HLSP-R011). Tolerated as astropy tolerates
them: zeros after the last HDU, a last data unit without its padding, an END card with junk
after it (astropy's classic parser; its fast path reads on to the next clean END instead).
"""

from __future__ import annotations

import errno
import math
import os
import stat
import zlib
from collections.abc import Callable, ItemsView, Iterator
from dataclasses import dataclass
from typing import cast

from catalog.harvest.findings import Rule, Severity, rule
from catalog.harvest.fits.cards import BLOCK, CARD, CardError, find_end, parse_cards

Value = str | bool | int | float | complex | None
"""A card value: str, bool (logical), int, float, complex, or None (undefined/commentary)."""

COMMENTARY = frozenset({"COMMENT", "HISTORY", ""})


@dataclass(frozen=True, slots=True)
class Card:
    keyword: str  # upper case; HIERARCH cards keep their words as astropy does: 'ESO DET ID'
    value: Value  # commentary cards: the text; undefined value: None
    comment: str = ""

    def __reduce__(self) -> tuple[type[Card], tuple[object, ...]]:
        return Card, (self.keyword, self.value, self.comment)  # see native.py


class Header:
    """The cards of one HDU, with dictionary-style lookup of keyword values.

    ``get``/``[]``/``in`` follow astropy: the value of the first card with that keyword;
    commentary keywords (COMMENT, HISTORY, blank) are reached through :meth:`commentary`.
    """

    __slots__ = ("_folded", "_index", "cards", "data_bytes", "data_offset", "index", "offset")

    def __init__(
        self, index: int, cards: list[Card], *, offset: int = 0, data_bytes: int = 0
    ) -> None:
        self.index = index  # 0 = primary
        self.cards = cards
        self.offset = offset  # byte offset of the header in the (uncompressed) stream
        self.data_bytes = data_bytes  # size of the data unit, without padding
        self.data_offset = offset  # byte offset of the data unit (set by the reader)
        index_map: dict[str, Value] = {}
        for card in cards:
            keyword = card.keyword
            if keyword not in index_map and keyword not in COMMENTARY:
                index_map[keyword] = card.value
        keys = "".join(index_map)
        self._folded = keys.upper() != keys
        if self._folded:  # HIERARCH keywords keep their case; lookups ignore it
            index_map = {}
            for card in cards:
                keyword = card.keyword.upper()
                if keyword not in index_map and keyword not in COMMENTARY:
                    index_map[keyword] = card.value
        self._index = index_map

    def __reduce__(self) -> tuple[Callable[..., Header], tuple[object, ...]]:
        fields = (self.index, self.cards, self.offset, self.data_bytes, self.data_offset)
        return _rebuilt_header, fields  # see native.py

    def get(self, keyword: str, default: Value = None) -> Value:
        value = self._index.get(keyword, _MISSING)  # fast path: a canonical keyword
        if value is _MISSING:
            key = _lookup_key(keyword)
            return default if key == keyword else self._index.get(key, default)
        return value  # type: ignore[return-value]

    def __getitem__(self, keyword: str) -> Value:
        return self._index[_lookup_key(keyword)]

    def __contains__(self, keyword: object) -> bool:
        return isinstance(keyword, str) and _lookup_key(keyword) in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def keys(self) -> list[str]:
        return list(self._index)

    def items(self) -> ItemsView[str, Value]:
        """(keyword, value of its first card) pairs, commentary keywords excluded."""
        return self._index.items()

    def first_values(self) -> dict[str, Value]:
        """A new dict: each keyword as written (commentary excluded) -> its first card's value."""
        if not self._folded:
            return dict(self._index)
        values: dict[str, Value] = {}
        for card in self.cards:
            if card.keyword not in values and card.keyword not in COMMENTARY:
                values[card.keyword] = card.value
        return values

    def commentary(self, keyword: str = "COMMENT") -> list[str]:
        return [str(c.value) for c in self.cards if c.keyword == keyword and c.value is not None]

    def comment(self, keyword: str) -> str:
        keyword = _lookup_key(keyword)
        return next((c.comment for c in self.cards if c.keyword.upper() == keyword), "")

    @property
    def kind(self) -> str:
        """PRIMARY, IMAGE, BINTABLE, TABLE, or the XTENSION value of another extension."""
        if self.index == 0:
            return "PRIMARY"
        return str(self.get("XTENSION", "")).strip().upper() or "UNKNOWN"

    @property
    def extname(self) -> str | None:
        name = self.get("EXTNAME")
        return str(name).strip() if name is not None else None

    def __repr__(self) -> str:
        return f"<Header {self.index} {self.kind} {self.extname or ''} {len(self.cards)} cards>"


def _rebuilt_header(
    index: int, cards: list[Card], offset: int, data_bytes: int, data_offset: int
) -> Header:
    header = Header(index, cards, offset=offset, data_bytes=data_bytes)
    header.data_offset = data_offset
    return header


class FitsReadError(Exception):
    """A file that cannot be read as FITS. ``code`` is a stable HLSP-Rnnn code."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason

    def __reduce__(self) -> tuple[type[FitsReadError], tuple[str, str]]:
        return (FitsReadError, (self.code, self.reason))


_LOOKUP_KEYS: dict[str, str] = {}
_MISSING = object()


def _lookup_key(keyword: str) -> str:
    """A keyword as the header index holds it: upper case, without a 'HIERARCH ' prefix."""
    key = _LOOKUP_KEYS.get(keyword)
    if key is None:
        key = keyword.strip().upper()
        key = key[9:].strip() if key.startswith("HIERARCH ") else key
        if len(_LOOKUP_KEYS) < 65536:  # lookups use a small, fixed set of keywords
            _LOOKUP_KEYS[keyword] = key
    return key


def _rule(code: str, title: str, fix: str) -> Rule:
    return rule(code, Severity.ERROR, title, fix)


UNREADABLE = _rule(
    "HLSP-R001",
    "File cannot be read",
    "Check that the path is a regular file that the harvester may read.",
)
EMPTY = _rule("HLSP-R002", "Empty file", "Re-deliver the file; it contains no bytes.")
NOT_FITS = _rule(
    "HLSP-R003",
    "Not a FITS file",
    "Deliver FITS files only: a FITS file starts with the card SIMPLE = T.",
)
TRUNCATED_HEADER = _rule(
    "HLSP-R004",
    "Header truncated",
    "Re-deliver the complete file; it ends inside a header (interrupted copy?).",
)
MISSING_END = _rule(
    "HLSP-R005",
    "Header without END card",
    "Re-export the file; every header ends with an END card, padded to 2880 bytes.",
)
BAD_CHARACTERS = _rule(
    "HLSP-R006",
    "Illegal characters in a header",
    "Rewrite the card in printable ASCII (bytes 0x20-0x7E; no tabs, NULs or UTF-8).",
)
UNPARSABLE_CARD = _rule(
    "HLSP-R007",
    "Card value cannot be parsed",
    "Write the value in FITS syntax: a quoted string, T or F, an integer, a real number or "
    "(real, imaginary).",
)
BAD_STRUCTURE = _rule(
    "HLSP-R008",
    "Invalid structural keywords",
    "Re-export the file; BITPIX, NAXIS, NAXISn, PCOUNT and GCOUNT must be valid integers and "
    "every extension must start with XTENSION.",
)
TRUNCATED_DATA = _rule(
    "HLSP-R009",
    "Data unit truncated",
    "Re-deliver the complete file; it is shorter than its headers announce.",
)
BAD_GZIP = _rule(
    "HLSP-R010",
    "Corrupt gzip stream",
    "Re-compress the file with gzip; the compressed stream is damaged or cut short.",
)
TRAILING_BYTES = _rule(
    "HLSP-R011",
    "Bytes after the last HDU",
    "Remove the extra bytes; a FITS file ends with the padded data of its last HDU.",
)


def _error(kind: Rule, detail: str) -> FitsReadError:
    return FitsReadError(kind.code, kind(detail).message)


EXCERPT = 24
"""Characters of a file's bytes or values a reason quotes (a file that is not FITS, or a
damaged one, is not copied into the catalog's audit: a short excerpt says what it is)."""


def _excerpt(value: object, limit: int = EXCERPT) -> str:
    """A value or some bytes of the file, quoted short: their repr (printable ASCII, escapes
    for anything else), cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


GZIP_MAGIC = b"\x1f\x8b"
_READ = 8 * BLOCK  # plain files: one read holds a typical small file or header
_GZIP_IN = 64 * 1024  # compressed bytes read at a time
_GZIP_OUT = 256 * 1024  # most decompressed bytes produced at a time
_MAX_HEADER = 10_000 * BLOCK  # 360,000 cards: beyond this the END card is taken as missing
_OPEN_FLAGS = getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)  # a FIFO must not block
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_PRINTABLE = bytes(range(0x20, 0x7F))
_OTHER_FORMATS = {
    b"\x89HDF": "an HDF5 file",
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a zip archive",
    b"BZh": "bzip2-compressed (only gzip compression is read)",
    b"\xfd7zXZ": "xz-compressed (only gzip compression is read)",
    b"#ASDF": "an ASDF file",
    b"<!DOCTYP": "an HTML page (a failed download?)",
    b"<html": "an HTML page (a failed download?)",
    b"<?xml": "an XML document",
}
_BITPIX = frozenset({8, 16, 32, 64, -32, -64})


class _Stream:
    """The (decompressed) bytes of a file, read forward through a bounded buffer."""

    def __init__(self, fd: int, first: bytes) -> None:
        self.fd = fd
        self.buf = first
        self.pos = 0  # current position in buf
        self.base = 0  # stream offset of buf[0]

    @property
    def offset(self) -> int:
        return self.base + self.pos

    def ensure(self, size: int) -> int:
        """Make ``size`` bytes from the current position available in ``buf[pos:]``.

        Returns how many are (fewer only at the end of the stream).
        """
        have = len(self.buf) - self.pos
        if have >= size:
            return size
        parts = [self.buf[self.pos :]]
        goal = max(size, have + max(have, _READ))  # ahead geometrically: big headers stay linear
        while have < goal:
            more = self._produce(goal - have)
            if not more:
                break
            parts.append(more)
            have += len(more)
        self.base += self.pos
        self.pos = 0
        self.buf = b"".join(parts)
        return min(have, size)

    def skip(self, size: int) -> int:
        """Move forward ``size`` bytes; returns how many there were (fewer at the end)."""
        have = len(self.buf) - self.pos
        if size <= have:
            self.pos += size
            return size
        skipped = have + self._discard(size - have)
        self.base += self.pos + skipped
        self.buf = b""
        self.pos = 0
        return skipped

    def _produce(self, size: int) -> bytes:
        """About ``size`` more bytes of the stream; b"" at its end."""
        raise NotImplementedError

    def _discard(self, size: int) -> int:
        """Skip ``size`` bytes past the buffer; returns how many there were."""
        raise NotImplementedError


class _PlainStream(_Stream):
    def __init__(self, fd: int, first: bytes, file_size: int) -> None:
        super().__init__(fd, first)
        self.file_size = file_size
        self.file_pos = len(first)  # where the next read starts

    def _produce(self, size: int) -> bytes:
        data = os.read(self.fd, size)
        self.file_pos += len(data)
        return data

    def _discard(self, size: int) -> int:
        size = max(0, min(size, self.file_size - self.file_pos))
        self.file_pos = os.lseek(self.fd, self.file_pos + size, os.SEEK_SET)
        return size


class _GzipStream(_Stream):
    """gzip members one after the other (zero padding between or after them is ignored)."""

    def __init__(self, fd: int, first: bytes) -> None:
        super().__init__(fd, b"")
        self.raw = first  # compressed bytes not yet given to the decompressor
        self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _produce(self, size: int) -> bytes:
        size = min(max(size, 1), _GZIP_OUT)  # max_length 0 would mean unlimited
        try:
            while True:
                inflate = self.inflate
                if inflate.unconsumed_tail:
                    data = inflate.decompress(inflate.unconsumed_tail, size)
                elif inflate.eof:
                    if not self._next_member():
                        return b""
                    continue
                else:
                    raw, self.raw = self.raw or os.read(self.fd, _GZIP_IN), b""
                    if not raw:
                        raise _error(BAD_GZIP, "The gzip stream ends before its end marker")
                    data = inflate.decompress(raw, size)
                if data:
                    return data
        except zlib.error as error:
            raise _error(BAD_GZIP, f"The gzip stream is corrupt ({error})") from None

    def _next_member(self) -> bool:
        """Start the next gzip member; False at the end of the file."""
        rest = (self.inflate.unused_data + self.raw).lstrip(b"\0")
        self.raw = b""
        while len(rest) < 2:
            raw = os.read(self.fd, _GZIP_IN)
            if not raw:
                if rest:
                    break
                return False
            rest = (rest + raw).lstrip(b"\0")
        if rest[:2] != GZIP_MAGIC:
            raise _error(BAD_GZIP, "Bytes after the end of the gzip stream are not gzip data")
        self.raw = rest
        self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return True

    def _discard(self, size: int) -> int:
        done = 0
        while done < size:
            data = self._produce(size - done)
            if not data:
                break
            done += len(data)
        return done


def read_headers(path: str | os.PathLike[str], *, follow_links: bool = True) -> list[Header]:
    """Every HDU header of the file at ``path`` (gzip detected by its magic bytes).

    ``follow_links=False``: a symbolic link at ``path`` is not opened (the harvest decides
    which links to follow when it walks; what it then names must not have become one).
    Raises :class:`FitsReadError` (codes HLSP-R001 to HLSP-R011) and nothing else.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _OPEN_FLAGS | (0 if follow_links else _NOFOLLOW))
    except (OSError, ValueError) as error:  # ValueError: NUL in the path
        if not follow_links and getattr(error, "errno", None) == errno.ELOOP:
            raise _error(
                UNREADABLE,
                "The path has become a symbolic link since the walk found it: not followed",
            ) from None
        reason = getattr(error, "strerror", None) or error
        raise _error(UNREADABLE, f"Cannot open the file: {reason}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _error(UNREADABLE, "The path is not a regular file")
        if info.st_size == 0:
            raise _error(EMPTY, "The file is empty (0 bytes)")
        first = os.read(fd, _READ)
        if first[:2] == GZIP_MAGIC:
            return _read_hdus(_GzipStream(fd, first))
        return _read_hdus(_PlainStream(fd, first, info.st_size))
    except OSError as error:
        raise _error(UNREADABLE, f"Reading failed: {error.strerror or error}") from None
    finally:
        os.close(fd)


def _read_hdus(stream: _Stream) -> list[Header]:
    headers: list[Header] = []
    while True:
        index = len(headers)
        offset = stream.offset
        if not stream.ensure(BLOCK):
            if index == 0:
                raise _error(EMPTY, "The file is empty once decompressed")
            return headers
        start = stream.buf[stream.pos : stream.pos + 8]
        if index == 0 and start[:6] != b"SIMPLE":
            raise _error(NOT_FITS, _not_fits(start))
        if index > 0 and start != b"XTENSION":
            if len(start) < 8 and b"XTENSION".startswith(start):  # cut inside the keyword
                raise _error(TRUNCATED_HEADER, f"The file ends inside the header of HDU {index}")
            _check_tail(stream, index)
            return headers
        header = Header(index, _cards(_header_text(stream, index), index), offset=offset)
        size = header.data_bytes = _data_size(header)
        header.data_offset = stream.offset
        if size:
            data_start = stream.offset
            present = stream.skip(size)
            if present < size:
                raise _error(
                    TRUNCATED_DATA,
                    f"HDU {index} announces {size:,} bytes of data from byte {data_start:,}; "
                    f"the file holds only {present:,} of them",
                )
            stream.skip(-size % BLOCK)
        headers.append(header)


def _not_fits(start: bytes) -> str:
    for magic, kind in _OTHER_FORMATS.items():
        if start.startswith(magic):
            return f"The file is {kind}, not FITS"
    return f"The file starts with {_excerpt(start)}, not with the card SIMPLE = T"


def _header_text(stream: _Stream, index: int) -> str:
    """The cards before END of the header at the stream position; consumes its blocks."""
    texts: list[str] = []
    blocks = 0
    while True:
        need = (blocks + 1) * BLOCK
        have = stream.ensure(need)
        start = stream.pos + blocks * BLOCK
        if have < need:
            where = _where(stream, index, blocks)
            if have == need - BLOCK:
                raise _error(MISSING_END, f"The {where} has no END card before the end of file")
            raise _error(TRUNCATED_HEADER, f"The file ends inside the {where}")
        buf = stream.buf
        end = find_end(buf, start)
        chunk = buf[start : start + BLOCK if end < 0 else end]
        if chunk.translate(None, _PRINTABLE):
            text = chunk.decode("latin-1")
            bad = next(i for i, c in enumerate(text) if not " " <= c <= "~")
            card, column = divmod(blocks * BLOCK + bad, CARD)
            detail = f"byte {chunk[bad]:#04x} in card {card + 1}, column {column + 1}"
            if end < 0 and blocks > 0:
                where = _where(stream, index, blocks)
                raise _error(MISSING_END, f"The {where} runs into non-text bytes ({detail})")
            raise _error(BAD_CHARACTERS, f"The HDU {index} header has a {detail}")
        text = chunk.decode("ascii")
        texts.append(text)
        blocks += 1
        if end >= 0:
            stream.pos += blocks * BLOCK
            return texts[0] if blocks == 1 else "".join(texts)
        if blocks * BLOCK >= _MAX_HEADER:
            where = _where(stream, index, 0)
            raise _error(MISSING_END, f"The {where} has no END card in {_MAX_HEADER:,} bytes")


def _where(stream: _Stream, index: int, blocks: int) -> str:
    return f"HDU {index} header block at byte {stream.offset + blocks * BLOCK:,}"


_CACHE: dict[str, Card] = {}
_CACHE_SIZE = 8192  # distinct card images kept: cards repeated across files are parsed once


def _cards(text: str, index: int) -> list[Card]:
    images = [text[i : i + CARD] for i in range(0, len(text), CARD)]
    numbers = None
    try:
        if "CONTINUE" in text:  # cards may be joined: no cache
            return parse_cards(images, Card)
        cache = _CACHE
        found = list(map(cache.get, images))
        numbers = [i for i, card in enumerate(found) if card is None]
        if not numbers:
            return cast("list[Card]", found)
        if len(numbers) == len(images):
            missing, cards = images, parse_cards(images, Card)
            parsed = cards
        else:
            missing = [images[i] for i in numbers]
            parsed = parse_cards(missing, Card)
            for i, card in zip(numbers, parsed, strict=True):
                found[i] = card
            cards = cast("list[Card]", found)
        if len(parsed) <= _CACHE_SIZE:
            if len(cache) + len(parsed) > _CACHE_SIZE:
                cache.clear()
            cache.update(zip(missing, parsed, strict=True))
        return cards
    except CardError as error:
        bad = error.card or 1
        number = bad if numbers is None else numbers[bad - 1] + 1
        raise _error(
            UNPARSABLE_CARD,
            f"HDU {index} card {number} {_excerpt(images[number - 1].rstrip(), 40)}: {error}",
        ) from None


def _data_size(header: Header) -> int:
    """Bytes of the data unit (without padding) from the structural keywords."""
    index = header.index
    first = header.cards[0] if header.cards else Card("", None)
    if index == 0:
        if first.keyword != "SIMPLE" or first.value is not True:
            shown = _excerpt(first.value)
            raise _error(NOT_FITS, f"The first card is {first.keyword} = {shown}")
    elif first.keyword != "XTENSION" or not isinstance(first.value, str):
        shown = _excerpt(first.value)
        raise _error(BAD_STRUCTURE, f"HDU {index} starts with {first.keyword} = {shown}")
    bitpix = _integer(header, "BITPIX")
    if bitpix not in _BITPIX:
        raise _error(BAD_STRUCTURE, f"HDU {index} has BITPIX = {bitpix}")
    naxis = _integer(header, "NAXIS")
    if naxis > 999:
        raise _error(BAD_STRUCTURE, f"HDU {index} has NAXIS = {naxis} (at most 999)")
    axes = [_integer(header, f"NAXIS{n}") for n in range(1, naxis + 1)]
    pcount = _integer(header, "PCOUNT", 0)
    gcount = _integer(header, "GCOUNT", 1)
    if index == 0 and header.get("GROUPS") is True:
        axes = axes[1:]  # random groups: NAXIS1 = 0 is not a dimension
    if not axes:
        return 0
    return abs(bitpix) * gcount * (pcount + math.prod(axes)) // 8


def _integer(header: Header, keyword: str, default: int | None = None) -> int:
    """A structural keyword's value: an integer, not negative except BITPIX."""
    value = header._index.get(keyword, _MISSING)
    if value is _MISSING:
        if default is None:
            raise _error(BAD_STRUCTURE, f"HDU {header.index} has no {keyword} keyword")
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        shown = _excerpt(value)
        raise _error(BAD_STRUCTURE, f"HDU {header.index} has {keyword} = {shown}, not an integer")
    if value < 0 and keyword != "BITPIX":
        raise _error(BAD_STRUCTURE, f"HDU {header.index} has a negative {keyword} = {value}")
    return value


_MISSING = object()


def _check_tail(stream: _Stream, index: int) -> None:
    """After the last HDU: zeros are tolerated (as astropy does), anything else is not."""
    offset = stream.offset
    while have := stream.ensure(_READ):
        chunk = stream.buf[stream.pos : stream.pos + have]
        if chunk.strip(b"\0"):
            raise _error(
                TRAILING_BYTES,
                f"Bytes {_excerpt(chunk[:16])} follow HDU {index - 1} at byte {offset:,} "
                "and do not start an XTENSION header",
            )
        stream.skip(have)
