"""/async requests that change jobs, the job list and its filters, deletion, owners, the
public base URL, inline uploads, and every request error (status and message)."""

from __future__ import annotations

import datetime as dt

import pytest
from starlette.testclient import TestClient

from catalog.db import Database
from tap.uws.jobs import utc_now
from tests.support.uws import (
    BASE,
    NS,
    USER_HEADER,
    create,
    header_owner,
    job_doc,
    make_app,
    make_service,
    phase,
    run,
    valid_uws,
    wait_until,
)


def params_of(client: TestClient, job_id: str) -> dict[str, str]:
    root = valid_uws(client.get(f"/tap/async/{job_id}/parameters").content)
    assert root.tag == "{http://www.ivoa.net/xml/UWS/v1.0}parameters"
    return {p.get("id"): p.text for p in root}


# -- parameters ---------------------------------------------------------------------------------


def test_posted_parameters_replace_and_uploads_accumulate(client: TestClient) -> None:
    job_id = create(client, QUERY="rows:1", RUNID="TAPLINT-001", UPLOAD="t1,param:t1")
    response = client.post(
        f"/tap/async/{job_id}/parameters",
        data={"runId": "TAPLINT-002", "query": "rows:2", "upload": "t2,http://example.org/t2.xml"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{BASE}/async/{job_id}"
    params = params_of(client, job_id)
    assert params["runid"] == "TAPLINT-002"
    assert params["query"] == "rows:2"
    assert params["upload"] == "t1,param:t1;t2,http://example.org/t2.xml"
    _, fields = job_doc(client, job_id)
    assert fields["runId"] == "TAPLINT-002"
    assert client.get(f"/tap/async/{job_id}/parameters/QUERY").text == "rows:2"


def test_parameters_cannot_change_once_the_job_ran(client: TestClient) -> None:
    job_id = create(client, QUERY="rows:1", PHASE="RUN")
    assert wait_until(client, job_id, {"COMPLETED"}) == "COMPLETED"
    response = client.post(f"/tap/async/{job_id}/parameters", data={"QUERY": "rows:2"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/plain")
    assert "COMPLETED" in response.text and "PENDING" in response.text
    assert params_of(client, job_id)["query"] == "rows:1"


def test_a_value_xml_cannot_carry_is_given_by_reference(client: TestClient) -> None:
    job_id = create(client, QUERY="rows:1", NOTE="bell\x07here")
    root = valid_uws(client.get(f"/tap/async/{job_id}").content)
    (note,) = [p for p in root.find("uws:parameters", NS) if p.get("id") == "note"]
    assert note.get("byReference") == "true"
    assert note.text == f"{BASE}/async/{job_id}/parameters/note"
    assert client.get(note.text).text == "bell\x07here"


def test_inline_uploads_are_stored_and_listed_by_reference(client: TestClient) -> None:
    table = b"<VOTABLE>" + b"x" * 3_000_000 + b"</VOTABLE>"
    response = client.post(
        "/tap/async",
        data={"QUERY": "rows:1", "UPLOAD": "t1,param:t1"},
        files={"t1": ("t1.xml", table, "application/x-votable+xml")},
    )
    assert response.status_code == 303
    job_id = response.headers["location"].rsplit("/", 1)[1]
    params = params_of(client, job_id)
    assert params["upload"] == "t1,param:t1"
    assert params["t1"] == f"{BASE}/async/{job_id}/parameters/t1"
    assert client.get(f"/tap/async/{job_id}/parameters/t1").content == table


def test_uploads_over_the_limit_are_refused_and_no_job_is_left(database: Database) -> None:
    from tap.uws import UwsLimits

    svc = make_service(database.engine, limits=UwsLimits(upload_limit=1000))
    with TestClient(make_app(svc), follow_redirects=False) as client:
        response = client.post(
            "/tap/async",
            data={"QUERY": "rows:1"},
            files={"t1": ("t1.xml", b"x" * 5000, "text/xml")},
        )
        assert response.status_code == 413
        assert "upload limit of 1000 bytes" in response.text
        assert svc.store.statuses() == {}


# -- execution duration, destruction ------------------------------------------------------------


def test_execution_duration_is_capped_at_the_hard_limit(client: TestClient) -> None:
    job_id = create(client, QUERY="rows:1")
    for asked, got in [("30", "30"), ("100000", "120"), ("0", "120")]:
        response = client.post(
            f"/tap/async/{job_id}/executionduration", data={"EXECUTIONDURATION": asked}
        )
        assert response.status_code == 303
        assert client.get(f"/tap/async/{job_id}/executionduration").text == got
        assert job_doc(client, job_id)[1]["executionDuration"] == got
    job_id = create(client, QUERY="rows:1", EXECUTIONDURATION="5000")
    assert job_doc(client, job_id)[1]["executionDuration"] == "120"


def test_execution_duration_cannot_change_once_running(client: TestClient) -> None:
    job_id = create(client, QUERY="rows:1", PHASE="RUN")
    assert wait_until(client, job_id, {"COMPLETED"}) == "COMPLETED"
    response = client.post(
        f"/tap/async/{job_id}/executionduration", data={"EXECUTIONDURATION": "10"}
    )
    assert response.status_code == 403
    assert "PENDING" in response.text


def test_destruction_is_set_and_capped(client: TestClient) -> None:
    job_id = create(client, QUERY="rows:1")
    wanted = (utc_now() + dt.timedelta(days=2)).replace(microsecond=0)
    response = client.post(
        f"/tap/async/{job_id}/destruction",
        data={"DESTRUCTION": wanted.strftime("%Y-%m-%dT%H:%M:%SZ")},
    )
    assert response.status_code == 303
    text = client.get(f"/tap/async/{job_id}/destruction").text
    assert dt.datetime.fromisoformat(text) == wanted
    assert job_doc(client, job_id)[1]["destruction"] == text
    far = "2999-01-01T00:00:00"  # no zone: UTC
    assert (
        client.post(f"/tap/async/{job_id}/destruction", data={"destruction": far}).status_code
        == 303
    )
    capped = dt.datetime.fromisoformat(client.get(f"/tap/async/{job_id}/destruction").text)
    assert capped - utc_now() <= dt.timedelta(days=30)
    assert capped - utc_now() > dt.timedelta(days=29)


# -- deletion -----------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["DELETE", "ACTION=DELETE"])
def test_delete_redirects_to_the_list_then_the_job_is_gone(client: TestClient, how: str) -> None:
    job_id = create(client, QUERY="rows:1", PHASE="RUN")
    assert wait_until(client, job_id, {"COMPLETED"}) == "COMPLETED"
    if how == "DELETE":
        response = client.delete(f"/tap/async/{job_id}")
    else:
        response = client.post(f"/tap/async/{job_id}", data={"action": "DELETE"})
    assert response.status_code == 303
    assert response.headers["location"] == f"{BASE}/async"
    for path in ("", "/phase", "/results/result", "/parameters", "/error", "/quote"):
        gone = client.get(f"/tap/async/{job_id}{path}")
        assert gone.status_code == 404
        assert gone.headers["content-type"].startswith("text/plain")
    assert "deleted" in client.get(f"/tap/async/{job_id}").text
    assert client.delete(f"/tap/async/{job_id}").status_code == 404


def test_a_post_of_parameters_to_the_job_url_is_refused(client: TestClient) -> None:
    job_id = create(client, QUERY="rows:1")
    response = client.post(f"/tap/async/{job_id}", data={"QUERY": "rows:5"})
    assert response.status_code == 400
    assert "…/parameters" in response.text
    assert params_of(client, job_id)["query"] == "rows:1"


# -- the job list -------------------------------------------------------------------------------


def test_job_list_filters(database: Database) -> None:
    svc = make_service(database.engine, owner_of=header_owner)
    alice = {USER_HEADER: "alice"}
    with TestClient(make_app(svc), follow_redirects=False, headers=alice) as client:
        check_job_list_filters(client)


def check_job_list_filters(client: TestClient) -> None:
    first = create(client, QUERY="rows:1", RUNID="first")
    second = create(client, QUERY="rows:1")
    third = create(client, QUERY="rows:1", PHASE="RUN")
    assert wait_until(client, third, {"COMPLETED"}) == "COMPLETED"
    bobs = client.post("/tap/async", data={"QUERY": "rows:1"}, headers={USER_HEADER: "bob"})
    assert bobs.status_code == 303

    def listed(**query: str | list[str]) -> list[str]:
        response = client.get("/tap/async", params=query)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/xml")
        root = valid_uws(response.content)
        assert root.get("version") == "1.1"
        for ref in root:
            href = ref.get("{http://www.w3.org/1999/xlink}href")
            assert href == f"{BASE}/async/{ref.get('id')}"
            assert ref.find("uws:phase", NS).text
            assert ref.find("uws:creationTime", NS).text.endswith("Z")
        return [ref.get("id") for ref in root]

    assert listed() == [third, second, first]
    assert listed(PHASE="PENDING") == [second, first]
    assert listed(phase=["PENDING", "COMPLETED"]) == [third, second, first]
    assert listed(LAST="1") == [third]
    assert listed(LAST="2", PHASE="PENDING") == [second, first]
    _, fields = job_doc(client, first)
    assert listed(AFTER=fields["creationTime"]) == [third, second]
    root = valid_uws(client.get("/tap/async").content)
    (ref,) = [r for r in root if r.get("id") == first]
    assert ref.find("uws:runId", NS).text == "first"


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"PHASE": "FINISHED"}, "not a UWS phase"),
        ({"AFTER": "yesterday"}, "ISO 8601"),
        ({"LAST": "0"}, "at least 1"),
        ({"LAST": "ten"}, "not an integer"),
    ],
)
def test_bad_job_list_filters_are_400(client: TestClient, query: dict[str, str], says: str) -> None:
    response = client.get("/tap/async", params=query)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert says in response.text


@pytest.mark.parametrize(
    ("path", "data", "says"),
    [
        ("/phase", {"PHASE": "SUSPEND"}, "PHASE=RUN"),
        ("/phase", {}, "PHASE=RUN"),
        ("/executionduration", {"EXECUTIONDURATION": "soon"}, "not an integer"),
        ("/executionduration", {"EXECUTIONDURATION": "-3"}, "at least 0"),
        ("/executionduration", {}, "EXECUTIONDURATION=<seconds>"),
        ("/destruction", {"DESTRUCTION": "next week"}, "ISO 8601"),
        ("/destruction", {}, "DESTRUCTION=<ISO 8601"),
    ],
)
def test_bad_values_are_400_with_what_to_send(
    client: TestClient, path: str, data: dict[str, str], says: str
) -> None:
    job_id = create(client, QUERY="rows:1")
    response = client.post(f"/tap/async/{job_id}{path}", data=data)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert says in response.text
    assert phase(client, job_id) == "PENDING"


def test_bad_create_and_wait_requests_are_400(client: TestClient) -> None:
    response = client.post("/tap/async", data={"QUERY": "rows:1", "PHASE": "ABORT"})
    assert response.status_code == 400 and "PHASE=RUN" in response.text
    response = client.post("/tap/async", data={"QUERY": "rows:1", "EXECUTIONDURATION": "x"})
    assert response.status_code == 400
    response = client.post(
        "/tap/async", content=b"{}", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and "form-urlencoded" in response.text
    job_id = create(client, QUERY="rows:1")
    assert client.get(f"/tap/async/{job_id}", params={"WAIT": "-2"}).status_code == 400
    assert client.get(f"/tap/async/{job_id}", params={"WAIT": "x"}).status_code == 400
    response = client.get(f"/tap/async/{job_id}", params={"WAIT": "1", "PHASE": "RUNNING"})
    assert response.status_code == 400
    assert client.get("/tap/async/no-such-job").status_code == 404
    assert client.put(f"/tap/async/{job_id}").status_code == 405


# -- the public URL ----------------------------------------------------------------------------


def test_the_public_base_url_is_used_in_links(database: Database) -> None:
    svc = make_service(database.engine, base_url="https://vo.example.org/hlsp/tap/")
    with TestClient(make_app(svc), follow_redirects=False) as client:
        response = client.post("/tap/async", data={"QUERY": "rows:1", "PHASE": "RUN"})
        location = response.headers["location"]
        assert location.startswith("https://vo.example.org/hlsp/tap/async/")
        job_id = location.rsplit("/", 1)[1]
        assert wait_until(client, job_id, {"COMPLETED"}) == "COMPLETED"
        document = client.get(f"/tap/async/{job_id}").text
        assert f'"https://vo.example.org/hlsp/tap/async/{job_id}/results/result"' in document
        deleted = client.delete(f"/tap/async/{job_id}")
        assert deleted.headers["location"] == "https://vo.example.org/hlsp/tap/async"


def test_run_twice_runs_once(client: TestClient) -> None:
    job_id = create(client, QUERY="rows:3")
    run(client, job_id)
    run(client, job_id)
    assert wait_until(client, job_id, {"COMPLETED"}) == "COMPLETED"
    assert client.get(f"/tap/async/{job_id}/results/result").text.count("\n") == 4
