"""XML text for VOTable documents: escaping, illegal characters, element IDs.

XML 1.0 cannot carry most C0 control characters, lone surrogates or U+FFFE/U+FFFF even
as character references; they are replaced by U+FFFD so that a value from the database
never makes the document unreadable. Carriage returns and tabs are kept as character
references (a parser would otherwise normalise them away).
"""

from __future__ import annotations

import re

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NEEDS_TEXT_ESCAPE = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NEEDS_ATTR_ESCAPE = re.compile('[&<>"\t\n\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')

_TEXT = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
_ATTR = {**_TEXT, '"': "&quot;", "\t": "&#9;", "\n": "&#10;"}


def _replace(table: dict[str, str]) -> re.Pattern[str]:
    return re.compile("[" + re.escape("".join(table)) + "]")


_TEXT_CHARS = _replace(_TEXT)
_ATTR_CHARS = _replace(_ATTR)


def clean(value: str) -> str:
    """``value`` with characters XML 1.0 cannot carry replaced by U+FFFD."""
    return _ILLEGAL.sub("\ufffd", value)


def text(value: str) -> str:
    """Escape element content."""
    if _NEEDS_TEXT_ESCAPE.search(value) is None:
        return value
    return _TEXT_CHARS.sub(lambda m: _TEXT[m.group()], clean(value))


def attr(value: str) -> str:
    """Escape an attribute value (for use between double quotes)."""
    if _NEEDS_ATTR_ESCAPE.search(value) is None:
        return value
    return _ATTR_CHARS.sub(lambda m: _ATTR[m.group()], clean(value))


_NOT_NAME_CHAR = re.compile(r"[^A-Za-z0-9_.-]")


def unquote(name: str) -> str:
    """A delimited ADQL identifier (``"size"``) without its quotes; others unchanged."""
    if len(name) >= 2 and name.startswith('"') and name.endswith('"'):
        return name[1:-1].replace('""', '"')
    return name


def xml_ids(names: list[str]) -> list[str]:
    """One valid, unique XML ID (NCName) per column name, derived from it."""
    seen: set[str] = set()
    ids = []
    for name in names:
        base = _NOT_NAME_CHAR.sub("_", unquote(name)) or "col"
        if not (base[0].isalpha() or base[0] == "_"):
            base = "_" + base
        candidate, n = base, 1
        while candidate.lower() in seen:
            n += 1
            candidate = f"{base}_{n}"
        seen.add(candidate.lower())
        ids.append(candidate)
    return ids
