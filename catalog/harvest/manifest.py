"""The optional collection manifest, ``hlsp-collection.toml``, and DOI clean-up.

A manifest in a collection directory states what the headers often do not (title, lead,
DOI, description, release date, reference, landing page, licence); its values override
what the headers say about the collection.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

MANIFEST_NAME = "hlsp-collection.toml"


_DOI = re.compile(r"^10\.[0-9]{4,9}/\S+$")
_DOI_PREFIX = re.compile(r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/)", re.IGNORECASE)


def clean_doi(value: str | None) -> str | None:
    """A bare DOI (10.x/y) from 'doi:…' or 'https://doi.org/…' forms; None if not a DOI."""
    if not value:
        return None
    bare = _DOI_PREFIX.sub("", value.strip())
    return bare if _DOI.match(bare) else None


@dataclass(frozen=True)
class Manifest:
    """Collection metadata from an optional ``hlsp-collection.toml`` (overrides headers)."""

    hlsp_id: str | None = None
    title: str | None = None
    lead: str | None = None
    doi: str | None = None
    description: str | None = None
    release_date: date | None = None
    reference: str | None = None
    landing_url: str | None = None
    license: str | None = None

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Parse a manifest; ValueError says what is wrong with it."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ValueError(f"cannot read {path.name}: {error}") from error
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path.name}: unknown keys {unknown}; allowed: {sorted(known)}")
        values: dict[str, Any] = {}
        for key, raw in data.items():
            values[key] = _release_date(path, raw) if key == "release_date" else raw
            if key != "release_date" and not isinstance(raw, str):
                raise ValueError(f"{path.name}: {key} must be a string")
        if "doi" in values:
            values["doi"] = clean_doi(values["doi"])
            if values["doi"] is None:
                raise ValueError(f"{path.name}: doi {data['doi']!r} is not a DOI (10.xxxx/...)")
        return cls(**values)


def _release_date(path: Path, value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{path.name}: release_date {value!r} is not a date (YYYY-MM-DD)")
