"""Who may see and change a job: anonymous jobs are listed to nobody and reached only by the
URL their creator was given; a caller with an identity sees and changes its own jobs only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from catalog.db import Database
from tap.uws.jobs import utc_now
from tap.uws.notify import libpq_url
from tap.uws.store import CHANNEL, is_job_id, new_job_id
from tests.support.server import live_server
from tests.support.uws import (
    BASE,
    NS,
    USER_HEADER,
    create,
    header_owner,
    job_doc,
    make_app,
    make_service,
    valid_uws,
    wait_until,
)

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


def test_a_stranger_can_neither_find_nor_take_over_an_anonymous_job(database: Database) -> None:
    with (
        live_server(make_app(make_service(database.engine)), lifespan=True, mount="/tap") as base,
        httpx.Client() as victim,
        httpx.Client() as stranger,
    ):
        created = victim.post(f"{base}/async", data={"QUERY": "rows:2", "RUNID": "mine"})
        assert created.status_code == 303
        job_url = created.headers["location"]
        job_id = job_url.rsplit("/", 1)[1]
        # The stranger does what it can from the service's own documents: list the jobs
        # (every filter too) and take over what the list shows.
        soon = (utc_now() + dt.timedelta(seconds=2)).isoformat()
        found = []
        for query in ({}, {"PHASE": "PENDING"}, {"LAST": "100"}, {"AFTER": "2000-01-01"}):
            listing = stranger.get(f"{base}/async", params=query)
            assert listing.status_code == 200
            assert job_id not in listing.text
            for ref in valid_uws(listing.content):
                found.append(ref.get(XLINK_HREF))
        for href in found:
            stranger.post(f"{href}/parameters", data={"QUERY": "rows:1000"})
            stranger.post(f"{href}/destruction", data={"DESTRUCTION": soon})
            stranger.post(f"{href}/phase", data={"PHASE": "ABORT"})
        assert found == []
        # The job is as its creator left it, and runs the creator's query.
        root = valid_uws(victim.get(job_url).content)
        assert root.find("uws:phase", NS).text == "PENDING"
        params = {p.get("id"): p.text for p in root.find("uws:parameters", NS)}
        assert params == {"query": "rows:2", "runid": "mine"}
        assert victim.post(f"{job_url}/phase", data={"PHASE": "RUN"}).status_code == 303
        document = ""
        while "<uws:phase>COMPLETED" not in document and "<uws:phase>ERROR" not in document:
            document = victim.get(job_url, params={"WAIT": "30"}).text
        assert victim.get(f"{job_url}/results/result").text == "n,label\n1,row 1\n2,row 2\n"


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    svc = make_service(database.engine, owner_of=header_owner)
    with TestClient(make_app(svc), follow_redirects=False) as c:
        yield c


def as_user(user: str) -> dict[str, str]:
    return {USER_HEADER: user}


def listed(client: TestClient, user: str | None, **query: str) -> list[str]:
    response = client.get("/tap/async", params=query, headers=as_user(user) if user else {})
    assert response.status_code == 200
    return [ref.get("id") for ref in valid_uws(response.content)]


# Every request a caller can make of one job: (method, path below the job URL, form data).
JOB_REQUESTS = [
    ("GET", "", {}),
    ("GET", "?WAIT=1", {}),
    ("POST", "", {"ACTION": "DELETE"}),
    ("DELETE", "", {}),
    ("GET", "/phase", {}),
    ("POST", "/phase", {"PHASE": "RUN"}),
    ("POST", "/phase", {"PHASE": "ABORT"}),
    ("GET", "/executionduration", {}),
    ("POST", "/executionduration", {"EXECUTIONDURATION": "5"}),
    ("GET", "/destruction", {}),
    ("POST", "/destruction", {"DESTRUCTION": "2099-01-01T00:00:00Z"}),
    ("GET", "/quote", {}),
    ("GET", "/owner", {}),
    ("GET", "/parameters", {}),
    ("POST", "/parameters", {"QUERY": "rows:1000"}),
    ("GET", "/parameters/query", {}),
    ("GET", "/results", {}),
    ("GET", "/results/result", {}),
    ("GET", "/error", {}),
]


@pytest.mark.parametrize("stranger", [None, "bob"])
def test_someone_elses_job_answers_403_to_every_request(
    client: TestClient, stranger: str | None
) -> None:
    made = client.post(
        "/tap/async", data={"QUERY": "rows:1", "RUNID": "r"}, headers=as_user("alice")
    )
    job_id = made.headers["location"].rsplit("/", 1)[1]
    headers = as_user(stranger) if stranger else {}
    for method, path, data in JOB_REQUESTS:
        response = client.request(
            method, f"/tap/async/{job_id}{path}", data=data or None, headers=headers
        )
        assert response.status_code == 403, (method, path, response.text)
        assert "belongs to another user" in response.text
        assert response.headers["content-type"].startswith("text/plain")
    # nothing changed, and the owner still has it all
    alice = as_user("alice")
    response = client.get(f"/tap/async/{job_id}", headers=alice)
    fields = {el.tag.split("}")[1]: (el.text or "") for el in valid_uws(response.content)}
    assert (fields["phase"], fields["ownerId"], fields["executionDuration"]) == (
        "PENDING",
        "alice",
        "60",
    )
    assert client.get(f"/tap/async/{job_id}/parameters/query", headers=alice).text == "rows:1"
    assert listed(client, "alice") == [job_id]


def test_callers_list_their_own_jobs_and_reach_anonymous_ones_by_url(client: TestClient) -> None:
    alice, bob = as_user("alice"), as_user("bob")
    mine = client.post("/tap/async", data={"QUERY": "rows:1"}, headers=alice)
    mine_id = mine.headers["location"].rsplit("/", 1)[1]
    bobs = client.post("/tap/async", data={"QUERY": "rows:1"}, headers=bob)
    bobs_id = bobs.headers["location"].rsplit("/", 1)[1]
    anon_id = create(client, QUERY="rows:1")
    assert client.get(f"/tap/async/{mine_id}/owner", headers=alice).text == "alice"
    assert job_doc(client, anon_id)[1]["ownerId"] == ""
    # lists: one's own jobs only; anonymous jobs are nobody's list, not even an anonymous one
    assert listed(client, "alice") == [mine_id]
    assert listed(client, "bob") == [bobs_id]
    assert listed(client, None) == []
    assert listed(client, None, PHASE="PENDING") == []
    root = valid_uws(client.get("/tap/async", headers=alice).content)
    assert root[0].find("uws:ownerId", NS).text == "alice"
    assert root[0].get(XLINK_HREF) == f"{BASE}/async/{mine_id}"
    # an anonymous job is reachable, by its URL, by anyone who holds it
    for headers in (alice, bob, {}):
        assert client.get(f"/tap/async/{anon_id}", headers=headers).status_code == 200
    assert (
        client.post(
            f"/tap/async/{anon_id}/parameters", data={"QUERY": "rows:2"}, headers=bob
        ).status_code
        == 303
    )
    assert client.get(f"/tap/async/{anon_id}/parameters/query").text == "rows:2"
    # the owner can run, wait for and delete its job
    assert (
        client.post(f"/tap/async/{mine_id}/phase", data={"PHASE": "RUN"}, headers=alice).status_code
        == 303
    )
    deadline = dt.datetime.now() + dt.timedelta(seconds=60)
    while (phase := client.get(f"/tap/async/{mine_id}/phase", headers=alice).text) not in (
        "COMPLETED",
        "ERROR",
    ) and dt.datetime.now() < deadline:
        client.get(f"/tap/async/{mine_id}", params={"WAIT": "5"}, headers=alice)
    assert phase == "COMPLETED"
    assert client.delete(f"/tap/async/{mine_id}", headers=alice).status_code == 303
    assert client.get(f"/tap/async/{mine_id}", headers=alice).status_code == 404
    assert listed(client, "alice") == []


def test_job_ids_are_random_and_unrelated() -> None:
    ids = [new_job_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(is_job_id(i) for i in ids)
    # 144 random bits: no common prefix, every position takes many values
    assert len({i[:4] for i in ids}) > 1900
    assert all(len({i[k] for i in ids}) > 50 for k in range(23))


BAD_IDS = [
    "%00",
    "a%00b",
    "x" * 23,
    "x" * 25,
    "x" * 5000,
    "abc",
    "%C3%BC" * 24,
    "a.b.c",
    "%20" * 24,
    "%E2%80%AE" + "a" * 23,
]


def test_malformed_job_ids_are_404_without_a_database_look_up(database: Database) -> None:
    statements: list[str] = []

    def record(
        conn: object,
        cursor: object,
        statement: str,
        parameters: object,
        context: object,
        executemany: bool,
    ) -> None:
        if "tap_uws.job WHERE job_id" in statement:
            statements.append(statement)

    svc = make_service(database.engine)
    with TestClient(make_app(svc), follow_redirects=False) as client:
        sa.event.listen(database.engine, "before_cursor_execute", record)
        try:
            for bad in BAD_IDS:
                for method, path, data in JOB_REQUESTS:
                    response = client.request(method, f"/tap/async/{bad}{path}", data=data or None)
                    assert response.status_code == 404, (bad, method, path, response.text)
                    assert response.headers["content-type"].startswith("text/plain")
                    assert len(response.text) < 400
        finally:
            sa.event.remove(database.engine, "before_cursor_execute", record)
        assert statements == []
        # a well-formed id that was never made is 404 too, after a look-up
        for method, path, data in JOB_REQUESTS:
            response = client.request(method, f"/tap/async/{new_job_id()}{path}", data=data or None)
            assert response.status_code == 404, (method, path, response.text)
            assert "There is no job" in response.text


def test_phase_notifications_carry_no_job_id(database: Database) -> None:
    """PostgreSQL lets any session of the database LISTEN on any channel (the query login's
    too): what the job store NOTIFYs must not give a job's URL away."""
    svc = make_service(database.engine)
    with (
        psycopg.connect(libpq_url(database.engine), autocommit=True) as listener,
        TestClient(make_app(svc), follow_redirects=False) as client,
    ):
        listener.execute(f"LISTEN {CHANNEL}")
        job_id = create(client, QUERY="rows:1", PHASE="RUN")
        assert wait_until(client, job_id, {"COMPLETED"}) == "COMPLETED"
        assert client.delete(f"/tap/async/{job_id}").status_code == 303
        heard = [note.payload for note in listener.notifies(timeout=2)]
    assert len(heard) >= 4, heard  # PENDING, QUEUED, EXECUTING, COMPLETED, DELETED
    assert not [payload for payload in heard if job_id in payload]
