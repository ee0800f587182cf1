"""Harvesting the real HLSP and mission files in ../shared/data/fits (values read by eye
from their headers; the test skips when ../shared is absent)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from catalog.harvest.run import HarvestOptions, harvest
from tests.support.db import shared_path

BTJD = 2457000 - 2400000.5  # TESS: MJD = BTJD + this
BKJD = 2454833 - 2400000.5  # Kepler/K2


@pytest.fixture
def real(database):
    hlsp_dir = shared_path("data", "fits", "hlsp")
    summary = harvest(database, HarvestOptions(paths=[hlsp_dir], jobs=2, progress=False))
    assert (summary.state, summary.failed, summary.added) == ("completed", 0, 7)
    mission = shared_path("data", "fits", "mission", "odbue5030_x1d.fits")
    summary = harvest(
        database, HarvestOptions(paths=[mission], collection="stis-test", jobs=1, progress=False)
    )
    assert summary.added == 1
    with database.engine.connect() as conn:
        products = {
            r.file_name: r
            for r in conn.execute(
                sa.text(
                    "SELECT p.*, c.hlsp_id FROM hlsp.product p JOIN hlsp.collection c "
                    "USING (collection_id)"
                )
            ).all()
        }
        targets = {
            r.file_name: r.names
            for r in conn.execute(
                sa.text(
                    "SELECT p.file_name, array_agg(a.name ORDER BY a.name) AS names "
                    "FROM hlsp.product p "
                    "JOIN hlsp.product_target pt USING (product_id) "
                    "JOIN hlsp.target_alias a ON a.target_id = pt.target_id GROUP BY p.file_name",
                )
            )
        }
        inputs = {
            r.file_name: r.ids
            for r in conn.execute(
                sa.text(
                    "SELECT p.file_name, array_agg(i.kind || ':' || i.identifier) AS ids "
                    "FROM hlsp.product p JOIN hlsp.provenance_input i USING (product_id) "
                    "GROUP BY p.file_name"
                )
            )
        }
        software = {
            r.file_name: r.sw
            for r in conn.execute(
                sa.text(
                    "SELECT p.file_name, "
                    "array_agg(s.name || '=' || coalesce(s.software_version, '')) "
                    "AS sw FROM hlsp.product p JOIN hlsp.provenance_software s USING (product_id) "
                    "GROUP BY p.file_name"
                )
            )
        }
    return products, targets, inputs, software


def test_tglc_v2(real):
    products, targets, _, software = real
    name = "hlsp_tglc_tess_ffi_gaiaid-5707485527450614656-s0007-cam2-ccd3_tess_v2_llc.fits"
    p = products[name]
    assert p.hlsp_id == "tglc"  # no HLSPID: the file name's proj-id
    assert (p.s_ra, p.s_dec) == pytest.approx((124.60675204561329, -19.662787728374557))
    assert (p.t_min, p.t_max) == pytest.approx((58491.14031561636, 58515.57808926265))
    assert p.time_scale == "TDB"
    assert p.t_exptime == 1800.0  # XPTIME
    assert (p.product_version, p.product_type, p.dataproduct_type) == ("v2", "llc", "timeseries")
    assert (p.observatory, p.instrument, p.filter_name) == ("TESS", "TESS PHOTOMETER", "TESS")
    assert p.em_min == pytest.approx(5.8e-7, rel=0.1)
    assert p.em_max == pytest.approx(1.0e-6, rel=0.1)
    assert p.verdict == "FAIL"  # a 42-character target field, no HLSPID/DOI/LICENSE
    assert targets[name] == ["Gaia DR3 5707485527450614656", "TIC 218795833"]
    assert "TGLC=0.7.0" in software[name]


def test_the_three_tglc_sectors_of_one_star_share_a_target(real):
    _, targets, _, _ = real
    shared = [n for n, names in targets.items() if "TIC 218795833" in names]
    assert len(shared) == 3


def test_tess_data_alerts(real):
    products, targets, _, software = real
    name = "hlsp_tess-data-alerts_tess_phot_00055652896-s01_tess_v1_lc.fits"
    p = products[name]
    assert p.hlsp_id == "tess-data-alerts"
    assert (p.s_ra, p.s_dec) == pytest.approx((73.980231, -63.260063))
    assert p.t_min == pytest.approx(1325.293656167129 + BTJD)
    assert p.t_max == pytest.approx(1353.176978345185 + BTJD)
    assert p.t_exptime == pytest.approx(22.083840216445 * 86400)  # EXPOSURE [d]
    assert targets[name] == ["TIC 55652896"]
    assert "SPOC=spoc-3.3.36-20180925" in software[name]


def test_k2sff(real):
    products, targets, _, _ = real
    name = "hlsp_k2sff_k2_lightcurve_201367065-c01_kepler_v1_llc.fits"
    p = products[name]
    assert p.hdu_count == 25
    assert (p.s_ra, p.s_dec) == pytest.approx((172.334955, -1.454787))
    assert (p.t_min, p.t_max) == pytest.approx((1975.16813908 + BKJD, 2057.34496695 + BKJD))
    assert (p.observatory, p.telescope) == ("K2", "Kepler")  # MISSION, TELESCOP
    assert p.instrument == "KEPLER PHOTOMETER"
    assert p.em_min == pytest.approx(4.2e-7, rel=0.1)
    assert p.em_max == pytest.approx(9.0e-7, rel=0.1)
    assert targets[name] == ["EPIC 201367065"]


def test_stis_x1d_spectrum(real):
    products, targets, inputs, software = real
    p = products["odbue5030_x1d.fits"]
    assert p.hlsp_id == "stis-test"
    assert p.dataproduct_type == "spectrum"
    assert (p.s_ra, p.s_dec) == pytest.approx((327.7957283233, 28.86372955736))
    assert (p.t_min, p.t_max) == pytest.approx((57894.08679308, 57894.0940616))
    assert p.t_exptime == 628.0
    assert p.disperser == "E230M"
    assert 1.5e-7 < p.em_min < p.em_max < 3.2e-7  # read from the WAVELENGTH column
    assert targets["odbue5030_x1d.fits"] == ["BD+28D4211"]
    assert inputs["odbue5030_x1d.fits"] == ["program:14833"]
    assert any(s.startswith("calstis=3.4.1") for s in software["odbue5030_x1d.fits"])
    assert p.verdict == "FAIL"  # not an HLSP name, no HLSP keywords
