"""Small builders for model rows, so tests state only what they are about."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count
from typing import Any

from sqlalchemy.orm import Session

from catalog.model import Collection, Product

_n = count(1)


def collection(session: Session, hlsp_id: str | None = None, **kw: Any) -> Collection:
    c = Collection(hlsp_id=hlsp_id or f"coll{next(_n)}", **kw)
    session.add(c)
    session.flush()
    return c


def product(session: Session, coll: Collection, file_name: str | None = None, **kw: Any) -> Product:
    name = file_name or f"hlsp_{coll.hlsp_id}_tess_phot_t{next(_n)}_tess_v1_lc.fits"
    values: dict[str, Any] = {
        "file_path": f"/data/{coll.hlsp_id}/{name}",
        "file_bytes": 2880 * 10,
        "file_mtime": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    values.update(kw)
    p = Product(collection=coll, file_name=name, **values)
    session.add(p)
    session.flush()
    return p
