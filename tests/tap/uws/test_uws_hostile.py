"""Hostile requests to /async: each is the client's mistake and gets a 4xx that says what to
change, never a 500. NUL characters and unpaired surrogates (which PostgreSQL refuses in
text and jsonb), unparseable or oversized bodies, numbers and dates out of range, and
a hypothesis run over every endpoint."""

from __future__ import annotations

import string
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from catalog.db import Database
from tap.uws import UwsLimits, UwsService
from tests.support.uws import create, job_doc, make_service, phase

LIMITS = UwsLimits(
    default_execution_duration=60,
    max_execution_duration=0,
    max_wait=1,
    upload_limit=10_000,
    parameter_limit=2_000,
)


@pytest.fixture
def svc(database: Database) -> UwsService:
    return make_service(database.engine, limits=LIMITS)


def refused(response: object, status: int, *says: str) -> None:
    assert getattr(response, "status_code", None) == status, getattr(response, "text", None)
    text = getattr(response, "text", "")
    for words in says:
        assert words in text, text
    assert getattr(response, "headers", {})["content-type"].startswith("text/plain")


# -- text PostgreSQL cannot store ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("QUERY=rows:1&RUNID=a%00b", "parameter 'RUNID'"),
        ("QUERY=rows%3A1%00", "parameter 'QUERY'"),
        ("QUERY=rows:1&x%00y=1", "parameter name 'x\\x00y'"),
        ("QUERY=rows:1&%00=", "parameter name '\\x00'"),
    ],
)
def test_a_nul_in_a_parameter_is_400_naming_it(client: TestClient, body: str, says: str) -> None:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    refused(client.post("/tap/async", content=body, headers=headers), 400, says, "NUL")
    refused(client.post(f"/tap/async?{body}"), 400, says)
    job_id = create(client, QUERY="rows:1")
    refused(
        client.post(f"/tap/async/{job_id}/parameters", content=body, headers=headers), 400, says
    )
    assert client.get(f"/tap/async/{job_id}/parameters/query").text == "rows:1"
    refused(
        client.post(f"/tap/async/{job_id}/phase", content="PHASE=RUN%00", headers=headers),
        400,
        "PHASE",
    )
    assert phase(client, job_id) == "PENDING"
    assert client.get("/tap/async", params={"PHASE": "PENDING\x00"}).status_code == 400


def test_a_multipart_part_that_decodes_to_a_lone_surrogate_is_400(client: TestClient) -> None:
    boundary = "XyZ"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="QUERY"\r\n\r\nrows:1\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="_charset_"\r\n\r\nutf-16-le\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="RUNID"\r\n\r\n'
        ).encode()
        + b"\x00\xd8"
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"content-type": f"multipart/form-data; boundary={boundary}; charset=utf-16-le"}
    response = client.post("/tap/async", content=body, headers=headers)
    assert response.status_code in (303, 400), response.text
    if response.status_code == 400:
        assert "surrogate" in response.text


def test_an_uploaded_file_named_with_a_nul_is_400(client: TestClient, svc: UwsService) -> None:
    body = (
        b'--b0und\r\nContent-Disposition: form-data; name="QUERY"\r\n\r\nrows:1\r\n'
        b'--b0und\r\nContent-Disposition: form-data; name="t\x001"; filename="t.xml"\r\n'
        b"Content-Type: text/xml\r\n\r\n<x/>\r\n--b0und--\r\n"
    )
    headers = {"content-type": "multipart/form-data; boundary=b0und"}
    refused(client.post("/tap/async", content=body, headers=headers), 400, "parameter name")
    assert svc.store.statuses() == {}


# -- bodies that are not forms, or too large ----------------------------------------------------


def multipart(fields: list[tuple[str, str]], files: int = 0, boundary: str = "b0und") -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'
        for n, v in fields
    ]
    parts += [
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"; filename="f{i}"'
        f"\r\nContent-Type: text/xml\r\n\r\n<x/>\r\n"
        for i in range(files)
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode()


@pytest.mark.parametrize(
    ("body", "ctype", "status", "says"),
    [
        (
            "&".join(f"p{i}=1" for i in range(1001)),
            "application/x-www-form-urlencoded",
            400,
            "Too many fields",
        ),
        (
            multipart([(f"p{i}", "1") for i in range(1001)]),
            "multipart/form-data; boundary=b0und",
            400,
            "Too many fields",
        ),
        (
            multipart([("QUERY", "rows:1")], files=101),
            "multipart/form-data; boundary=b0und",
            400,
            "Too many files",
        ),
        (multipart([("QUERY", "rows:1")]), "multipart/form-data", 400, "boundary"),
        (b"--b0und\r\nnonsense\r\n\r\n", "multipart/form-data; boundary=b0und", 400, "form"),
        (
            multipart([("QUERY", "x" * 3000)]),
            "multipart/form-data; boundary=b0und",
            413,
            "parameter limit of 2,000 bytes",
        ),
        (
            "QUERY=" + "x" * 3000,
            "application/x-www-form-urlencoded",
            413,
            "parameter limit of 2,000 bytes",
        ),
        (
            "QUERY=" + "x" * 1_000_000,
            "application/x-www-form-urlencoded",
            413,
            "parameter limit of 2,000 bytes",
        ),
        (b"\x00\xff\xfe" * 10, "application/json", 400, "form-urlencoded"),
        ("QUERY=rows:1", "application/x-www-form-urlencoded; charset=utf-16", 303, ""),
    ],
)
def test_bodies_that_cannot_be_read_are_4xx(
    client: TestClient, svc: UwsService, body: str | bytes, ctype: str, status: int, says: str
) -> None:
    response = client.post("/tap/async", content=body, headers={"content-type": ctype})
    if status == 303:
        assert response.status_code == 303
        return
    refused(response, status, says)
    assert svc.store.statuses() == {}
    job_id = create(client, QUERY="rows:1")
    response = client.post(
        f"/tap/async/{job_id}/parameters", content=body, headers={"content-type": ctype}
    )
    refused(response, status, says)
    assert client.get(f"/tap/async/{job_id}/parameters/query").text == "rows:1"


def test_a_body_without_a_length_stops_at_the_limit(client: TestClient, svc: UwsService) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"QUERY=rows:1&RUNID="
        for _ in range(200):
            yield b"x" * 10_000

    response = client.post(
        "/tap/async",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    refused(response, 413, "larger than")
    assert svc.store.statuses() == {}


def test_parameters_that_grow_past_the_limit_are_413_and_unchanged(client: TestClient) -> None:
    job_id = create(client, QUERY="rows:1", UPLOAD="t0,http://example.org/" + "x" * 800)
    url = f"/tap/async/{job_id}/parameters"
    response = client.post(url, data={"UPLOAD": "t1,http://example.org/" + "y" * 800})
    assert response.status_code == 303  # UPLOAD accumulates: 1,600-odd bytes now
    refused(
        client.post(url, data={"UPLOAD": "t2,http://example.org/" + "z" * 800}),
        413,
        "limit of 2,000 bytes",
    )
    assert client.get(f"{url}/upload").text.count("http://example.org/") == 2
    refused(
        client.post("/tap/async", data={"QUERY": "q" * 1000, "LANG": "l" * 1000}),
        413,
        "limit of 2,000 bytes",
    )


# -- numbers and dates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data", "says"),
    [
        ("/executionduration", {"EXECUTIONDURATION": str(2**31)}, "at most 2147483647"),
        ("/executionduration", {"EXECUTIONDURATION": "9" * 30}, "at most"),
        ("/executionduration", {"EXECUTIONDURATION": "9" * 1500}, "at most"),
        ("/executionduration", {"EXECUTIONDURATION": "1e3"}, "not an integer"),
        ("/executionduration", {"EXECUTIONDURATION": "-1"}, "at least 0"),
        ("/destruction", {"DESTRUCTION": "0001-01-01T00:00:00+14:00"}, "out of range"),
        ("/destruction", {"DESTRUCTION": "9999-12-31T23:59:59-14:00"}, "out of range"),
        ("/destruction", {"DESTRUCTION": "0001-01-01"}, "in the past"),
        ("/destruction", {"DESTRUCTION": "2000-01-01T00:00:00Z"}, "in the past"),
        ("/destruction", {"DESTRUCTION": "2030-01-01T00:00:00+99:00"}, "ISO 8601"),
        ("/destruction", {"DESTRUCTION": "2030-01-01T00:00:00Z\x00"}, "NUL"),
        ("/destruction", {"DESTRUCTION": "2030-01-01T00:00:00 Mars/Olympus"}, "ISO 8601"),
        ("/destruction", {"DESTRUCTION": "x" * 100_000}, "parameter limit"),
        ("/phase", {"PHASE": "RUN\x00"}, "NUL"),
        ("/phase", {"PHASE": "R" * 1000}, "not allowed here"),
    ],
)
def test_values_out_of_range_are_400(
    client: TestClient, path: str, data: dict[str, str], says: str
) -> None:
    job_id = create(client, QUERY="rows:1")
    _, before = job_doc(client, job_id)
    response = client.post(f"/tap/async/{job_id}{path}", data=data)
    assert response.status_code in (400, 413), response.text
    assert says in response.text and len(response.text) < 600
    _, after = job_doc(client, job_id)
    assert after == before
    # the same values when the job is created
    response = client.post("/tap/async", data={"QUERY": "rows:1", **data})
    assert 400 <= response.status_code < 500, response.text


def test_far_future_destruction_and_huge_waits_are_capped(client: TestClient) -> None:
    job_id = create(client, QUERY="rows:1", DESTRUCTION="9999-12-31T23:59:59Z")
    _, fields = job_doc(client, job_id)
    assert fields["destruction"] < "2100"
    response = client.post(
        f"/tap/async/{job_id}/destruction", data={"DESTRUCTION": "9999-12-31T00:00:00+14:00"}
    )
    assert response.status_code == 303
    assert client.get(f"/tap/async/{job_id}/destruction").text < "2100"
    # a PHASE other than the job's makes a WAIT return at once, however long
    for wait in ("9" * 40, str(2**63)):
        response = client.get(f"/tap/async/{job_id}", params={"WAIT": wait, "PHASE": "QUEUED"})
        assert response.status_code == 200
    assert client.get(f"/tap/async/{job_id}", params={"WAIT": "9" * 5000}).status_code == 400
    for query in (
        {"AFTER": "0001-01-01T00:00:00+14:00"},
        {"AFTER": "2020-01-01\x00"},
        {"LAST": "9" * 40},
        {"LAST": "-1"},
        {"PHASE": "\x00"},
    ):
        response = client.get("/tap/async", params=query)
        assert 200 <= response.status_code < 500 and response.status_code != 303, query
    assert (
        client.get("/tap/async", params={"AFTER": "0001-01-01T00:00:00+14:00"}).status_code == 400
    )


def test_duplicated_parameters_take_the_last_value(client: TestClient) -> None:
    response = client.post(
        "/tap/async",
        content="QUERY=rows:1&PHASE=ABORT&PHASE=RUN&RUNID=a&RUNID=b",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 303
    job_id = response.headers["location"].rsplit("/", 1)[1]
    assert job_doc(client, job_id)[1]["runId"] == "b"


# -- never a 5xx ------------------------------------------------------------------------------

ENDPOINTS = [
    "",
    "/phase",
    "/executionduration",
    "/destruction",
    "/quote",
    "/owner",
    "/parameters",
    "/parameters/query",
    "/results",
    "/results/result",
    "/error",
]
NAMES = [
    "QUERY",
    "RUNID",
    "PHASE",
    "ACTION",
    "WAIT",
    "DESTRUCTION",
    "EXECUTIONDURATION",
    "AFTER",
    "LAST",
    "UPLOAD",
    "LANG",
]
hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=string.digits + "-+:TZ. \x00", max_size=40),
    st.sampled_from(
        [
            "\x00",
            "-1",
            "0",
            "9" * 30,
            "9" * 5000,
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "RUN",
            "ABORT",
            "DELETE",
            "x" * 3000,
        ]
    ),
)
pairs = st.lists(
    st.tuples(st.one_of(st.sampled_from(NAMES), st.text(max_size=8)), hostile_text), max_size=6
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    method=st.sampled_from(["GET", "POST", "DELETE"]),
    which=st.sampled_from(["job", "bad", "new"]),
    query=pairs,
    form=pairs,
    multipart_body=st.booleans(),
)
def test_no_request_to_any_endpoint_gets_a_5xx(
    client: TestClient,
    endpoint: str,
    method: str,
    which: str,
    query: list[tuple[str, str]],
    form: list[tuple[str, str]],
    multipart_body: bool,
) -> None:
    if which == "new":
        path = "/tap/async"
    else:
        job_id = create(client, QUERY="rows:1") if which == "job" else "%00bad"
        path = f"/tap/async/{job_id}{endpoint}"
    if multipart_body:
        body = multipart([(n.replace('"', ""), v) for n, v in form])
        ctype = "multipart/form-data; boundary=b0und"
    else:
        body, ctype = urlencode(form).encode(), "application/x-www-form-urlencoded"
    response = client.request(
        method, path, params=query, content=body, headers={"content-type": ctype}
    )
    assert response.status_code < 500, (method, path, query, form, response.text)
