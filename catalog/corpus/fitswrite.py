"""Write FITS files from cards: header formatting, image and binary-table HDUs (stdlib only).

Cards follow the FITS 4.0 standard: fixed-format values (logical, integer and real values
right-justified to column 30, strings starting in column 11 with at least 8 characters
between the quotes), the CONTINUE long-string convention, HIERARCH for keywords longer than
8 characters or with spaces, comments after `` / ``. Headers end with END and are padded
with spaces to 2880 bytes; data units are big-endian and padded with zeros.
"""

from __future__ import annotations

import gzip as gzip_module
import math
import os
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from catalog.harvest.fits.reader import Value

BLOCK = 2880
CARD = 80
_VALUE_WIDTH = 20  # fixed-format values end in column 30
_STRING_CHUNK = 67  # characters of an escaped long string per CONTINUE card ("'" ... "&'")
_COMMENT_CHUNK = 64  # characters of a long comment per CONTINUE card ("CONTINUE  '&' / ")
_COMMENTARY_CHUNK = 72
_KEYWORD = re.compile(r"[A-Z0-9_-]{1,8}")
_TEXT = re.compile(r"[\x20-\x7e]*")
_HIERARCH_WORDS = re.compile(r"[\x21-\x3c\x3e-\x7e]+( [\x21-\x3c\x3e-\x7e]+)*")  # no '='
_COMMENTARY = frozenset({"COMMENT", "HISTORY", ""})
_RESERVED = frozenset({"END", "CONTINUE"})

CardSpec = tuple[str, Value, str] | tuple[str, Value]
"""A card to format: (keyword, value) or (keyword, value, comment)."""


@dataclass(frozen=True, slots=True)
class CardBlock:
    """Card images formatted once and reused verbatim (a multiple of 80 characters)."""

    text: str

    def __len__(self) -> int:
        return len(self.text) // CARD


HeaderItem = CardSpec | CardBlock


def card_block(cards: Iterable[CardSpec]) -> CardBlock:
    """Format ``cards`` once, for headers that repeat the same cards in many files."""
    return CardBlock("".join(_images(card) for card in cards))


def card_images(keyword: str, value: Value, comment: str = "") -> list[str]:
    """The 80-character card images of one keyword (several for CONTINUE or long commentary).

    Raises ValueError for an invalid keyword, a non-ASCII text, a non-finite real, or a
    HIERARCH card that cannot fit.
    """
    text = _format_card(keyword, value, comment)
    return [text[i : i + CARD] for i in range(0, len(text), CARD)]


def header_bytes(cards: Iterable[HeaderItem]) -> bytes:
    """A complete header: the cards, END, and space padding to a multiple of 2880 bytes."""
    body = "".join(c.text if isinstance(c, CardBlock) else _images(c) for c in cards)
    body += f"{'END':{CARD}}"
    return (body + " " * (-len(body) % BLOCK)).encode("ascii")


def _images(card: CardSpec) -> str:
    if len(card) == 2:
        return _format_card(card[0], card[1], "")
    return _format_card(card[0], card[1], card[2])


def _format_card(keyword: str, value: Value, comment: str) -> str:
    key = keyword.upper().strip()
    if key in _COMMENTARY:
        return _commentary(key, value, comment)
    if key.startswith("HIERARCH "):
        key = key[9:].strip()
        hierarch = True
    else:
        hierarch = len(key) > 8 or not _KEYWORD.fullmatch(key)
    if key in _RESERVED:
        raise ValueError(f"{key} is written by the writer itself, not as a card")
    if hierarch and not _HIERARCH_WORDS.fullmatch(key):
        raise ValueError(f"invalid keyword {keyword!r}")
    _check_text(comment, keyword)
    head = f"HIERARCH {key} = " if hierarch else f"{key:8}= "
    if isinstance(value, str):
        return _string_card(head, value, comment, hierarch=hierarch)
    text = _value_text(value)
    card = head + (text if hierarch else f"{text:>{_VALUE_WIDTH}}")
    if hierarch and len(card) > CARD:
        card = f"HIERARCH {key}= {text}"
        if len(card) > CARD:
            raise ValueError(f"HIERARCH card {keyword!r} does not fit in 80 characters")
    return _with_comment(card, comment)


def _commentary(key: str, value: Value, comment: str) -> str:
    if comment:
        raise ValueError(f"{key or 'blank'} cards have no comment field")
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key or 'blank'} cards take text, not {type(value).__name__}")
    text = value or ""
    _check_text(text, key)
    chunks = [text[i : i + _COMMENTARY_CHUNK] for i in range(0, len(text), _COMMENTARY_CHUNK)]
    return "".join(f"{key:8}{chunk:{_COMMENTARY_CHUNK}}" for chunk in chunks or [""])


def _value_text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _real(value)
    if isinstance(value, complex):
        return f"({_real(value.real)}, {_real(value.imag)})"
    raise ValueError(f"cannot write a {type(value).__name__} value")


def _real(value: float) -> str:
    """The shortest text that reads back as the same float (free format if > 20 chars)."""
    if not math.isfinite(value):
        raise ValueError(f"FITS cannot represent {value!r}")
    return repr(value).upper()


def _string_card(head: str, value: str, comment: str, *, hierarch: bool) -> str:
    _check_text(value, head)
    escaped = value.replace("'", "''")
    quoted = f"'{escaped}'" if hierarch else f"'{escaped:<8}'"
    if len(head) + len(quoted) <= CARD:
        card = head + (quoted if hierarch else f"{quoted:<{_VALUE_WIDTH}}")
        return _with_comment(card, comment)
    return _long_string(head, value, comment)


def _long_string(head: str, value: str, comment: str) -> str:
    """The CONTINUE convention: the value in '&'-terminated pieces, then the comment."""
    if len(head) > CARD - 4:
        raise ValueError(f"keyword {head.strip()!r} leaves no room for a value")
    chunks = _split_escaped(value, first=CARD - len(head) - 3, rest=_STRING_CHUNK)
    last = f"CONTINUE  '{chunks[-1]}'" if len(chunks) > 1 else f"{head}'{chunks[-1]}'"
    comment_fits = not comment or len(last) + 3 + len(comment) <= CARD
    cards = [f"{head if i == 0 else 'CONTINUE  '}'{chunk}&'" for i, chunk in enumerate(chunks[:-1])]
    if comment_fits:
        cards.append(_with_comment(last, comment))
    else:
        cards.append(last[:-1] + "&'")
        words = _split_words(comment, _COMMENT_CHUNK)
        cards += [f"CONTINUE  '&' / {word}" for word in words[:-1]]
        cards.append(f"CONTINUE  '' / {words[-1]}")
    return "".join(f"{card:{CARD}}" for card in cards)


def _split_escaped(value: str, *, first: int, rest: int) -> list[str]:
    """Escaped pieces of ``value`` of at most first, then rest, chars; '' pairs stay whole."""
    chunks: list[str] = []
    current: list[str] = []
    width, limit = 0, first
    for char in value:
        piece = "''" if char == "'" else char
        if width + len(piece) > limit:
            chunks.append("".join(current))
            current, width, limit = [], 0, rest
        current.append(piece)
        width += len(piece)
    chunks.append("".join(current))
    return chunks


def _split_words(text: str, width: int) -> list[str]:
    """Greedy split at spaces into pieces of at most ``width`` (astropy joins them with ' ')."""
    pieces: list[str] = []
    current = ""
    for whole in text.split(" "):
        word = whole
        while len(word) > width:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:width])
            word = word[width:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current += " " + word
        else:
            pieces.append(current)
            current = word
    pieces.append(current)
    return pieces


def _with_comment(card: str, comment: str) -> str:
    if comment:
        card = f"{card} / {comment}"
    return f"{card[:CARD]:{CARD}}"  # comments that do not fit are truncated


def _check_text(text: str, where: str) -> None:
    if not _TEXT.fullmatch(text):
        raise ValueError(f"{where.strip()!r}: FITS text must be printable ASCII: {text!r}")


# ---------------------------------------------------------------------------- HDUs


@dataclass(frozen=True, slots=True)
class HDU:
    """One header-data unit: every card (structural ones first) and the raw data bytes."""

    cards: tuple[HeaderItem, ...]
    data: bytes = b""

    def to_bytes(self) -> bytes:
        """Header blocks plus the data unit padded with zeros to a multiple of 2880 bytes."""
        return header_bytes(self.cards) + self.data + bytes(-len(self.data) % BLOCK)


_PACK = {8: "B", 16: "h", 32: "i", 64: "q", -32: "f", -64: "d"}


def pack_image(bitpix: int, values: Sequence[float]) -> bytes:
    """Big-endian pixel bytes for ``values`` (flattened, C order) at ``bitpix``."""
    if bitpix not in _PACK:
        raise ValueError(f"invalid BITPIX {bitpix}")
    return struct.pack(f">{len(values)}{_PACK[bitpix]}", *values)


@lru_cache(maxsize=256)
def _image_structure(primary: bool, bitpix: int, shape: tuple[int, ...], extend: bool) -> CardBlock:
    cards: list[CardSpec] = [
        ("SIMPLE", True, "conforms to FITS standard")
        if primary
        else ("XTENSION", "IMAGE", "Image extension"),
        ("BITPIX", bitpix, "array data type"),
        ("NAXIS", len(shape), "number of array dimensions"),
    ]
    cards += [(f"NAXIS{i}", n, "") for i, n in enumerate(reversed(shape), start=1)]
    if primary:
        if extend:
            cards.append(("EXTEND", True, ""))
    else:
        cards += [("PCOUNT", 0, "number of parameters"), ("GCOUNT", 1, "number of groups")]
    return card_block(cards)


def image_hdu(
    cards: Sequence[HeaderItem] = (),
    *,
    shape: tuple[int, ...] = (),
    bitpix: int = -32,
    data: bytes | Sequence[float] = b"",
    primary: bool = False,
    extend: bool = True,
) -> HDU:
    """A primary HDU or IMAGE extension; ``shape`` in C order (slowest axis first).

    ``data`` is either raw big-endian bytes or the pixel values, flattened in C order.
    ``extend`` (primary only) writes EXTEND = T. An empty shape gives a header-only HDU.
    """
    if bitpix not in _PACK:
        raise ValueError(f"invalid BITPIX {bitpix}")
    raw = data if isinstance(data, bytes) else pack_image(bitpix, data)
    expected = math.prod(shape) * abs(bitpix) // 8 if shape else 0
    if len(raw) != expected:
        raise ValueError(f"data has {len(raw)} bytes, shape {shape} needs {expected}")
    structure = _image_structure(primary, bitpix, tuple(shape), extend)
    return HDU((structure, *cards), raw)


def primary_hdu(cards: Sequence[HeaderItem] = (), *, extend: bool = True) -> HDU:
    """A primary HDU without data (NAXIS = 0, BITPIX = 8)."""
    return image_hdu(cards, bitpix=8, primary=True, extend=extend)


# ---------------------------------------------------------------------------- binary tables

_TFORM = re.compile(r"(\d*)([LBIJKEDA])")
_STRUCT_CODE = {"L": "c", "B": "B", "I": "h", "J": "i", "K": "q", "E": "f", "D": "d", "A": "s"}
_TRUE, _FALSE = b"T", b"F"

CellValue = bool | int | float | str | Sequence[bool] | Sequence[int] | Sequence[float]


@dataclass(frozen=True, slots=True)
class Column:
    """A binary-table column: name, TFORM ('D', 'E', 'J', 'K', 'I', 'B', 'L', '20A',
    '100E', ...), one value per row (a sequence for repeat counts > 1), and a unit."""

    name: str
    format: str
    values: Sequence[CellValue]
    unit: str = ""

    @property
    def repeat(self) -> int:
        return _parse_tform(self.format)[0]

    @property
    def code(self) -> str:
        return _parse_tform(self.format)[1]


@lru_cache(maxsize=256)
def _parse_tform(tform: str) -> tuple[int, str]:
    match = _TFORM.fullmatch(tform.strip().upper())
    if not match:
        raise ValueError(f"unsupported TFORM {tform!r} (use r + one of L B I J K E D A)")
    return int(match.group(1) or 1), match.group(2)


def _column_cells(column: Column) -> list[tuple[object, ...]]:
    """The struct arguments of each row of ``column``, checked against its TFORM."""
    repeat, code = _parse_tform(column.format)
    if code == "A":
        encoded = [str(v).encode("ascii") for v in column.values]
        if any(not isinstance(v, str) for v in column.values):
            raise ValueError(f"column {column.name}: values must be strings")
        if any(len(e) > repeat for e in encoded):
            raise ValueError(f"column {column.name}: a value is longer than {repeat} characters")
        return [(e,) for e in encoded]
    cells: list[tuple[object, ...]] = [
        tuple(v) if isinstance(v, list | tuple) else (v,) for v in column.values
    ]
    if any(len(c) != repeat for c in cells):
        raise ValueError(f"column {column.name}: every row needs {repeat} items (list or tuple)")
    if code == "L":
        return [tuple(_TRUE if item else _FALSE for item in c) for c in cells]
    return cells


def table_bytes(columns: Sequence[Column]) -> tuple[int, int, bytes]:
    """(row width in bytes, number of rows, big-endian row bytes) of ``columns``."""
    rows = len(columns[0].values) if columns else 0
    if any(len(c.values) != rows for c in columns):
        raise ValueError("table columns have different lengths")
    parts = []
    for column in columns:
        repeat, code = _parse_tform(column.format)
        parts.append(f"{repeat}s" if code == "A" else f"{repeat}{_STRUCT_CODE[code]}")
    row = "".join(parts)
    prepared = [_column_cells(c) for c in columns]
    arguments = [cell for cells in zip(*prepared, strict=True) for c in cells for cell in c]
    return struct.calcsize(">" + row), rows, struct.pack(">" + row * rows, *arguments)


def bintable_hdu(
    columns: Sequence[Column], cards: Sequence[HeaderItem] = (), *, extname: str | None = None
) -> HDU:
    """A BINTABLE extension: structural cards, TTYPEn/TFORMn/TUNITn, EXTNAME, then ``cards``."""
    width, rows, data = table_bytes(columns)
    header: list[HeaderItem] = [
        ("XTENSION", "BINTABLE", "binary table extension"),
        ("BITPIX", 8, "array data type"),
        ("NAXIS", 2, "number of array dimensions"),
        ("NAXIS1", width, "length of dimension 1"),
        ("NAXIS2", rows, "length of dimension 2"),
        ("PCOUNT", 0, "number of group parameters"),
        ("GCOUNT", 1, "number of groups"),
        ("TFIELDS", len(columns), "number of table fields"),
    ]
    header.append(_column_block(tuple((c.name, c.format.strip().upper(), c.unit) for c in columns)))
    if extname is not None:
        header.append(("EXTNAME", extname, "name of extension"))
    return HDU((*header, *cards), data)


@lru_cache(maxsize=256)
def _column_block(columns: tuple[tuple[str, str, str], ...]) -> CardBlock:
    cards: list[CardSpec] = []
    for n, (name, tform, unit) in enumerate(columns, start=1):
        cards += [(f"TTYPE{n}", name), (f"TFORM{n}", tform)]
        if unit:
            cards.append((f"TUNIT{n}", unit))
    return card_block(cards)


# ---------------------------------------------------------------------------- files


def fits_bytes(hdus: Iterable[HDU]) -> bytes:
    """The bytes of a FITS file made of ``hdus`` (the first must be a primary HDU)."""
    return b"".join(hdu.to_bytes() for hdu in hdus)


def write_fits(
    path: str | os.PathLike[str], hdus: Iterable[HDU] | bytes, *, gzip: bool = False
) -> Path:
    """Write ``hdus`` (or ready FITS bytes) to ``path`` atomically: a temporary file in the
    same directory, renamed into place. ``gzip`` compresses the stream (mtime 0, so the
    output is reproducible). Returns the path written."""
    target = Path(path)
    data = hdus if isinstance(hdus, bytes) else fits_bytes(hdus)
    if gzip:
        data = gzip_module.compress(data, compresslevel=6, mtime=0)
    write_atomic(target, data)
    return target


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary sibling of ``path`` and rename it into place."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as stream:
            stream.write(data)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
