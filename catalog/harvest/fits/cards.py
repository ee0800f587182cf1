"""Parse FITS card images into (keyword, value, comment) exactly as astropy.io.fits does.

The rules follow astropy's ``Card`` (checked against astropy 8.0) rather than the letter of the FITS
standard, so that a harvested value is the value astropy users see:

* keywords are upper-cased, except HIERARCH keywords (``HIERARCH ESO DET ID = 1`` ->
  ``ESO DET ID``) and cards without a value indicator, which keep their spelling;
* a value indicator ``= `` may sit anywhere in columns 1-9; without one the card is
  treated like commentary (value = columns 9-80, right-stripped);
* strings end at the first quote followed by blanks and then a ``/`` or the end of the card
  (an empty string only when no later quote would do); ``''`` becomes ``'``; trailing
  blanks are stripped, leading blanks kept;
* numbers accept ``D`` exponents and blanks inside (``- 5``, ``1.0 E 3``); without a dot or
  exponent they are ``int`` of any size, otherwise ``float``; ``(re, im)`` is ``complex``;
* record-valued keywords (``DP1 = 'AXIS.1: 2'``) become ``DP1.AXIS.1`` with a float value;
* a card followed by ``CONTINUE`` cards is one long string, joined as astropy joins them.

A card whose value astropy cannot parse (accessing it raises) raises :class:`CardError`.
The caller guarantees that the images contain printable ASCII only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from catalog.harvest.fits.reader import Value

T = TypeVar("T")
BLOCK = 2880
CARD = 80
_KEYWORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_COMMENTARY = frozenset({"", "COMMENT", "HISTORY", "END"})
_SPECIAL_KEYWORDS = _COMMENTARY | {"CONTINUE"}

# How the keyword was recognised (decides the value indicator and the value rules).
_NORMAL, _SPECIAL, _HIERARCH, _INVALID, _RVKC = range(5)

_STRING = r"'(?P<strg>(?:[ -~]+?|''|) *?)'(?=$|/| )"
_NUMBER = r"[+-]? *(?:\.\d+|\d+(?:\.\d*)?) *(?:[deDE] *[+-]? *\d+)?"
_COMMENT = r"(?P<comm_field>(?P<sepr>/ *)(?P<comm>.*))"
_VALUE_RE = re.compile(
    rf" *(?:{_STRING}|(?P<bool>[FT])|(?P<numr>{_NUMBER})|"
    rf"(?P<cplx>\( *(?P<real>{_NUMBER}) *, *(?P<imag>{_NUMBER}) *\)))? *{_COMMENT}?$",
    re.DOTALL,
)
_STRING_COMMENT_RE = re.compile(rf"(?:{_STRING})? *{_COMMENT}?$", re.DOTALL)
_FIELD = r"[A-Za-z_][A-Za-z0-9_]*(?:\.\d+)?"
_RVKC_RE = re.compile(
    rf" *'(?P<field>{_FIELD}(?:\.{_FIELD})*): +"
    r"(?P<val>[+-]?(?:\.\d+|\d+(?:\.\d*)?)(?:[DE][+-]?\d+)?)' *(?:/ *[ -~]*)?$"
)
# One pass over a whole header ("\n" between cards) for the common forms: keyword with the
# value indicator in column 9 and a string without quotes inside, logical, real, integer or
# nothing; or commentary. Groups: keyword, 'string', logical, real, integer, comment,
# commentary keyword, commentary text. Other cards match the last branch (no group).
_ROWS_RE = re.compile(
    r"""^(?:
        (?=[A-Z0-9_\ -]{8}=\ )([A-Z0-9_-]++)\ *+=\ *+
        (?:('[^'\n]*+')|([TF])
          |([+-]?(?:\d++\.\d*+|\.\d++)(?:[EeDd][+-]?\d++)?|[+-]?\d++[EeDd][+-]?\d++)
          |([+-]?\d++))?
        \ *+(?:/\ *+(.*+))?
      |(COMMENT\ |HISTORY\ |\ {8})(.*+)
      |.*+
    )$""",
    re.MULTILINE | re.VERBOSE,
)
_EXPONENT = str.maketrans("dD", "eE", " ")


def find_end(buf: bytes, start: int) -> int:
    """Position of the END card in the 2880-byte block at ``start``, or -1. As astropy: END
    at a card boundary followed by anything but a keyword character (``END`` + blanks)."""
    at = buf.find(b"END", start, start + BLOCK)
    while at >= 0:
        if (at - start) % CARD == 0 and buf[at + 3] not in _KEYWORD_BYTES:
            return at
        at = buf.find(b"END", at + 1, start + BLOCK)
    return -1


class CardError(ValueError):
    """A card whose value cannot be parsed (astropy raises when the value is accessed)."""

    card: int | None = None  # number of the card in its header (from 1), when known


def parse_cards(images: Sequence[str], make: Callable[[str, Value, str], T]) -> list[T]:
    """``make(keyword, value, comment)`` for each card of a header (the images before END),
    a card followed by CONTINUE cards being one card.

    Raises :class:`CardError` with ``card`` set to the number (from 1) of the bad card.
    """
    if not images:
        return []
    joined = "\n".join(images)
    if "\nCONTINUE" in joined:
        return _with_continued(images, make)
    try:
        return _common(images, _ROWS_RE.findall(joined), make)
    except CardError:
        for number, image in enumerate(images, 1):
            try:
                parse_card(image)
            except CardError as error:
                error.card = number
                raise error from None
        raise


def _common(
    images: Sequence[str], rows: list[tuple[str, ...]], make: Callable[[str, Value, str], T]
) -> list[T]:
    cards: list[T] = []
    append = cards.append
    for image, (keyword, string, logical, real, integer, comment, note, text) in zip(
        images, rows, strict=True
    ):
        value: Value
        if keyword and keyword not in _SPECIAL_KEYWORDS:
            if string:
                if ": " in string or (string == "''" and "'" in comment):
                    # may be a record-valued keyword card; '' may extend to a later quote
                    append(make(*parse_card(image)))
                    continue
                value = string[1:-1].rstrip()
            elif real:
                value = float(real.translate(_EXPONENT) if "D" in real or "d" in real else real)
            elif integer:
                value = int(integer)
            elif logical:
                value = logical == "T"
            else:
                value = None
            append(make(keyword, value, comment.rstrip()))
        elif note:
            append(make(note.rstrip(), text.rstrip(), ""))
        else:
            append(make(*parse_card(image)))
    return cards


def _with_continued(images: Sequence[str], make: Callable[[str, Value, str], T]) -> list[T]:
    cards: list[T] = []
    i, count = 0, len(images)
    while i < count:
        j = i + 1
        while j < count and images[j].startswith("CONTINUE"):
            j += 1
        try:
            fields = parse_card(images[i]) if j == i + 1 else parse_continued(images[i:j])
        except CardError as error:
            error.card = i + 1
            raise
        cards.append(make(*fields))
        i = j
    return cards


def parse_card(image: str) -> tuple[str, Value, str]:
    """(keyword, value, comment) of one 80-character card image (the general rules; the
    common forms are parsed faster by :func:`parse_cards`)."""
    keyword, kind, rvkc = _keyword(image)
    value = _value(image, keyword, kind, rvkc)
    comment = _comment(image, keyword, kind)
    if kind == _SPECIAL and keyword == "CONTINUE":  # astropy renames a record-valued one
        record = _continue_record(image)
        if record is not None:
            keyword = record[0]
    return keyword, value, comment


def parse_continued(images: Sequence[str]) -> tuple[str, Value, str]:
    """(keyword, value, comment) of a card followed by its CONTINUE cards."""
    image = "".join(images)
    keyword, kind, rvkc = _keyword(image)
    if keyword in _COMMENTARY or kind == _INVALID:
        return keyword, image[8:].rstrip(), ""
    valuecomment = _join_continued(images)
    return keyword, _value(image, keyword, kind, rvkc, valuecomment), _parse_comment(valuecomment)


def _keyword(image: str) -> tuple[str, int, Value]:
    """The keyword as astropy reports it, how it was recognised, and an RVKC's value."""
    keyword = image[:8].strip()
    upper = keyword.upper()
    if upper in _SPECIAL_KEYWORDS:
        return upper, _SPECIAL, None
    if upper == "HIERARCH" and image[8] == " " and "=" in image:
        return image.split("=", 1)[0][9:].strip(), _HIERARCH, None
    indicator = image.find("= ")
    if 0 <= indicator <= 8:
        keyword, upper = keyword[:indicator], upper[:indicator]
        rvkc = _record_value(keyword, image[indicator + 2 :])
        if rvkc is not None:
            return rvkc[0], _RVKC, rvkc[1]
        return upper, _NORMAL, None
    return keyword, _INVALID, None


def _record_value(keyword: str, rest: str) -> tuple[str, int | float] | None:
    """A record-valued keyword card's (KEYWORD.field, number), or None for other cards."""
    rest = rest.lstrip()
    if not rest or rest[0] != "'" or rest.find(": ") < 2:
        return None
    match = _RVKC_RE.match(rest)
    if match is None:
        return None
    return f"{keyword.upper()}.{match['field']}", _int_or_float(match["val"])


def _int_or_float(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise CardError(f"record-valued keyword value {text!r} is not a number") from None


def _split(image: str, keyword: str, kind: int) -> tuple[str, str]:
    """The card image split at its value indicator: (keyword part, value and comment)."""
    if keyword in _SPECIAL_KEYWORDS:
        parts = image.split(" ", 1)
        if len(parts) < 2:
            raise CardError(f"{keyword} card without a blank after the keyword")
        return parts[0].strip(), parts[1].strip()
    indicator = "=" if kind == _HIERARCH else "= "
    at = image.find(indicator)
    if at < 0 or (at > 10 and image[:9] != "HIERARCH "):
        return image[:8].strip(), image[8:].strip()
    return image[:at].strip(), image[at + len(indicator) :].strip()


def _value(
    image: str, keyword: str, kind: int, rvkc: Value, valuecomment: str | None = None
) -> Value:
    if kind == _RVKC:
        return float(rvkc)  # type: ignore[arg-type]
    if keyword.upper() in _COMMENTARY or kind == _INVALID:
        return image[8:].rstrip()
    if kind == _SPECIAL:  # CONTINUE: astropy checks for a record-valued card once more
        record = _continue_record(image)
        if record is not None:
            return record[1]
    if valuecomment is None:
        valuecomment = _split(image, keyword, kind)[1]
    return _parse_value(valuecomment)


def _continue_record(image: str) -> tuple[str, int | float] | None:
    at = image.find("= ")
    return _record_value(image[:at], image[at + 2 :]) if 0 <= at <= 9 else None


def _comment(image: str, keyword: str, kind: int) -> str:
    if keyword in _COMMENTARY or kind == _INVALID:
        return ""
    return _parse_comment(_split(image, keyword, kind)[1])


def _parse_value(valuecomment: str) -> Value:
    match = _VALUE_RE.match(valuecomment)
    if match is None:
        raise CardError(f"value {valuecomment[:40]!r} is not a FITS string, logical or number")
    if match["bool"] is not None:
        return match["bool"] == "T"
    if match["strg"] is not None:
        return match["strg"].replace("''", "'").rstrip()
    if match["numr"] is not None:
        return _number(match["numr"])
    if match["cplx"] is not None:
        value: int | float | complex = _number(match["real"])
        value += _number(match["imag"]) * 1j
        return value
    return None


def _parse_comment(valuecomment: str) -> str:
    match = _VALUE_RE.match(valuecomment)
    if match is not None:
        return match["comm"].rstrip() if match["comm"] else ""
    if "/" in valuecomment:
        return valuecomment.split("/", 1)[1].strip()
    return ""


def _number(text: str) -> int | float:
    sign = text[0] if text[0] in "+-" else ""
    digits = sign + text[len(sign) :].translate(_EXPONENT)
    try:
        return int(digits)
    except ValueError:
        return float(digits)


def _join_continued(images: Sequence[str]) -> str:
    """The value-and-comment text of a long card, built the way astropy builds it."""
    values: list[str] = []
    comments: list[str] = []
    first: str | None = None
    for image in images:
        keyword, kind, rvkc = _keyword(image)
        if not isinstance(_value(image, keyword, kind, rvkc), str):
            raise CardError("a card continued with CONTINUE must have a string value")
        part_keyword, valuecomment = _split(image, keyword, kind)
        if first is None:
            first = part_keyword
        if first in _COMMENTARY:
            values.append(valuecomment)
            continue
        match = _STRING_COMMENT_RE.match(valuecomment)
        if match is None:
            return valuecomment
        value = (match["strg"] or "").rstrip()
        if value and value[-1] == "&":
            value = value[:-1]
        values.append(value)
        if match["comm"]:
            comments.append(match["comm"].rstrip())
    if first in _COMMENTARY:
        return "".join(values)
    return f"'{''.join(values)}' / {' '.join(comments)}"
