"""A small catalog with known values, for the GraphQL tests.

``tests/graphql/conftest.py`` builds it once per module (fixture ``api_db``) and serves it
over HTTP (fixture ``api``); the tests only read it.

=====  ==========  =========  ==========  ======  ======  ===============  ==============
name   collection  instrument type        ra      dec     t (MJD)          verdict
=====  ==========  =========  ==========  ======  ======  ===============  ==============
a1     alpha       ACS/WFC    image       10.0    20.0    50000-50001      PASS (footprint)
a2     alpha       WFC3/UVIS  image       10.5    20.0    50010-50011      NEEDS REVIEW
a3     alpha       WFC3/IR    image       200.0   -30.0   -                FAIL
b1     beta        TESS       timeseries  10.2    20.1    58000-58030      PASS
b2     beta        TESS       timeseries  359.9   0.0     58030-58060      PASS
b3     beta        TESS       timeseries  0.1     0.0     58060-58090      -
b4     beta        TESS       timeseries  -       -       58000-58030      PASS
g1     gamma       COS        spectrum    10.0    20.0    55000-55000.5    PASS
g2     gamma       STIS       spectrum    -       -       -                NEEDS REVIEW
gx     gamma       STIS       spectrum    10.0    20.0    55000-55001      (withdrawn)
dup    alpha+beta  -          -           -       -       -                -
=====  ==========  =========  ==========  ======  ======  ===============  ==============
"""

# ruff: noqa: C408 - the table of products reads best as keyword rows

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog.db import Database
from catalog.model import (
    Collection,
    Product,
    ProductFinding,
    ProvenanceInput,
    ProvenanceSoftware,
    Target,
    TargetAlias,
)
from catalog.model.names import target_key
from catalog.sphere import SkyPoint, SkyPolygon

HST, TESS = "HST", "TESS"
OPTICAL, UV, IR = (4e-7, 7e-7), (1.1e-7, 1.8e-7), (1.2e-6, 1.7e-6)
TESS_BAND = (6e-7, 1e-6)

PRODUCTS: dict[str, dict[str, Any]] = {
    "a1": dict(coll="alpha", instrument="ACS/WFC", obs=HST, type="image", pos=(10.0, 20.0),
               t=(50000, 50001), em=OPTICAL, bytes=1000, verdict="PASS", target="NGC 1000"),
    "a2": dict(coll="alpha", instrument="WFC3/UVIS", obs=HST, type="image", pos=(10.5, 20.0),
               t=(50010, 50011), em=(2e-7, 4e-7), bytes=2000, verdict="NEEDS REVIEW",
               target="NGC 1000"),
    "a3": dict(coll="alpha", instrument="WFC3/IR", obs=HST, type="image", pos=(200.0, -30.0),
               t=None, em=IR, bytes=3000, verdict="FAIL", target="M 31"),
    "b1": dict(coll="beta", instrument="TESS", obs=TESS, type="timeseries", pos=(10.2, 20.1),
               t=(58000, 58030), em=TESS_BAND, bytes=4000, verdict="PASS", target="TIC 12345"),
    "b2": dict(coll="beta", instrument="TESS", obs=TESS, type="timeseries", pos=(359.9, 0.0),
               t=(58030, 58060), em=TESS_BAND, bytes=5000, verdict="PASS", target="TIC 999"),
    "b3": dict(coll="beta", instrument="TESS", obs=TESS, type="timeseries", pos=(0.1, 0.0),
               t=(58060, 58090), em=TESS_BAND, bytes=4000, verdict=None, target="TIC 777"),
    "b4": dict(coll="beta", instrument="TESS", obs=TESS, type="timeseries", pos=None,
               t=(58000, 58030), em=TESS_BAND, bytes=4000, verdict="PASS", target="TIC 12345"),
    "g1": dict(coll="gamma", instrument="COS", obs=HST, type="spectrum", pos=(10.0, 20.0),
               t=(55000, 55000.5), em=UV, bytes=7000, verdict="PASS", target="NGC 1000"),
    "g2": dict(coll="gamma", instrument="STIS", obs=HST, type="spectrum", pos=None, t=None,
               em=None, bytes=8000, verdict="NEEDS REVIEW", target=None, simulated=True),
    "gx": dict(coll="gamma", instrument="STIS", obs=HST, type="spectrum", pos=(10.0, 20.0),
               t=(55000, 55001), em=UV, bytes=9000, verdict="PASS", target="NGC 1000",
               withdrawn=True),
}  # fmt: skip
COLLECTIONS: dict[str, dict[str, Any]] = {
    "alpha": dict(
        title="Alpha Deep Fields",
        project_lead="Ada Lovelace",
        description="Ultraviolet and optical imaging of galaxy clusters.",
        doi="10.17909/alpha-1",
    ),
    "beta": dict(
        title="Beta Light Curves",
        project_lead="Bob Smith",
        description="TESS light curves of exoplanet host stars.",
        doi=None,
    ),
    "gamma": dict(
        title="Gamma Spectra",
        project_lead="Grace Hopper",
        description="Ultraviolet spectra of hot stars.",
        doi="10.17909/gamma-3",
    ),
}
MTIME = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def _target(s: Session, targets: dict[str, Target], name: str, pos: Any) -> Target:
    if name not in targets:
        t = Target(
            name=name,
            pos=SkyPoint(*pos) if pos else None,
            object_type="star" if name.startswith("TIC") else "galaxy",
        )
        s.add(t)
        s.flush()
        aliases = [name, name.replace(" ", "")]  # one key: the second is not stored
        if name == "TIC 12345":
            aliases.append("Gaia DR3 42")
        for alias in aliases:
            key = target_key(alias)
            if s.get(TargetAlias, key) is None:
                s.add(TargetAlias(name_key=key, target=t, name=alias))
        targets[name] = t
    return targets[name]


def build_catalog(db: Database) -> None:
    with Session(db.engine) as s:
        colls = {h: Collection(hlsp_id=h, **kw) for h, kw in COLLECTIONS.items()}
        s.add_all(colls.values())
        s.flush()
        targets: dict[str, Target] = {}
        for name, p in PRODUCTS.items():
            row = Product(
                collection=colls[p["coll"]],
                file_name=f"{name}.fits",
                file_path=f"/d/{name}",
                file_bytes=p["bytes"],
                file_mtime=MTIME,
                instrument=p["instrument"],
                observatory=p["obs"],
                telescope=p["obs"],
                dataproduct_type=p["type"],
                pos=SkyPoint(*p["pos"]) if p["pos"] else None,
                t_min=p["t"][0] if p["t"] else None,
                t_max=p["t"][1] if p["t"] else None,
                em_min=p["em"][0] if p["em"] else None,
                em_max=p["em"][1] if p["em"] else None,
                verdict=p["verdict"],
                simulated=p.get("simulated", False),
                target_name=p["target"],
                product_type="img" if p["type"] == "image" else "lc",
                withdrawn_at=MTIME if p.get("withdrawn") else None,
            )
            s.add(row)
            if name == "a1":
                row.footprint = SkyPolygon.from_degrees(
                    [(9.8, 19.8), (10.2, 19.8), (10.2, 20.2), (9.8, 20.2)]
                )
                row.inputs = [
                    ProvenanceInput(
                        input_index=1,
                        kind="observation",
                        identifier="j8xi01010",
                        source="FILEID01",
                        program_id="10092",
                        telescope=HST,
                        instrument="ACS/WFC",
                        t_min=50000.0,
                        t_max=50000.5,
                    ),
                    ProvenanceInput(
                        input_index=2, kind="program", identifier="10092", source="PROPOSID"
                    ),
                ]
                row.software = [
                    ProvenanceSoftware(
                        software_index=1,
                        name="drizzlepac",
                        software_version="3.5.1",
                        source="CREATOR",
                    )
                ]
            if name == "a2":
                row.findings = [
                    ProductFinding(
                        finding_index=1,
                        code="HLSP-K012",
                        severity="warning",
                        keyword="TELESCOP",
                        message="TELESCOP is missing; add it.",
                    )
                ]
            if p["target"]:
                row.targets = [_target(s, targets, p["target"], p["pos"])]
        for coll in ("alpha", "beta"):
            s.add(
                Product(
                    collection=colls[coll],
                    file_name="dup.fits",
                    file_path=f"/{coll}/dup",
                    file_bytes=10,
                    file_mtime=MTIME,
                )
            )
        s.commit()
    with db.engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))


def names(connection: dict[str, Any]) -> list[str]:
    """File names without '.fits' of a product connection's edges, in order."""
    return [e["node"]["fileName"].removesuffix(".fits") for e in connection["edges"]]
