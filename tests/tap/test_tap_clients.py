"""The TAP service as its users meet it: STILTS taplint, pyvo and STILTS tapquery (TOPCAT's
client library) against the real server over a harvested corpus."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import httpx
import numpy as np
import pytest
import pyvo
import sqlalchemy as sa
from astropy.io.votable import parse as votable_parse
from astropy.table import Table

from catalog.corpus import generate_corpus
from catalog.db import Database
from catalog.harvest.run import HarvestOptions, harvest
from catalog.tap_examples import EXAMPLES
from tests.support.cli import serving

STILTS = shutil.which("stilts")
needs_stilts = pytest.mark.skipif(
    STILTS is None,
    reason="STILTS is not installed (apt-get install stilts; ./run setup installs it)",
)


# Every taplint stage but LOC (ObsLocTAP: observation plans, not something an HLSP archive has).
TAPLINT_STAGES = ("TMV", "TME", "TMS", "TMC", "CPV", "CAP", "AVV", "QGE", "QPO", "QAS", "UWS",
                  "MDQ", "OBS", "UPL", "EXA")  # fmt: skip


@pytest.fixture(scope="module")
def tap_url(module_database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    corpus = generate_corpus(tmp_path_factory.mktemp("tap-corpus"), files=120, seed=11)
    summary = harvest(module_database, HarvestOptions(paths=[corpus.root], jobs=1, progress=False))
    assert summary.added == 120
    with serving("serve", env={"HLSP_DATABASE_URL": module_database.url}) as base:
        yield base + "/tap"


@pytest.fixture(scope="module")
def service(tap_url: str) -> pyvo.dal.TAPService:
    return pyvo.dal.TAPService(tap_url)


def _scalar(db: Database, sql: str) -> object:
    with db.engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar()


@needs_stilts
@pytest.mark.slow
def test_taplint_finds_no_errors_and_no_warnings(tap_url: str) -> None:
    assert STILTS is not None
    run = subprocess.run(
        [
            STILTS,
            "taplint",
            f"tapurl={tap_url}",
            "report=EWF",
            "maxrepeat=50",
            f"stages={' '.join(TAPLINT_STAGES)}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    totals = re.search(r"Totals: Errors: (\d+); Warnings: (\d+)", run.stdout)
    assert totals, run.stdout[-3000:] + run.stderr[-2000:]
    problems = [line for line in run.stdout.splitlines() if re.match(r"^[EWF]-", line)]
    assert (int(totals[1]), int(totals[2])) == (0, 0), "\n".join(problems)


def test_pyvo_sync_query_returns_the_catalog_rows(
    service: pyvo.dal.TAPService, module_database: Database
) -> None:
    result = service.run_sync(
        "SELECT TOP 7 obs_id, provenance_name, s_ra, s_dec FROM ivoa.ObsCore ORDER BY obs_id"
    )
    expected = _scalar(
        module_database,
        "SELECT array_agg(obs_id ORDER BY obs_id) FROM "
        "(SELECT obs_id FROM ivoa.obscore ORDER BY obs_id LIMIT 7) q",
    )
    assert list(result["obs_id"]) == expected
    table = result.to_table()
    assert table["s_ra"].unit == "deg"
    assert result.fieldname_with_ucd("pos.eq.ra") == "s_ra"


def test_pyvo_maxrec_overflow_and_zero(service: pyvo.dal.TAPService) -> None:
    # pyvo >= 1.8 warns only when the row count differs from the maxrec asked for; the
    # status says whether the result was cut
    result = service.run_sync("SELECT obs_id FROM ivoa.ObsCore", maxrec=5)
    assert len(result) == 5
    assert result.query_status == "OVERFLOW"

    # the service's default limit (10,000 rows) cuts 120 × 120 rows: pyvo warns the user
    with pytest.warns(pyvo.dal.DALOverflowWarning):
        cut = service.run_sync("SELECT a.obs_id FROM ivoa.ObsCore AS a, ivoa.ObsCore AS b")
    assert len(cut) == 10_000 and cut.query_status == "OVERFLOW"

    exact = service.run_sync("SELECT TOP 5 obs_id FROM ivoa.ObsCore", maxrec=10)
    assert len(exact) == 5 and exact.query_status == "OK"

    # pyvo leaves a maxrec of 0 out of the request; ask directly: metadata and no rows
    query = "SELECT obs_id, s_ra FROM ivoa.ObsCore"
    answer = httpx.post(
        service.baseurl + "/sync", data={"LANG": "ADQL", "QUERY": query, "MAXREC": "0"}
    )
    meta = pyvo.dal.TAPResults(votable_parse(BytesIO(answer.content)))
    assert len(meta) == 0
    assert [f.name for f in meta.fielddescs] == ["obs_id", "s_ra"]
    assert meta.query_status == "OVERFLOW"


def test_pyvo_async_job_lifecycle(service: pyvo.dal.TAPService) -> None:
    result = service.run_async("SELECT COUNT(*) AS n FROM hlsp.product")
    assert int(result["n"][0]) == 120

    job = service.submit_job(
        "SELECT TOP 3 file_name FROM hlsp.product ORDER BY file_name", runid="pyvo-test"
    )
    assert job.phase == "PENDING"
    job.run().wait(timeout=60)
    assert job.phase == "COMPLETED"
    assert len(job.fetch_result()) == 3
    # an anonymous job is reached by its URL only: no one's job list shows it
    assert job.job_id not in [j.jobid for j in service.get_job_list()]
    assert service.get_job_list(phases=["COMPLETED"]) == []
    url = job.url
    job.delete()
    assert httpx.get(url).status_code == 404  # (pyvo's get_job does not check the status)


def test_pyvo_errors_say_what_is_wrong(service: pyvo.dal.TAPService) -> None:
    with pytest.raises(pyvo.dal.DALQueryError, match=r"(?i)line 1"):
        service.run_sync("SELECT FROM WHERE")
    with pytest.raises(pyvo.dal.DALQueryError, match=r"hlsp\.harvest_run"):
        service.run_sync("SELECT * FROM hlsp.harvest_run")
    job = service.submit_job("SELECT nothing FROM ivoa.ObsCore")
    job.run().wait(timeout=60)
    assert job.phase == "ERROR"
    assert "nothing" in job.job.errorsummary.message.content
    job.delete()


def test_pyvo_upload_crossmatch(service: pyvo.dal.TAPService, module_database: Database) -> None:
    with module_database.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT obs_id, s_ra, s_dec FROM ivoa.obscore WHERE s_ra IS NOT NULL "
                "ORDER BY obs_id LIMIT 4"
            )
        ).all()
    mine = Table(
        {
            "name": [r[0] for r in rows],
            "ra": np.array([r[1] for r in rows]),
            "dec": np.array([r[2] for r in rows]),
        }
    )
    result = service.run_sync(
        "SELECT u.name, o.obs_id FROM TAP_UPLOAD.mine AS u JOIN ivoa.ObsCore AS o "
        "ON DISTANCE(POINT('ICRS', u.ra, u.dec), POINT('ICRS', o.s_ra, o.s_dec)) < 0.0001",
        uploads={"mine": mine},
    )
    pairs = set(zip(result["name"], result["obs_id"], strict=True))
    assert {(r[0], r[0]) for r in rows} <= pairs


def test_pyvo_reads_tables_and_examples(service: pyvo.dal.TAPService) -> None:
    tables = service.tables
    assert "ivoa.ObsCore" in list(tables.keys())
    assert "s_region" in [c.name for c in tables["ivoa.ObsCore"].columns]
    assert service.maxrec == 10_000
    queries = [e["QUERY"] for e in service.examples]
    assert len(queries) == len(EXAMPLES)
    for example in EXAMPLES:
        if "TAP_UPLOAD" in example.query:
            continue
        service.run_sync(example.query, maxrec=20)  # raises DALQueryError on failure


@needs_stilts
def test_stilts_tapquery_sync_and_async_with_binary2_upload(
    tap_url: str, tmp_path: Path, module_database: Database
) -> None:
    assert STILTS is not None
    upload = tmp_path / "positions.csv"
    with module_database.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT obs_id, s_ra, s_dec FROM ivoa.obscore WHERE s_ra IS NOT NULL LIMIT 3")
        ).all()
    upload.write_text("id,ra,dec\n" + "".join(f"{r[0]},{r[1]},{r[2]}\n" for r in rows))
    adql = (
        "SELECT t.id, o.obs_id FROM TAP_UPLOAD.t1 AS t JOIN ivoa.ObsCore AS o ON 1 = "
        "CONTAINS(POINT('ICRS', o.s_ra, o.s_dec), CIRCLE('ICRS', t.ra, t.dec, 0.0001))"
    )
    for sync in ("true", "false"):
        out = tmp_path / f"result-{sync}.csv"
        run = subprocess.run(
            [
                STILTS,
                "tapquery",
                f"tapurl={tap_url}",
                f"adql={adql}",
                f"sync={sync}",
                "nupload=1",
                f"upload1={upload}",
                "ufmt1=csv",
                "upname1=t1",
                "upvotformat=BINARY2",
                f"out={out}",
                "ofmt=csv",
                *(["delete=finished"] if sync == "false" else []),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        lines = out.read_text().splitlines()
        assert lines[0] == "id,obs_id"
        assert {tuple(line.split(",")) for line in lines[1:]} >= {(r[0], r[0]) for r in rows}
