"""The names the model keys on, as plain functions: no database library is imported here.

    hlsp_id(value) -> str | None    a collection id in its canonical form (``collection.hlsp_id``)
    target_key(name) -> str         a target name's key for matching (``target_alias.name_key``)

The harvester, the checker and the command line normalise collection ids with
:func:`hlsp_id`; the harvester and the GraphQL API match target names with
:func:`target_key`. ``import catalog.model.names`` loads neither SQLAlchemy nor psycopg
(the package's tables load on first use, see :mod:`catalog.model`).
"""

from __future__ import annotations

import functools
import re

# -- collections -----------------------------------------------------------------------------

HLSP_ID_PATTERN = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]")
"""The proj-id field of an HLSP file name (MAST's checker; ``rules.nomenclature``)."""
HLSP_ID_MAX_LENGTH = 40


@functools.lru_cache(maxsize=4096)
def hlsp_id(value: str | None) -> str | None:
    """A collection id in its canonical lower-case form, or None when it cannot be one."""
    if not value:
        return None
    candidate = value.strip().lower()
    return (
        candidate
        if HLSP_ID_PATTERN.fullmatch(candidate) and len(candidate) <= HLSP_ID_MAX_LENGTH
        else None
    )


# -- targets ---------------------------------------------------------------------------------

_PREFIXED_NUMBER = re.compile(r"^([a-z]+)0*(\d+)$")
_SPACES = re.compile(r"[\s_]+")
_LETTER_DASH_DIGIT = re.compile(r"(?<=[a-z])-(?=\d)")


def target_key(name: str) -> str:
    """Normalised name for matching: 'TIC 123', 'TIC123', 'tic 0123' -> 'tic123'; 'WASP-18'
    = 'WASP 18'; a sign after a digit stays ('J1524-0419' and 'J1524+0419' differ)."""
    key = _SPACES.sub("", name.lower())
    key = _LETTER_DASH_DIGIT.sub("", key)  # 'TOI-700' = 'TOI 700'; 'J1524-0419' keeps

    match = _PREFIXED_NUMBER.match(key)
    return f"{match.group(1)}{match.group(2)}" if match else key
