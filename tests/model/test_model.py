"""Model round trips and the constraints that keep bad states out."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.model import (
    Collection,
    HarvestFailure,
    HarvestRun,
    Product,
    ProductFinding,
    ProvenanceInput,
    ProvenanceSoftware,
    Target,
    TargetAlias,
)
from catalog.sphere import SkyPoint, SkyPolygon
from tests.support import factories as f


def test_product_round_trip_in_degrees(session: Session) -> None:
    coll = f.collection(session, "tglc", title="TESS-Gaia Light Curves", doi="10.17909/610m-9474")
    poly = SkyPolygon.from_degrees([(359.9, -0.1), (0.1, -0.1), (0.1, 0.1), (359.9, 0.1)])
    p = f.product(
        session,
        coll,
        "hlsp_tglc_tess_ffi_gaiaid-1-s0001-cam1-ccd1_tess_v1_llc.fits.gz",
        pos=SkyPoint(83.6330833, 22.0145),
        footprint=poly,
        t_min=58000.5,
        t_max=58027.25,
        em_min=6e-7,
        em_max=1e-6,
        dataproduct_type="timeseries",
        headers=[{"SIMPLE": True, "TELESCOP": "TESS"}],
    )
    session.commit()
    session.expire_all()

    got = session.get(Product, p.product_id)
    assert got is not None
    assert got.pos is not None
    assert got.pos.ra == pytest.approx(83.6330833, abs=1e-10)
    assert got.pos.dec == pytest.approx(22.0145, abs=1e-10)
    assert got.s_ra == pytest.approx(83.6330833, abs=1e-10)  # generated from pos
    assert got.s_dec == pytest.approx(22.0145, abs=1e-10)
    assert got.footprint is not None
    for (ra, dec), want in zip(got.footprint.vertices, poly.vertices, strict=True):
        assert ra == pytest.approx(want.ra, abs=1e-9)
        assert dec == pytest.approx(want.dec, abs=1e-9)
    assert got.obs_id == "hlsp_tglc_tess_ffi_gaiaid-1-s0001-cam1-ccd1_tess_v1_llc"
    assert got.calib_level == 4
    assert got.file_format == "application/fits"
    assert got.simulated is False
    assert got.headers == [{"SIMPLE": True, "TELESCOP": "TESS"}]
    assert got.collection.hlsp_id == "tglc"


def test_ra_is_wrapped_and_impossible_positions_are_refused(session: Session) -> None:
    coll = f.collection(session)
    p = f.product(session, coll, pos=SkyPoint(-10.0, 5.0))
    session.commit()
    session.expire_all()
    assert p.pos is not None
    assert p.pos.ra == pytest.approx(350.0)
    for bad in [(10.0, 91.0), (math.nan, 0.0), (0.0, math.inf)]:
        with pytest.raises(sa.exc.StatementError, match=r"declination|finite"):
            f.product(session, coll, pos=SkyPoint(*bad))
        session.rollback()


def test_one_row_per_collection_and_file_name(session: Session) -> None:
    coll = f.collection(session)
    f.product(session, coll, "hlsp_x_tess_phot_a_tess_v1_lc.fits")
    other = f.collection(session)
    f.product(session, other, "hlsp_x_tess_phot_a_tess_v1_lc.fits")  # same name elsewhere: fine
    with pytest.raises(IntegrityError, match="product_collection_id_file_name_key"):
        f.product(session, coll, "hlsp_x_tess_phot_a_tess_v1_lc.fits")


def test_a_product_always_belongs_to_a_collection(session: Session) -> None:
    with pytest.raises(IntegrityError, match="collection_id"):
        session.execute(
            sa.insert(Product).values(
                file_name="a.fits",
                file_path="/a.fits",
                file_bytes=1,
                file_mtime=sa.func.now(),
            )
        )
    session.rollback()
    with pytest.raises(IntegrityError, match="product_collection_id_fkey"):
        session.execute(
            sa.insert(Product).values(
                collection_id=123456,
                file_name="a.fits",
                file_path="/a.fits",
                file_bytes=1,
                file_mtime=sa.func.now(),
            )
        )
    session.rollback()
    coll = f.collection(session)
    f.product(session, coll)
    session.commit()
    with pytest.raises(IntegrityError, match="product_collection_id_fkey"):
        session.execute(sa.delete(Collection).where(Collection.collection_id == coll.collection_id))


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"dataproduct_type": "lightcurve"}, "dataproduct_type_vocabulary"),
        ({"verdict": "OK"}, "verdict_vocabulary"),
        ({"calib_level": 5}, "calib_level_range"),
        ({"t_min": 58010.0, "t_max": 58000.0}, "time_range_ordered"),
        ({"em_min": 2e-6, "em_max": 1e-6}, "wavelength_range_ordered"),
        ({"em_min": -1e-7, "em_max": 1e-6}, "wavelength_range_ordered"),
        ({"t_exptime": -1.0}, "exptime_positive"),
        ({"file_bytes": -1}, "file_bytes_positive"),
        ({"s_fov": 0.0}, "fov_range"),
        ({"file_name": "sub/dir.fits"}, "file_name_bare"),
        ({"file_name": ".fits"}, "file_name_bare"),
        ({"em_max": -1e-7}, "wavelength_positive"),
        ({"hdu_count": 0}, "sizes_positive"),
        ({"t_resolution": 0.0}, "sizes_positive"),
    ],
)
def test_product_checks(session: Session, values: dict[str, object], constraint: str) -> None:
    coll = f.collection(session)
    with pytest.raises(IntegrityError, match=constraint):
        f.product(session, coll, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"hlsp_id": "TGLC"}, "hlsp_id_format"),
        ({"hlsp_id": "has space"}, "hlsp_id_format"),
        ({"hlsp_id": "ok", "doi": "doi:10.17909/abc"}, "doi_format"),
    ],
)
def test_collection_checks(session: Session, values: dict[str, str], constraint: str) -> None:
    with pytest.raises(IntegrityError, match=constraint):
        f.collection(session, **values)


def test_targets_shared_across_collections(session: Session) -> None:
    target = Target(name="TIC 55652896", pos=SkyPoint(317.5405, -57.1134), object_type="star")
    target.aliases += [
        TargetAlias(name_key="tic55652896", name="TIC 55652896"),
        TargetAlias(name_key="gaiadr36399196263939178880", name="Gaia DR3 6399196263939178880"),
    ]
    a, b = f.collection(session, "tglc"), f.collection(session, "tess-data-alerts")
    pa, pb = f.product(session, a), f.product(session, b)
    pa.targets.append(target)
    pb.targets.append(target)
    session.commit()
    session.expire_all()
    got = session.scalars(sa.select(Target)).one()
    assert sorted(p.collection.hlsp_id for p in got.products) == ["tess-data-alerts", "tglc"]
    assert {al.name for al in got.aliases} == {"TIC 55652896", "Gaia DR3 6399196263939178880"}
    with pytest.raises(IntegrityError, match="target_alias_pkey"):
        session.execute(
            sa.insert(TargetAlias).values(
                name_key="tic55652896", name="TIC55652896", target_id=got.target_id
            )
        )
    session.rollback()
    # A target that products still point at cannot be deleted out from under them.
    with pytest.raises(IntegrityError, match="product_target_target_id_fkey"):
        session.execute(sa.delete(Target))


def test_provenance_findings_and_cascade(session: Session) -> None:
    coll = f.collection(session)
    p = f.product(session, coll, verdict="NEEDS REVIEW")
    p.inputs += [
        ProvenanceInput(
            input_index=1,
            kind="observation",
            identifier="lea22cx3q",
            source="FILEID01",
            program_id="17147",
            telescope="HST",
            instrument="COS",
        ),
        ProvenanceInput(
            input_index=2, kind="observation", identifier="ockp07020", source="FILEID02"
        ),
    ]
    p.software.append(
        ProvenanceSoftware(
            software_index=1, name="UCSB/TGLC", software_version="0.6.2", source="ORIGIN"
        )
    )
    p.findings.append(
        ProductFinding(
            finding_index=1,
            code="HLSP-K001",
            severity="error",
            hdu=0,
            keyword="HLSPID",
            message="Add HLSPID to the primary header.",
        )
    )
    session.commit()
    by_input = session.scalars(
        sa.select(Product.file_name)
        .join(ProvenanceInput)
        .where(ProvenanceInput.identifier == "ockp07020")
    ).all()
    assert by_input == [p.file_name]
    with pytest.raises(IntegrityError, match="kind_vocabulary"):
        session.add(
            ProvenanceInput(
                product_id=p.product_id,
                input_index=3,
                kind="magic",
                identifier="x",
                source="FILEID03",
            )
        )
        session.flush()
    session.rollback()
    with pytest.raises(IntegrityError, match="severity_vocabulary"):
        session.add(
            ProductFinding(
                product_id=p.product_id, finding_index=2, code="X", severity="fatal", message="m"
            )
        )
        session.flush()
    session.rollback()
    session.delete(session.get(Product, p.product_id))
    session.commit()
    for table in (ProvenanceInput, ProvenanceSoftware, ProductFinding):
        assert session.scalar(sa.select(sa.func.count()).select_from(table)) == 0


def test_harvest_audit(session: Session) -> None:
    run = HarvestRun(arguments={"paths": ["/data"], "jobs": 2}, host="h")
    run.failures.append(
        HarvestFailure(
            file_path="/data/bad.fits",
            code="HARVEST-TRUNCATED",
            reason="file ends inside the header",
        )
    )
    session.add(run)
    session.commit()
    assert run.state == "running"
    assert run.files_seen == 0
    with pytest.raises(IntegrityError, match="harvest_failure_run_id_file_path_key"):
        session.add(
            HarvestFailure(run_id=run.run_id, file_path="/data/bad.fits", code="X", reason="again")
        )
        session.flush()
    session.rollback()
    with pytest.raises(IntegrityError, match="state_vocabulary"):
        session.execute(sa.update(HarvestRun).values(state="done"))


def test_full_text_search(session: Session) -> None:
    f.collection(
        session,
        "tglc",
        title="TESS-Gaia Light Curves",
        project_lead="Te Han",
        description="Light curves extracted from full-frame images with Gaia priors.",
    )
    f.collection(
        session,
        "phangs-hst",
        title="PHANGS-HST",
        description="Ultraviolet and optical imaging of nearby spiral galaxies.",
    )
    t = Target(name="NGC 628")
    t.aliases.append(TargetAlias(name_key="ngc628", name="NGC 628"))
    t.aliases.append(TargetAlias(name_key="m74", name="M74"))
    session.add(t)
    session.commit()

    def search(q: str) -> list[str]:
        tsq = sa.func.websearch_to_tsquery("english", q)
        rows = session.scalars(
            sa.select(Collection.hlsp_id)
            .where(Collection.search_text.op("@@")(tsq))
            .order_by(sa.func.ts_rank(Collection.search_text, tsq).desc())
        )
        return list(rows)

    assert search("galaxy") == ["phangs-hst"]  # stemming: galaxies -> galaxi
    assert search("light curve") == ["tglc"]
    assert search("Han") == ["tglc"]
    assert search("phangs") == ["phangs-hst"]
    assert search("quasar") == []
    names = session.scalars(
        sa.select(TargetAlias.name).where(
            TargetAlias.search_text.op("@@")(sa.func.plainto_tsquery("simple", "m74"))
        )
    ).all()
    assert names == ["M74"]
