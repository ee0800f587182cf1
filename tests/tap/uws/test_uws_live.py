"""/async over real HTTP (uvicorn) with real clients: pyvo, STILTS tapquery, and a server
restart between creating a job and reading its result."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import warnings

import httpx
import pytest
import requests

from catalog.db import Database
from tests.support.server import live_server
from tests.support.uws import (
    USER_HEADER,
    header_owner,
    make_app,
    make_service,
    valid_uws,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pyvo
    from pyvo.dal import DALQueryError


def test_pyvo_run_async_waits_fetches_and_deletes(database: Database) -> None:
    uws = make_service(database.engine)
    with live_server(make_app(uws), lifespan=True, mount="/tap") as base:
        svc = pyvo.dal.TAPService(base)
        result = svc.run_async("votable:25")
        assert len(result) == 25
        assert list(result.to_table()["n"]) == list(range(1, 26))
        # run_async deleted its job
        assert uws.store.statuses() == {}


def test_pyvo_job_lifecycle(database: Database) -> None:
    """With identities (a header here; credentials once users exist), pyvo lists its jobs."""
    with live_server(
        make_app(make_service(database.engine, owner_of=header_owner)), lifespan=True, mount="/tap"
    ) as base:
        session = requests.Session()
        session.headers[USER_HEADER] = "alice"
        svc = pyvo.dal.TAPService(base, session=session)
        job = svc.submit_job("votable:3", runid="mine")
        assert job.phase == "PENDING"
        job.execution_duration = 30
        assert job.execution_duration.sec == 30
        alice = {USER_HEADER: "alice"}
        assert httpx.get(f"{job.url}/executionduration", headers=alice).text == "30"
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        job.destruction = later
        stored = dt.datetime.fromisoformat(httpx.get(f"{job.url}/destruction", headers=alice).text)
        assert abs((stored - later).total_seconds()) < 1
        job.query = "votable:4"
        job.run()
        job.wait(timeout=60)
        assert job.phase == "COMPLETED"
        assert job.result_uri.endswith(f"/async/{job.job_id}/results/result")
        assert len(job.fetch_result()) == 4
        jobs = svc.get_job_list(phases=["COMPLETED"], last=10)
        assert [j.jobid for j in jobs] == [job.job_id]
        assert pyvo.dal.TAPService(base).get_job_list() == []  # anonymous callers own nothing
        assert svc.get_job(job.job_id).runid == "mine"
        url = job.url
        job.delete()
        assert httpx.get(url, headers=alice).status_code == 404
        assert svc.get_job_list() == []


def test_pyvo_sees_the_error_message_and_can_abort(database: Database) -> None:
    with live_server(make_app(make_service(database.engine)), lifespan=True, mount="/tap") as base:
        svc = pyvo.dal.TAPService(base)
        job = svc.submit_job("fail:Table nope does not exist; see /tables.")
        job.run().wait(timeout=60)
        assert job.phase == "ERROR"
        with pytest.raises(DALQueryError, match="Table nope does not exist"):
            job.raise_if_error()
        slow = svc.submit_job("sleep:120")
        slow.run()
        slow.abort()
        assert slow.phase == "ABORTED"


def test_jobs_and_results_survive_a_server_restart(database: Database) -> None:
    with live_server(make_app(make_service(database.engine)), lifespan=True, mount="/tap") as first:
        created = httpx.post(f"{first}/async", data={"QUERY": "rows:1000", "PHASE": "RUN"})
        job_url = created.headers["location"]
        pending_url = httpx.post(f"{first}/async", data={"QUERY": "rows:3"}).headers["location"]
        document = httpx.get(job_url, params={"WAIT": "-1"}).text
        while "<uws:phase>COMPLETED" not in document:
            document = httpx.get(job_url, params={"WAIT": "-1"}).text
        before = httpx.get(f"{job_url}/results/result").content
    # a new process (new service, new engine pool) on the same database
    with live_server(
        make_app(make_service(database.engine)), lifespan=True, mount="/tap"
    ) as second:
        assert second != first
        moved = job_url.replace(first, second)
        root = valid_uws(httpx.get(moved).content)
        assert root.find("{http://www.ivoa.net/xml/UWS/v1.0}phase").text == "COMPLETED"
        after = httpx.get(f"{moved}/results/result")
        assert after.status_code == 200 and after.content == before
        assert after.text.count("\n") == 1001
        pending = pending_url.replace(first, second)
        assert httpx.post(f"{pending}/phase", data={"PHASE": "RUN"}).status_code == 303
        phase = "QUEUED"
        while phase in ("QUEUED", "EXECUTING"):
            phase = httpx.get(f"{pending}/phase").text
            httpx.get(pending, params={"WAIT": "5"})
        assert phase == "COMPLETED"


@pytest.mark.skipif(shutil.which("stilts") is None, reason="needs STILTS (apt-get install stilts)")
def test_stilts_tapquery_async(database: Database) -> None:
    uws = make_service(database.engine)
    with live_server(make_app(uws), lifespan=True, mount="/tap") as base:
        out = subprocess.run(
            [
                "stilts",
                "tapquery",
                f"tapurl={base}",
                "adql=votable:7",
                "sync=false",
                "delete=always",
                "poll=200",
                "ofmt=csv",
                "out=-",
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["n", *[str(i) for i in range(1, 8)]]
        assert uws.store.statuses() == {}  # it deleted its job


@pytest.mark.skipif(shutil.which("stilts") is None, reason="needs STILTS (apt-get install stilts)")
def test_stilts_taplint_uws_stage_reports_no_errors_or_warnings(database: Database) -> None:
    """taplint's UWS stage (JobStage): create/abort/delete, create/DELETE, create/run; job
    documents against the UWS schema, text resources, phases, parameters, 303s and 404s.
    Its query (SELECT TOP 100 * FROM demo.numbers) is not one the test executor knows: the
    job is accepted and ends in ERROR, which taplint allows for a started job."""
    with live_server(make_app(make_service(database.engine)), lifespan=True, mount="/tap") as base:
        out = subprocess.run(
            [
                "stilts",
                "taplint",
                f"tapurl={base}",
                "stages=TME UWS",
                "interface=tap1.1",
                "report=EWIF",
                "maxrepeat=50",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    lines = out.stdout.splitlines()
    uws = [line for line in lines if line[2:5] == "UWS"]
    assert any(line.startswith("I-UWS-CJOB") for line in uws), out.stdout
    problems = [line for line in uws if line[:1] in "EWF"]
    assert problems == [], out.stdout
