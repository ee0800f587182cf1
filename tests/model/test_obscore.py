"""ivoa.obscore: the columns and types ObsCore 1.1 demands, MAST's conventions, index use."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog.db import Database
from catalog.model import Product
from catalog.obscore import obscore
from catalog.sphere import SkyPoint, SkyPolygon
from tests.support import factories as f
from tests.support.db import TEST_AUTHORITY

# ObsCore 1.1 §4 and Appendix C: the 30 mandatory columns with their ADQL types, units, UCDs
# and utypes.
MANDATORY = {
    "dataproduct_type": ("text", None, "meta.code.class", "ObsDataset.dataProductType"),
    "calib_level": ("integer", None, "meta.code;obs.calib", "ObsDataset.calibLevel"),
    "obs_collection": ("text", None, "meta.id", "DataID.Collection"),
    "obs_id": ("text", None, "meta.id", "DataID.observationID"),
    "obs_publisher_did": ("text", None, "meta.ref.ivoid", "Curation.PublisherDID"),
    "access_url": ("text", None, "meta.ref.url", "Access.Reference"),
    "access_format": ("text", None, "meta.code.mime", "Access.Format"),
    "access_estsize": ("bigint", "kbyte", "phys.size;meta.file", "Access.Size"),
    "target_name": ("text", None, "meta.id;src", "Target.Name"),
    "s_ra": (
        "double precision",
        "deg",
        "pos.eq.ra",
        "Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1",
    ),
    "s_dec": (
        "double precision",
        "deg",
        "pos.eq.dec",
        "Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2",
    ),
    "s_fov": (
        "double precision",
        "deg",
        "phys.angSize;instr.fov",
        "Char.SpatialAxis.Coverage.Bounds.Extent.diameter",
    ),
    "s_region": ("text", None, "pos.outline;obs.field", "Char.SpatialAxis.Coverage.Support.Area"),
    "s_resolution": (
        "double precision",
        "arcsec",
        "pos.angResolution",
        "Char.SpatialAxis.Resolution.Refval.value",
    ),
    "s_xel1": ("bigint", None, "meta.number", "Char.SpatialAxis.numBins1"),
    "s_xel2": ("bigint", None, "meta.number", "Char.SpatialAxis.numBins2"),
    "t_min": (
        "double precision",
        "d",
        "time.start;obs.exposure",
        "Char.TimeAxis.Coverage.Bounds.Limits.StartTime",
    ),
    "t_max": (
        "double precision",
        "d",
        "time.end;obs.exposure",
        "Char.TimeAxis.Coverage.Bounds.Limits.StopTime",
    ),
    "t_exptime": (
        "double precision",
        "s",
        "time.duration;obs.exposure",
        "Char.TimeAxis.Coverage.Support.Extent",
    ),
    "t_resolution": (
        "double precision",
        "s",
        "time.resolution",
        "Char.TimeAxis.Resolution.Refval.value",
    ),
    "t_xel": ("bigint", None, "meta.number", "Char.TimeAxis.numBins"),
    "em_min": (
        "double precision",
        "m",
        "em.wl;stat.min",
        "Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit",
    ),
    "em_max": (
        "double precision",
        "m",
        "em.wl;stat.max",
        "Char.SpectralAxis.Coverage.Bounds.Limits.HiLimit",
    ),
    "em_res_power": (
        "double precision",
        None,
        "spect.resolution",
        "Char.SpectralAxis.Resolution.ResolPower.refVal",
    ),
    "em_xel": ("bigint", None, "meta.number", "Char.SpectralAxis.numBins"),
    "o_ucd": ("text", None, "meta.ucd", "Char.ObservableAxis.ucd"),
    "pol_states": ("text", None, "meta.code;phys.polarization", "Char.PolarizationAxis.stateList"),
    "pol_xel": ("bigint", None, "meta.number", "Char.PolarizationAxis.numBins"),
    "facility_name": ("text", None, "meta.id;instr.tel", "Provenance.ObsConfig.Facility.name"),
    "instrument_name": ("text", None, "meta.id;instr", "Provenance.ObsConfig.Instrument.name"),
}


def _view_columns(session: Session) -> dict[str, str]:
    rows = session.execute(
        sa.text(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "WHERE a.attrelid = 'ivoa.obscore'::regclass AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum"
        )
    ).all()
    return {str(name): str(type_) for name, type_ in rows}


def test_declared_metadata_is_obscore_1_1() -> None:
    assert len(MANDATORY) == 30
    for name, (_, unit, ucd, utype) in MANDATORY.items():
        meta = obscore.c[name].info["vo"]
        assert (meta.unit, meta.ucd, meta.utype) == (unit, ucd, "obscore:" + utype), name
        assert meta.principal and meta.std and meta.published, name
    for name in ("obs_release_date", "provenance_name", "product_id"):
        assert obscore.c[name].info["vo"].published
    assert obscore.c["s_region"].info["vo"].xtype == "adql:REGION"  # char, not double[*]


def test_view_in_database_matches_declaration(session: Session) -> None:
    in_db = _view_columns(session)
    assert list(in_db) == [c.name for c in obscore.c]
    for name, (sql_type, *_rest) in MANDATORY.items():
        assert in_db[name] == sql_type, name
    assert in_db["obs_release_date"] == "timestamp without time zone"
    assert in_db["pos"] == "spoint"
    assert in_db["footprint"] == "spoly"
    declared = {
        c.name: c.type.compile(dialect=session.get_bind().dialect).lower() for c in obscore.c
    }
    aliases = {"double": "double precision", "timestamp": "timestamp without time zone"}
    for name, type_ in declared.items():
        assert aliases.get(type_, type_) == in_db[name], name


def test_mast_conventions(session: Session, database: Database) -> None:
    coll = f.collection(session, "tglc", release_date=datetime(2030, 1, 1, tzinfo=UTC))
    square = SkyPolygon.from_degrees([(10, 20), (11, 20), (11, 21), (10, 21)])
    p = f.product(
        session,
        coll,
        "hlsp_tglc_tess_ffi_gaiaid-1-s0001-cam1-ccd1_tess_v1_llc.fits",
        file_bytes=2049,
        pos=SkyPoint(10.5, 20.5),
        footprint=square,
        telescope="TESS",
        instrument="Photometer",
        dataproduct_type="timeseries",
        t_min=58000.0,
        t_max=58027.0,
    )
    gone = f.product(session, coll, withdrawn_at=datetime(2024, 5, 1, tzinfo=UTC))
    session.commit()
    row = session.execute(sa.text("SELECT * FROM ivoa.obscore")).mappings().one()
    assert row["obs_collection"] == "HLSP"
    assert row["provenance_name"] == "tglc"
    assert row["calib_level"] == 4
    assert row["obs_id"] == "hlsp_tglc_tess_ffi_gaiaid-1-s0001-cam1-ccd1_tess_v1_llc"
    assert row["obs_publisher_did"] == f"{TEST_AUTHORITY}?tglc/{p.file_name}"
    assert row["access_estsize"] == 3  # VOUnit kbyte = 1000 bytes, rounded up
    assert row["access_format"] == "application/fits"
    assert row["s_region"] == "Polygon ICRS 10 20 11 20 11 21 10 21" == square.stcs()
    assert (row["s_ra"], row["s_dec"]) == pytest.approx((10.5, 20.5))
    assert row["facility_name"] == "TESS"
    assert row["instrument_name"] == "Photometer"
    assert row["obs_release_date"] == datetime(2030, 1, 1)  # from the collection, in UTC
    assert row["product_id"] == p.product_id != gone.product_id  # withdrawn: not served

    # The authority is configuration: migrate with another one and the DIDs follow.
    other = Database(
        database.url,
        settings=database.settings.with_overrides(ivoa_authority="ivo://archive.example/hlsp"),
    )
    other.migrate()
    other.dispose()
    did = session.execute(sa.text("SELECT obs_publisher_did FROM ivoa.obscore")).scalar_one()
    assert did.startswith("ivo://archive.example/hlsp?tglc/")


def test_publisher_dids_are_unique_per_file(session: Session) -> None:
    coll = f.collection(session, "ullyses")
    for ext in ("fits", "fits.gz", "txt"):
        f.product(session, coll, f"hlsp_ullyses_hst_cos_av456_g130m_dr2_cspec.{ext}")
    session.commit()
    rows = session.execute(sa.text("SELECT obs_id, obs_publisher_did FROM ivoa.obscore")).all()
    assert {r.obs_id for r in rows} == {"hlsp_ullyses_hst_cos_av456_g130m_dr2_cspec"}
    assert len({r.obs_publisher_did for r in rows}) == 3


def test_product_release_date_wins_and_null_means_first_harvest(session: Session) -> None:
    coll = f.collection(session, release_date=datetime(2030, 1, 1, tzinfo=UTC))
    p = f.product(session, coll, release_date=datetime(2029, 6, 1, 12, tzinfo=UTC))
    open_coll = f.collection(session)
    q = f.product(session, open_coll)
    session.commit()
    dates: dict[int, datetime] = dict(
        session.execute(sa.text("SELECT product_id, obs_release_date FROM ivoa.obscore")).all()
    )
    assert dates[p.product_id] == datetime(2029, 6, 1, 12)
    first = session.scalar(
        sa.select(Product.first_harvested).where(Product.product_id == q.product_id)
    )
    assert first is not None
    assert dates[q.product_id] == first.astimezone(UTC).replace(tzinfo=None)


@pytest.mark.slow
def test_cone_on_the_view_uses_the_gist_index(session: Session) -> None:
    coll = f.collection(session)
    session.execute(
        sa.text(
            "INSERT INTO hlsp.product (collection_id, file_name, file_path, file_bytes, "
            "file_mtime, pos, footprint) "
            "SELECT :c, 'f' || g || '.fits', '/f' || g, 2880, now(), "
            "spoint(radians(random() * 360), asin(2 * random() - 1)), "
            "CASE WHEN g % 2 = 0 THEN NULL ELSE "
            "('{(' || (g % 350) || 'd,10d),(' || (g % 350 + 1) || 'd,10d),(' || (g % 350 + 1) "
            "|| 'd,11d)}')::spoly END "
            "FROM generate_series(1, 20000) g"
        ),
        {"c": coll.collection_id},
    )
    session.commit()
    session.execute(sa.text("ANALYZE hlsp.product"))
    n = session.scalar(sa.text("SELECT count(*) FROM ivoa.obscore"))
    assert n is not None and n >= 10_000

    def plan(where: str) -> str:
        return "\n".join(
            session.execute(
                sa.text(f"EXPLAIN SELECT obs_id, s_ra, s_dec FROM ivoa.obscore WHERE {where}")
            ).scalars()
        )

    cone = plan("pos <@ scircle(spoint(radians(120.0), radians(-30.0)), radians(0.1))")
    assert "product_pos_idx" in cone, cone
    # TOP n sorted by a coordinate or by size: the first rows of an index, not a sort.
    sorted_by = [
        ("s_ra DESC", "product_s_ra_idx"),
        ("s_dec", "product_s_dec_idx"),
        ("access_estsize DESC", "product_access_estsize_idx"),
    ]
    for order, index in sorted_by:
        query = f"EXPLAIN SELECT * FROM ivoa.obscore ORDER BY {order} LIMIT 100"
        top = "\n".join(session.execute(sa.text(query)).scalars())
        assert index in top and "Sort" not in top, top
    shape = "scircle(spoint(radians(99.8), radians(10.5)), radians(0.2))"
    # Region queries test the footprint's bounding circle first: its index answers.
    region = plan(f"footprint_bound && {shape} AND footprint && {shape}")
    assert "product_footprint_bound_idx" in region, region
    # Rows written by SQL got their circle from the trigger, and the circle holds the polygon.
    assert session.scalar(
        sa.text(
            "SELECT count(*) FILTER (WHERE footprint_bound IS NOT NULL AND footprint <@ "
            "footprint_bound) = count(footprint) AND count(footprint) = 10000 FROM hlsp.product"
        )
    )
    by_bound = session.scalar(
        sa.text(
            f"SELECT count(*) FROM ivoa.obscore WHERE footprint_bound && {shape} "
            f"AND footprint && {shape}"
        )
    )
    exact = session.scalar(sa.text(f"SELECT count(*) FROM ivoa.obscore WHERE footprint && {shape}"))
    assert by_bound == exact and exact > 0
    # and the answer is right: count via the index equals a sequential count
    indexed = session.scalar(
        sa.text(
            "SELECT count(*) FROM ivoa.obscore "
            "WHERE pos <@ scircle(spoint(radians(120.0), radians(-30.0)), radians(5.0))"
        )
    )
    session.execute(sa.text("SET enable_indexscan = off; SET enable_bitmapscan = off"))
    sequential = session.scalar(
        sa.text(
            "SELECT count(*) FROM ivoa.obscore "
            "WHERE pos <@ scircle(spoint(radians(120.0), radians(-30.0)), radians(5.0))"
        )
    )
    assert indexed == sequential
