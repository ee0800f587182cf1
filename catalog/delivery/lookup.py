"""Which harvested files a request may have: the one look-up every way out goes through.

A file is named by its catalog key, ``<hlsp_id>/<file name>`` (the tail of its
``obs_publisher_did``, ``ivo://authority/hlsp?<hlsp_id>/<file name>``, and the path of its
URL under ``/files/``). :meth:`Deliverables.find` turns keys into :class:`StoredFile` rows with
the database function ``hlsp.deliverable_files`` — the only way query traffic learns where a
file is (the query login cannot read ``file_path`` otherwise) — so files, DataLink, previews,
cutouts and bulk retrieval all see the same live products and companion files, and an access
rule added there guards every one of them. A key that is not there (never harvested,
withdrawn, malformed) is simply absent from the answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa

log = logging.getLogger(__name__)

HLSP_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")  # hlsp.collection.hlsp_id (its check)

MAX_KEY_CHARS = 1024
MAX_KEYS = 10_000  # one look-up statement; callers ask in batches of at most this many
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class StoredFile:
    """A harvested file the server may deliver: a product, or a companion (README, preview
    graphic, text beside a product)."""

    kind: Literal["product", "companion"]
    hlsp_id: str
    file_name: str
    path: str  # where the harvest found it: server side only, never shown
    size: int
    mtime: datetime
    media_type: str
    obs_id: str  # a companion's name without extensions
    product_id: int | None = None
    collection_id: int | None = None
    checksum: str | None = None
    dataproduct_type: str | None = None
    product_type: str | None = None
    role: str | None = None  # companions: readme, graphic, auxiliary

    @property
    def key(self) -> str:
        return f"{self.hlsp_id}/{self.file_name}"


def parse_key(value: str) -> str | None:
    """``hlsp_id/file_name`` from a key, a publisher DID (``ivo://…?hlsp_id/file_name``) or
    an access URL path; None when it cannot name a file (so the caller answers "not found"
    or "malformed" without asking the database)."""
    if not value or len(value) > MAX_KEY_CHARS or _CONTROL.search(value):
        return None
    if value.startswith("ivo://"):
        _, sep, value = value.partition("?")
        if not sep:
            return None
    hlsp, sep, name = value.partition("/")
    if not sep or not HLSP_ID.fullmatch(hlsp) or not name:
        return None
    if "/" in name or name.startswith(".") or _CONTROL.search(name):
        return None
    return f"{hlsp}/{name}"


def key_from_path(hlsp_id: str, name: str) -> str | None:
    """The key of a ``/files/<hlsp_id>/<name>`` request. The server has percent-decoded the
    path once, as the URL was encoded once: it is not decoded again (``%252e`` stays
    ``%2e``, never ``.``), and a decoded ``/`` never reaches here (no route matches it)."""
    return parse_key(f"{hlsp_id}/{name}")


GRAPHIC_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")


def graphic_names(obs_id: str) -> list[str]:
    """Names of the graphics a collection may ship as a product's preview, best first: MAST
    asks for one graphic per science product, named as the product (``<obs_id>.png``) or
    with the product type ``preview`` (``..._v1_drz.fits`` -> ``..._v1_preview.png``)."""
    stems = [obs_id]
    head, sep, _ = obs_id.rpartition("_")
    if sep:
        stems.append(f"{head}_preview")
    return [f"{stem}{suffix}" for stem in stems for suffix in GRAPHIC_SUFFIXES]


def graphic_keys(file: StoredFile) -> list[str]:
    """The catalog keys of :func:`graphic_names` for a product."""
    return [f"{file.hlsp_id}/{name}" for name in graphic_names(file.obs_id)]


_COLUMNS = (
    "file_key, kind, product_id, collection_id, hlsp_id, file_name, obs_id, file_path, "
    "file_bytes, file_mtime, media_type, checksum, dataproduct_type, product_type, role"
)


# The files next to products (DataLink #auxiliary): the collections' READMEs, companion files
# of a product's stem, products of the same obs_id. Names only; where they are comes from
# hlsp.deliverable_files, in the same transaction.
_NEIGHBOURS = sa.text(
    "SELECT c.hlsp_id || '/' || f.file_name AS file_key, "
    "CASE WHEN f.role = 'readme' THEN 'readme' ELSE 'beside' END AS relation, "
    "f.collection_id, f.stem AS obs_id "
    "FROM hlsp.companion_file f JOIN hlsp.collection c USING (collection_id) "
    "WHERE f.collection_id = ANY(:collections) AND (f.role = 'readme' OR f.stem = ANY(:stems)) "
    "UNION ALL "
    "SELECT c.hlsp_id || '/' || p.file_name, 'sibling', p.collection_id, p.obs_id "
    "FROM hlsp.product p JOIN hlsp.collection c USING (collection_id) "
    "WHERE p.obs_id = ANY(:stems) AND p.collection_id = ANY(:collections) "
    "AND p.withdrawn_at IS NULL ORDER BY collection_id, file_key LIMIT :limit"
)
MAX_NEIGHBOURS = 20_000  # rows of one neighbours statement


@dataclass(frozen=True)
class Neighbour:
    """A deliverable file next to a product: ``relation`` readme (of the collection),
    beside (a companion file of the product's stem) or sibling (a product of its obs_id)."""

    relation: str
    collection_id: int
    obs_id: str
    file: StoredFile


class Deliverables:
    """Look-ups of deliverable files on the query (reader) engine."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def find(self, keys: Iterable[str], conn: sa.Connection | None = None) -> dict[str, StoredFile]:
        """key -> file, for the keys that name a deliverable file (others are absent); in
        ``conn``'s transaction when given, else on a connection of its own."""
        wanted = sorted({k for k in keys if k})
        if not wanted:
            return {}
        if len(wanted) > MAX_KEYS:
            raise ValueError(f"at most {MAX_KEYS} files per look-up")
        if conn is None:
            with self.engine.connect() as own:
                answer = self.find(wanted, own)
                own.rollback()
            return answer
        rows = conn.execute(
            sa.text(f"SELECT {_COLUMNS} FROM hlsp.deliverable_files(:keys)"),  # noqa: S608 (constants)
            {"keys": wanted},
        ).mappings()
        found: dict[str, StoredFile] = {}
        for row in rows:
            file = _stored(row)
            # a product wins over a companion of the same name (the harvest keeps FITS names
            # for products only, so this is a defence, not a case)
            if file.key not in found or file.kind == "product":
                found[row["file_key"]] = file
        return found

    def one(self, key: str) -> StoredFile | None:
        return self.find([key]).get(key)

    def neighbours(
        self,
        observations: Iterable[tuple[int, str]],
        keys: Iterable[str] = (),
        conn: sa.Connection | None = None,
    ) -> tuple[list[Neighbour], dict[str, StoredFile]]:
        """The deliverable neighbours of products, by (collection, obs_id), and the
        deliverable files among ``keys``, in one transaction (``conn``'s when given)."""
        pairs = set(observations)
        extra = {k for k in keys if k}
        if not pairs and not extra:
            return [], {}
        if conn is None:
            with self.engine.connect() as own:
                answer = self.neighbours(pairs, extra, own)
                own.rollback()
            return answer
        places: dict[str, tuple[str, int, str]] = {}
        if pairs:
            params = {
                "collections": sorted({c for c, _ in pairs}),
                "stems": sorted({o for _, o in pairs}),
                "limit": MAX_NEIGHBOURS,
            }
            for key, relation, cid, obs_id in conn.execute(_NEIGHBOURS, params):
                if (cid, obs_id) in pairs or relation == "readme":
                    places.setdefault(key, (relation, cid, obs_id))
        wanted = sorted(set(places) | extra)[:MAX_KEYS]
        found = self.find(wanted, conn) if wanted else {}
        neighbours = [
            Neighbour(relation, cid, obs_id, found[key])
            for key, (relation, cid, obs_id) in places.items()
            if key in found
        ]
        return neighbours, {k: found[k] for k in extra if k in found}


def _stored(row: sa.RowMapping) -> StoredFile:
    return StoredFile(
        kind="product" if row["kind"] == "product" else "companion",
        hlsp_id=str(row["hlsp_id"]),
        file_name=str(row["file_name"]),
        path=str(row["file_path"]),
        size=int(row["file_bytes"]),
        mtime=row["file_mtime"],
        media_type=str(row["media_type"] or "application/octet-stream"),
        obs_id=str(row["obs_id"]),
        product_id=row["product_id"],
        collection_id=row["collection_id"],
        checksum=row["checksum"],
        dataproduct_type=row["dataproduct_type"],
        product_type=row["product_type"],
        role=row["role"],
    )
