"""Read the header of every HDU of a FITS file, plain or gzip, without reading data.

INTERFACE (shared by the whole harvest package; the reader itself is being written):

    read_headers(path) -> list[Header]     raises FitsReadError

Headers are parsed to Python values exactly as astropy.io.fits reads the same cards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

Value = str | bool | int | float | complex | None
"""A card value: str, bool (logical), int, float, complex, or None (undefined/commentary)."""

COMMENTARY = frozenset({"COMMENT", "HISTORY", ""})


@dataclass(frozen=True, slots=True)
class Card:
    keyword: str  # upper case; HIERARCH cards keep their words as astropy does: 'ESO DET ID'
    value: Value  # commentary cards: the text; undefined value: None
    comment: str = ""


class Header:
    """The cards of one HDU, with dictionary-style lookup of keyword values.

    ``get``/``[]``/``in`` follow astropy: the value of the first card with that keyword;
    commentary keywords (COMMENT, HISTORY, blank) are reached through :meth:`commentary`.
    """

    __slots__ = ("_index", "cards", "data_bytes", "index", "offset")

    def __init__(
        self, index: int, cards: list[Card], *, offset: int = 0, data_bytes: int = 0
    ) -> None:
        self.index = index  # 0 = primary
        self.cards = cards
        self.offset = offset  # byte offset of the header in the (uncompressed) stream
        self.data_bytes = data_bytes  # size of the data unit, without padding
        index_map: dict[str, Value] = {}
        for card in cards:
            if card.keyword not in COMMENTARY and card.keyword not in index_map:
                index_map[card.keyword] = card.value
        self._index = index_map

    def get(self, keyword: str, default: Value = None) -> Value:
        return self._index.get(keyword.upper(), default)

    def __getitem__(self, keyword: str) -> Value:
        return self._index[keyword.upper()]

    def __contains__(self, keyword: object) -> bool:
        return isinstance(keyword, str) and keyword.upper() in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def keys(self) -> list[str]:
        return list(self._index)

    def commentary(self, keyword: str = "COMMENT") -> list[str]:
        return [str(c.value) for c in self.cards if c.keyword == keyword and c.value is not None]

    def comment(self, keyword: str) -> str:
        keyword = keyword.upper()
        return next((c.comment for c in self.cards if c.keyword == keyword), "")

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


class FitsReadError(Exception):
    """A file that cannot be read as FITS. ``code`` is a stable HLSP-Rnnn code."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason

    def __reduce__(self) -> tuple[type[FitsReadError], tuple[str, str]]:
        return (FitsReadError, (self.code, self.reason))


def read_headers(path: str | os.PathLike[str]) -> list[Header]:
    """Every HDU header of the file at ``path`` (gzip detected by its magic bytes)."""
    raise NotImplementedError
