"""A few demonstration rows, so a fresh install has something to show and query.

The harvester replaces this with a generated demo corpus; until then these rows exercise
every part of the model: collections, products with positions and footprints, shared
targets, provenance and check findings. Loading is idempotent (keyed on hlsp_id and
collection + file name).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from catalog.model import (
    Collection,
    Product,
    ProductFinding,
    ProvenanceInput,
    ProvenanceSoftware,
    Target,
    TargetAlias,
    product_target,
)  # fmt: skip
from catalog.sphere import SkyPoint, SkyPolygon

COLLECTIONS = [
    {"hlsp_id": "tglc", "title": "TESS-Gaia Light Curves", "project_lead": "Te Han",
     "doi": "10.17909/610m-9474", "description": "Light curves of TESS full-frame-image "
     "sources, extracted with Gaia DR3 priors."},
    {"hlsp_id": "k2sff", "title": "K2 Extracted Lightcurves (K2SFF)",
     "project_lead": "Andrew Vanderburg", "doi": "10.17909/T9BC75",
     "description": "Self-flat-fielded light curves of K2 targets."},
    {"hlsp_id": "phangs-hst", "title": "PHANGS-HST", "project_lead": "Janice Lee",
     "doi": "10.17909/t9-r08f-dq31", "description": "HST UV-optical imaging of nearby "
     "star-forming galaxies."},
]  # fmt: skip

MJD_2019 = 58484.0


def _products() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for sector in range(1, 4):
        rows.append({
            "hlsp_id": "tglc", "target": "TIC 55652896", "ra": 317.5405, "dec": -57.1134,
            "file_name": f"hlsp_tglc_tess_ffi_gaiaid-6399196263939178880-s{sector:04d}"
                         "-cam2-ccd1_tess_v1_llc.fits",
            "product_type": "llc", "dataproduct_type": "timeseries", "telescope": "TESS",
            "instrument": "Photometer", "filter_name": "TESS", "t_min": MJD_2019 + 27 * sector,
            "t_max": MJD_2019 + 27 * sector + 26.5, "t_exptime": 1800.0 * 1200,
            "em_min": 6.0e-7, "em_max": 1.0e-6, "version": "v1", "verdict": "NEEDS REVIEW",
        })  # fmt: skip
    rows.append({
        "hlsp_id": "k2sff", "target": "EPIC 201367065", "ra": 172.5601, "dec": -1.4513,
        "file_name": "hlsp_k2sff_k2_lightcurve_201367065-c01_kepler_v1_llc.fits",
        "product_type": "llc", "dataproduct_type": "timeseries", "telescope": "Kepler",
        "instrument": "Kepler Photometer", "filter_name": "KEPLER", "t_min": 56808.0,
        "t_max": 56888.0, "t_exptime": 1765.5 * 3400, "em_min": 4.2e-7, "em_max": 9.0e-7,
        "version": "v1", "verdict": "NEEDS REVIEW",
    })  # fmt: skip
    for band, (lo, hi) in {"f275w": (2.3e-7, 3.1e-7), "f555w": (4.6e-7, 6.2e-7)}.items():
        rows.append({
            "hlsp_id": "phangs-hst", "target": "NGC 628", "ra": 24.1739, "dec": 15.7836,
            "file_name": f"hlsp_phangs-hst_hst_wfc3-uvis_ngc628mosaic_{band}_v1_exp-drc-sci.fits",
            "product_type": "exp-drc-sci", "dataproduct_type": "image", "telescope": "HST",
            "instrument": "WFC3", "filter_name": band.upper(), "t_min": 58100.0,
            "t_max": 58480.0, "t_exptime": 2200.0, "em_min": lo, "em_max": hi, "version": "v1",
            "verdict": "PASS", "footprint": [(24.10, 15.71), (24.25, 15.71), (24.25, 15.86),
                                              (24.10, 15.86)],
        })  # fmt: skip
    return rows


def load_demo_rows(session: Session) -> int:
    """Insert (or refresh) the demonstration rows; returns the number of products."""
    ids: dict[str, int] = {}
    for c in COLLECTIONS:
        stmt = insert(Collection).values(**c).on_conflict_do_update(
            index_elements=["hlsp_id"], set_={k: v for k, v in c.items() if k != "hlsp_id"}
        ).returning(Collection.collection_id)  # fmt: skip
        ids[str(c["hlsp_id"])] = session.execute(stmt).scalar_one()
    now = datetime.now(UTC)
    products = _products()
    for row in products:
        target = session.scalar(sa.select(TargetAlias).where(
            TargetAlias.name_key == str(row["target"]).lower().replace(" ", "")))  # fmt: skip
        if target is None:
            t = Target(name=str(row["target"]), pos=SkyPoint(row["ra"], row["dec"]),  # type: ignore[arg-type]
                       object_type="galaxy" if "NGC" in str(row["target"]) else "star")  # fmt: skip
            t.aliases.append(TargetAlias(name_key=str(row["target"]).lower().replace(" ", ""),
                                         name=str(row["target"])))  # fmt: skip
            session.add(t)
            session.flush()
            target_id = t.target_id
        else:
            target_id = target.target_id
        footprint = row.get("footprint")
        values = {
            "collection_id": ids[str(row["hlsp_id"])], "file_name": row["file_name"],
            "file_path": f"demo/{row['hlsp_id']}/{row['file_name']}",
            "access_url": f"https://example.org/hlsp/{row['hlsp_id']}/{row['file_name']}",
            "file_bytes": 2_880 * 400, "file_mtime": now, "hdu_count": 2,
            "product_version": row["version"], "product_type": row["product_type"],
            "dataproduct_type": row["dataproduct_type"], "telescope": row["telescope"],
            "observatory": row["telescope"], "instrument": row["instrument"],
            "filter_name": row["filter_name"], "target_name": row["target"],
            "pos": SkyPoint(row["ra"], row["dec"]),  # type: ignore[arg-type]
            "footprint": SkyPolygon.from_degrees(footprint) if footprint else None,  # type: ignore[arg-type]
            "t_min": row["t_min"], "t_max": row["t_max"], "t_exptime": row["t_exptime"],
            "em_min": row["em_min"], "em_max": row["em_max"], "verdict": row["verdict"],
            "last_harvested": now,
        }  # fmt: skip
        stmt = insert(Product).values(**values).on_conflict_do_update(
            index_elements=["collection_id", "file_name"],
            set_={k: v for k, v in values.items() if k not in ("collection_id", "file_name")},
        ).returning(Product.product_id)  # fmt: skip
        product_id = session.execute(stmt).scalar_one()
        session.execute(insert(product_target).values(product_id=product_id, target_id=target_id)
                        .on_conflict_do_nothing())  # fmt: skip
        for table in (ProvenanceInput, ProvenanceSoftware, ProductFinding):
            session.execute(sa.delete(table).where(table.product_id == product_id))
        session.add(ProvenanceSoftware(product_id=product_id, software_index=1,
                                       name=f"{row['hlsp_id']}-pipeline",
                                       software_version="1.0", source="ORIGIN"))  # fmt: skip
        session.add(ProvenanceInput(
            product_id=product_id, input_index=1, kind="observation",
            identifier=f"{row['telescope']}-obs-{product_id}", source="FILEID01",
            telescope=str(row["telescope"]),
        ))  # fmt: skip
        if row["verdict"] != "PASS":
            session.add(ProductFinding(
                product_id=product_id, finding_index=1, code="HLSP-DEMO", severity="warning",
                hdu=0, keyword="HLSPID",
                message="HLSPID is missing from the primary header: add HLSPID = "
                f"'{str(row['hlsp_id']).upper()}'.",
            ))  # fmt: skip
    return len(products)
