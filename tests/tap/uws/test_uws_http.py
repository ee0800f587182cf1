"""The /async protocol (UWS 1.1) through Starlette's test client, with real workers, a real
executor and the real database: lifecycle, documents, parameters, errors and statuses."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from catalog.db import Database
from tap.uws import UwsService
from tests.support.uws import (
    BASE,
    NS,
    active_sleeps,
    create,
    job_doc,
    make_app,
    make_service,
    phase,
    poll_until,
    run,
    valid_uws,
    wait_no_sleeps,
    wait_until,
)

# -- creating and reading a job -----------------------------------------------------------------


def test_create_gives_a_pending_job_with_every_element(client: TestClient) -> None:
    response = client.post(
        "/tap/async", data={"LANG": "ADQL", "QUERY": "rows:3", "RUNID": "TAPLINT-001"}
    )
    assert response.status_code == 303
    job_id = response.headers["location"].rsplit("/", 1)[1]
    response, fields = job_doc(client, job_id)
    root = valid_uws(response.content)
    assert root.get("version") == "1.1"
    assert [el.tag.split("}")[1] for el in root] == [
        "jobId",
        "runId",
        "ownerId",
        "phase",
        "quote",
        "creationTime",
        "startTime",
        "endTime",
        "executionDuration",
        "destruction",
        "parameters",
        "results",
    ]
    assert fields["jobId"] == job_id
    assert fields["runId"] == "TAPLINT-001"
    assert fields["phase"] == "PENDING"
    assert fields["executionDuration"] == "60"
    nil = "{http://www.w3.org/2001/XMLSchema-instance}nil"
    assert root.find("uws:ownerId", NS).get(nil) == "true"
    assert root.find("uws:startTime", NS).get(nil) == "true"
    assert root.find("uws:quote", NS).get(nil) == "true"
    params = {p.get("id"): p.text for p in root.find("uws:parameters", NS)}
    assert params == {"lang": "ADQL", "query": "rows:3", "runid": "TAPLINT-001"}
    assert len(root.find("uws:results", NS)) == 0
    created = dt.datetime.fromisoformat(fields["creationTime"])
    destruction = dt.datetime.fromisoformat(fields["destruction"])
    assert destruction - created == pytest.approx(dt.timedelta(days=7), abs=dt.timedelta(seconds=5))


def test_parameter_names_are_case_insensitive_and_unknown_ones_kept(client: TestClient) -> None:
    job_id = create(client, Query="rows:1", REQUEST="doQuery", dummy="ignore-me", RunId="x")
    root = valid_uws(client.get(f"/tap/async/{job_id}").content)
    params = {p.get("id"): p.text for p in root.find("uws:parameters", NS)}
    assert params == {"query": "rows:1", "request": "doQuery", "dummy": "ignore-me", "runid": "x"}
    run(client, job_id)
    assert wait_until(client, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED"


def test_text_resources_match_the_job_document(client: TestClient) -> None:
    job_id = create(client, QUERY="rows:1")
    _, fields = job_doc(client, job_id)
    for path, element in [
        ("phase", "phase"),
        ("executionduration", "executionDuration"),
        ("destruction", "destruction"),
    ]:
        response = client.get(f"/tap/async/{job_id}/{path}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text == fields[element]
    assert fields["destruction"].endswith("Z") and "T" in fields["destruction"]
    for path in ("quote", "owner"):
        response = client.get(f"/tap/async/{job_id}/{path}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text == ""


# -- running ------------------------------------------------------------------------------------


def test_run_completes_and_the_result_is_served(client: TestClient) -> None:
    job_id = create(client, QUERY="rows:10")
    run(client, job_id)
    assert wait_until(client, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED"
    response, _ = job_doc(client, job_id)
    root = valid_uws(response.content)
    assert root.find("uws:startTime", NS).text <= root.find("uws:endTime", NS).text
    (result,) = root.find("uws:results", NS)
    href = result.get("{http://www.w3.org/1999/xlink}href")
    assert href == f"{BASE}/async/{job_id}/results/result"
    assert result.get("mime-type") == "text/csv"
    data = client.get(href)
    assert data.status_code == 200
    assert data.headers["content-type"].startswith("text/csv")
    assert data.text.splitlines() == ["n,label"] + [f"{i},row {i}" for i in range(1, 11)]
    assert int(result.get("size")) == len(data.content) == int(data.headers["content-length"])
    results = client.get(f"/tap/async/{job_id}/results")
    assert valid_uws(results.content).find("uws:result", NS).get("id") == "result"
    assert client.get(f"/tap/async/{job_id}/results/other").status_code == 404
    assert client.get(f"/tap/async/{job_id}/error").status_code == 404


def test_phase_run_in_the_create_request_starts_the_job(client: TestClient) -> None:
    job_id = create(client, QUERY="rows:2", PHASE="RUN")
    assert phase(client, job_id) in {"QUEUED", "EXECUTING", "COMPLETED"}
    assert wait_until(client, job_id, {"COMPLETED"}) == "COMPLETED"


def test_a_large_result_is_stored_in_chunks_and_streamed(
    client: TestClient, svc: UwsService
) -> None:
    n = 150_000
    job_id = create(client, QUERY=f"rows:{n}", PHASE="RUN")
    assert wait_until(client, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED"
    with svc.store.engine.connect() as conn:
        chunks = conn.execute(
            sa.text("SELECT count(*), max(length(data)) FROM tap_uws.blob WHERE job_id = :id"),
            {"id": job_id},
        ).one()
    assert chunks[0] > 1 and chunks[1] == svc.store.chunk_size
    with client.stream("GET", f"/tap/async/{job_id}/results/result") as response:
        lines = 0
        tail = b""
        for part in response.iter_bytes():
            lines += part.count(b"\n")
            tail = (tail + part)[-40:]
    assert lines == n + 1
    assert tail.endswith(f"{n},row {n}\n".encode())


def test_a_user_error_ends_in_error_with_its_message(client: TestClient) -> None:
    job_id = create(client, QUERY="fail:Column foo is not in table bar; see /tables.")
    run(client, job_id)
    assert wait_until(client, job_id, {"COMPLETED", "ERROR"}) == "ERROR"
    response, _ = job_doc(client, job_id)
    summary = valid_uws(response.content).find("uws:errorSummary", NS)
    assert summary.get("type") == "fatal" and summary.get("hasDetail") == "true"
    assert summary.find("uws:message", NS).text == "Column foo is not in table bar; see /tables."
    error = client.get(f"/tap/async/{job_id}/error")
    assert error.status_code == 200
    assert error.headers["content-type"].startswith("application/x-votable+xml")
    assert b'name="QUERY_STATUS" value="ERROR">Column foo is not in table bar' in error.content
    assert client.get(f"/tap/async/{job_id}/results/result").status_code == 404


def test_an_unexpected_failure_gives_a_generic_message(client: TestClient) -> None:
    job_id = create(client, QUERY="crash", PHASE="RUN")
    assert wait_until(client, job_id, {"ERROR", "COMPLETED"}) == "ERROR"
    _, fields = job_doc(client, job_id)
    assert (
        "internal error" in fields["errorSummary"]
        or "internal error" in client.get(f"/tap/async/{job_id}/error").text
    )
    document = client.get(f"/tap/async/{job_id}").text
    assert "internal error" in document and "bug" not in document and "Traceback" not in document


def test_a_database_error_becomes_the_job_error(client: TestClient) -> None:
    job_id = create(client, QUERY="sql:SELECT no_such_column FROM pg_class", PHASE="RUN")
    assert wait_until(client, job_id, {"ERROR", "COMPLETED"}) == "ERROR"
    assert "no_such_column" in client.get(f"/tap/async/{job_id}").text


def test_the_execution_duration_is_the_statement_timeout(client: TestClient) -> None:
    job_id = create(client, QUERY="sql:SELECT current_setting('statement_timeout')", PHASE="RUN")
    assert wait_until(client, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED"
    setting = client.get(f"/tap/async/{job_id}/results/result").text.strip()
    assert setting.endswith(("ms", "s"))
    seconds = float(setting.rstrip("ms")) / (1000 if setting.endswith("ms") else 1)
    assert 0 < seconds <= 60


def test_exceeding_the_execution_duration_is_an_error_naming_the_limit(
    client: TestClient, svc: UwsService
) -> None:
    job_id = create(client, QUERY="sleep:60", EXECUTIONDURATION="1", PHASE="RUN")
    assert wait_until(client, job_id, {"ERROR", "COMPLETED"}) == "ERROR"
    message = (
        valid_uws(client.get(f"/tap/async/{job_id}").content)
        .find("uws:errorSummary/uws:message", NS)
        .text
    )
    assert "time limit" in message and "1 s" in message and "EXECUTIONDURATION" in message
    assert wait_no_sleeps(svc.store.engine) == 0


def test_abort_cancels_the_running_statement(client: TestClient, svc: UwsService) -> None:
    job_id = create(client, QUERY="sleep:120", PHASE="RUN")
    assert poll_until(client, job_id, {"EXECUTING"}) == "EXECUTING"
    deadline = time.monotonic() + 20
    while active_sleeps(svc.store.engine) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert active_sleeps(svc.store.engine) == 1
    response = client.post(f"/tap/async/{job_id}/phase", data={"phase": "ABORT"})
    assert response.status_code == 303
    assert phase(client, job_id) == "ABORTED"
    assert wait_no_sleeps(svc.store.engine) == 0
    _, fields = job_doc(client, job_id)
    assert fields["phase"] == "ABORTED" and fields["endTime"]
    assert client.get(f"/tap/async/{job_id}/results/result").status_code == 404


def test_abort_of_a_pending_job_and_run_after_abort(client: TestClient) -> None:
    job_id = create(client, QUERY="rows:1")
    assert client.post(f"/tap/async/{job_id}/phase", data={"PHASE": "ABORT"}).status_code == 303
    assert phase(client, job_id) == "ABORTED"
    run(client, job_id)  # RUN on a finished job changes nothing
    assert phase(client, job_id) == "ABORTED"


# -- WAIT ---------------------------------------------------------------------------------------


def test_wait_returns_when_the_job_finishes_during_the_wait(client: TestClient) -> None:
    job_id = create(client, QUERY="sleep:2", PHASE="RUN")
    assert poll_until(client, job_id, {"EXECUTING", "COMPLETED"}) == "EXECUTING"
    _, fields = job_doc(client, job_id, WAIT="-1")
    assert fields["phase"] == "COMPLETED"


def test_wait_on_a_pending_job_returns_it_unchanged_after_the_wait(client: TestClient) -> None:
    job_id = create(client, QUERY="rows:1")
    _, fields = job_doc(client, job_id, WAIT="1")
    assert fields["phase"] == "PENDING"
    # PHASE names the phase the client expects; a different current phase returns at once
    _, fields = job_doc(client, job_id, WAIT="30", PHASE="EXECUTING")
    assert fields["phase"] == "PENDING"


def test_wait_sees_a_change_made_through_another_service_instance(
    client: TestClient, database: Database
) -> None:
    other = make_service(database.engine, workers=0)
    job_id = create(client, QUERY="rows:1")
    with TestClient(make_app(other), follow_redirects=False) as second:
        import threading

        timer = threading.Timer(
            1.0, lambda: second.post(f"/tap/async/{job_id}/phase", data={"PHASE": "ABORT"})
        )
        timer.start()
        _, fields = job_doc(client, job_id, WAIT="-1")
        timer.join()
    assert fields["phase"] == "ABORTED"


def test_wait_on_a_finished_job_returns_at_once(client: TestClient) -> None:
    job_id = create(client, QUERY="rows:1", PHASE="RUN")
    assert wait_until(client, job_id, {"COMPLETED"}) == "COMPLETED"
    _, fields = job_doc(client, job_id, WAIT="-1")
    assert fields["phase"] == "COMPLETED"
