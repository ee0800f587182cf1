"""Implausible times and exposures are left out the same way whatever keyword they came
from, and each leaves a trace (finding HLSP-K015 with the product); plausible extremes
(an 1850s plate, a simulation of the year 2999) are kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from catalog.corpus.fitswrite import CardBlock, primary_hdu, write_fits
from catalog.db import Database
from catalog.harvest.fits.cards import CARD
from catalog.harvest.plausible import EXPOSURE_MAX, MJD_MAX, MJD_MIN
from catalog.harvest.run import HarvestOptions, harvest

# label -> (cards, expected (t_min, t_max), keywords that HLSP-K015 findings name)
TIMES: dict[str, tuple[list[Any], tuple[float | None, float | None], list[str]]] = {
    "mjd-huge-negative": ([("MJD-BEG", -1e20), ("MJD-END", 58000.5)], (None, None), ["MJD-BEG"]),
    "mjd-huge": ([("MJD-BEG", 1e300), ("MJD-END", 58000.5)], (None, None), ["MJD-BEG"]),
    "mjd-huge-alone": ([("MJD-BEG", 1e300)], (None, None), ["MJD-BEG"]),
    "mjd-huge-negative-alone": ([("MJD-BEG", -1e20)], (None, None), ["MJD-BEG"]),
    "jd-written-as-mjd": (
        [("MJD-BEG", 2458000.5), ("MJD-END", 2458001.5)],
        (None, None),
        ["MJD-BEG", "MJD-END"],
    ),
    "end-huge": ([("MJD-BEG", 58000.0), ("MJD-END", 1e300)], (58000.0, 58000.0), ["MJD-END"]),
    "date-year-500": (
        [("DATE-BEG", "0500-01-01T00:00:00"), ("DATE-END", "0500-01-02")],
        (None, None),
        ["DATE-BEG", "DATE-END"],
    ),
    "date-year-9000": ([("DATE-OBS", "9000-06-01T00:00:00")], (None, None), ["DATE-OBS"]),
    "tstart-huge": (
        [("TSTART", 1e300), ("TSTOP", 1e301), ("BJDREFI", 2457000), ("BJDREFF", 0.0)],
        (None, None),
        ["TSTART (as an MJD)", "TSTOP (as an MJD)"],
    ),
    "expstart-huge-negative": (
        [("EXPSTART", -1e20), ("EXPEND", 57800.2)],
        (None, None),
        ["EXPSTART"],
    ),
    "falls-back-to-date-obs": (
        [("MJD-BEG", -1e20), ("DATE-OBS", "2019-01-01T00:00:00")],
        (58484.0, 58484.0),
        ["MJD-BEG"],
    ),
    "plate-1855": ([("MJD-BEG", -1320.0), ("MJD-END", -1319.9)], (-1320.0, -1319.9), []),
    "simulation-2999": (
        [("DATE-BEG", "2999-12-31T00:00:00"), ("DATE-END", "2999-12-31T12:00")],
        (416786.0, 416786.5),
        [],
    ),
    "range-limits": ([("MJD-BEG", MJD_MIN), ("MJD-END", MJD_MAX)], (MJD_MIN, MJD_MAX), []),
}
# label -> (cards, expected t_exptime, keywords that HLSP-K015 findings name)
EXPOSURES: dict[str, tuple[list[Any], float | None, list[str]]] = {
    "xposure-huge": ([("XPOSURE", 1e300)], None, ["XPOSURE"]),
    "exptime-negative": ([("EXPTIME", -5.0)], None, ["EXPTIME"]),
    "xptime-huge-negative": ([("XPTIME", -1e20)], None, ["XPTIME"]),
    "exposure-days-huge": ([("EXPOSURE", 1e9, "[d] time on source")], None, ["EXPOSURE"]),
    "falls-back-to-exptime": ([("XPOSURE", -1.0), ("EXPTIME", 1800.0)], 1800.0, ["XPOSURE"]),
    "a-century": ([("XPOSURE", EXPOSURE_MAX)], EXPOSURE_MAX, []),
    "deep-field": ([("EXPTIME", 1.0e6)], 1.0e6, []),
}
INFINITE_CARD = f"{'MJD-BEG':8}= {'1E400':>20}".ljust(CARD)  # overflows to infinity when read


def _same(value: float | None, expected: float | None) -> bool:
    if value is None or expected is None:
        return value is expected
    return abs(value - expected) < 1e-6


def name(label: str) -> str:
    return f"hlsp_times_hst_wfc3_{label}_f555w_v1_drz.fits"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("times") / "times"
    root.mkdir()
    for label, (cards, _, _) in TIMES.items():
        write_fits(root / name(label), [primary_hdu([("MJD-MID", 58000.0), *cards])])
    for label, (cards, _, _) in EXPOSURES.items():
        write_fits(root / name(label), [primary_hdu([("MJD-BEG", 58000.0), *cards])])
    write_fits(
        root / name("mjd-infinite"), [primary_hdu([CardBlock(INFINITE_CARD), ("MJD-END", 58000.5)])]
    )
    return root


def stored(database: Database) -> dict[str, Any]:
    with database.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT p.file_name, p.t_min, p.t_max, p.t_exptime, coalesce(array_agg("
                "f.keyword ORDER BY f.keyword) FILTER (WHERE f.code = 'HLSP-K015'), '{}') "
                "FROM hlsp.product p LEFT JOIN hlsp.product_finding f USING (product_id) "
                "WHERE p.withdrawn_at IS NULL GROUP BY p.product_id"
            )
        ).all()
    return {row[0]: row[1:] for row in rows}


@pytest.fixture(scope="module")
def harvested(module_database: Database, tree: Path) -> dict[str, Any]:
    summary = harvest(module_database, HarvestOptions(paths=[tree], jobs=1, progress=False))
    assert summary.failed == 0, summary.failures
    return stored(module_database)


@pytest.mark.parametrize("label", list(TIMES))
def test_implausible_times_are_left_out_whatever_their_keyword(harvested, label: str) -> None:
    _, expected, keywords = TIMES[label]
    t_min, t_max, _, k015 = harvested[name(label)]
    assert _same(t_min, expected[0]) and _same(t_max, expected[1]), (t_min, t_max)
    assert k015 == keywords, k015


@pytest.mark.parametrize("label", list(EXPOSURES))
def test_implausible_exposures_are_left_out_whatever_their_keyword(harvested, label: str) -> None:
    _, expected, keywords = EXPOSURES[label]
    _, _, exposure, k015 = harvested[name(label)]
    assert exposure == expected
    assert k015 == keywords, k015


def test_an_infinite_time_is_left_out_as_not_a_number(harvested) -> None:
    t_min, t_max, _, _ = harvested[name("mjd-infinite")]
    assert (t_min, t_max) == (None, None)  # MJD-BEG reads as infinity: no time range


def test_every_time_in_the_catalog_is_plausible(harvested) -> None:
    for t_min, t_max, exposure, _ in harvested.values():
        for value in (t_min, t_max):
            assert value is None or MJD_MIN <= value <= MJD_MAX
        assert exposure is None or 0 <= exposure <= EXPOSURE_MAX
