"""Upload URLs through the real server: no server-side request forgery, one deadline and
limits that hold per request.

``hlsp serve`` runs with ``HLSP_TAP_UPLOAD_*`` settings and is asked over HTTP (``/tap/sync``
and ``/tap/async``) to fetch URLs that point at listeners this test runs on loopback; the
listeners count connections, so "refused" means "never connected to". The fixture web
server runs on 127.0.0.2, which the allow-list admits (so do 192.0.2.0/24, which routes
nowhere); 127.0.0.1 and ::1 stay refused.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from astropy.io.votable import parse as votable_parse

from catalog.db import Database
from tests.support.cli import serving
from tests.support.uploads import Listener, WebServer, has_ipv6_loopback, votable

ALLOWED_HOST = "127.0.0.2"
DEADLINE = 4  # seconds: HLSP_TAP_UPLOAD_TIMEOUT of the server under test
BYTES, ROWS, TABLES = 60_000, 1000, 3
NOT_ALLOWED = "address not allowed"
UNANSWERED = f"no valid answer within the deadline ({DEADLINE} s for all the upload URLs"
VOTABLE = "application/x-votable+xml"
QUICK = "SELECT TOP 1 schema_name FROM TAP_SCHEMA.schemas"


@pytest.fixture(scope="module")
def v4() -> Iterator[Listener]:
    listener = Listener("127.0.0.1")
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def v6() -> Iterator[Listener | None]:
    listener = Listener("::1") if has_ipv6_loopback() else None
    yield listener
    if listener is not None:
        listener.close()


@pytest.fixture(scope="module")
def web() -> Iterator[WebServer]:
    server = WebServer(ALLOWED_HOST)
    yield server
    server.close()


@pytest.fixture(scope="module")
def tap(module_database: Database) -> Iterator[str]:
    env = {
        "HLSP_DATABASE_URL": module_database.url,
        "HLSP_TAP_UPLOAD_ALLOW": f"{ALLOWED_HOST}/32, 192.0.2.0/24",
        "HLSP_TAP_UPLOAD_TIMEOUT": str(DEADLINE),
        "HLSP_TAP_UPLOAD_BYTES": str(BYTES),
        "HLSP_TAP_UPLOAD_ROWS": str(ROWS),
        "HLSP_TAP_UPLOAD_TABLES": str(TABLES),
    }
    with serving("serve", env=env) as base:
        yield base + "/tap"


def sync(tap: str, uploads: str, files: dict[str, bytes] | None = None) -> httpx.Response:
    """POST a query counting the rows of each upload; 30 s is a hang detector only."""
    names = [item.split(",")[0] for item in uploads.split(";")]
    query = " UNION ALL ".join(f"SELECT COUNT(*) AS n FROM TAP_UPLOAD.{n}" for n in names)
    data = {"LANG": "ADQL", "QUERY": query, "UPLOAD": uploads, "RESPONSEFORMAT": "csv"}
    parts = {k: (f"{k}.xml", v, VOTABLE) for k, v in (files or {}).items()}
    return httpx.post(f"{tap}/sync", data=data, files=parts or None, timeout=30)


def status_text(document: bytes) -> str:
    votable_document = votable_parse(io.BytesIO(document))
    infos = votable_document.resources[0].infos
    (status,) = [i for i in infos if i.name == "QUERY_STATUS"]
    assert status.value == "ERROR"
    return str(status.content)


def error_of(answer: httpx.Response) -> str:
    assert answer.status_code == 400, answer.text[:300]
    return status_text(answer.content)


def connections(v4: Listener, v6: Listener | None) -> tuple[int, int]:
    time.sleep(0.2)  # a connection made would have been accepted by now
    return v4.accepted, v6.accepted if v6 else 0


# -- every spelling of an internal address -----------------------------------------------------

LOOPBACK = [
    "http://127.0.0.1:{p}/t.vot",
    "http://localhost:{p}/t.vot",
    "http://LocalHost:{p}/",
    "http://2130706433:{p}/",
    "http://0x7f.1:{p}/",
    "http://0x7f000001:{p}/",
    "http://017700000001:{p}/",
    "http://127.1:{p}/",
    "http://0.0.0.0:{p}/",
    "http://0:{p}/",
    "http://[::ffff:127.0.0.1]:{p}/",
    "http://[::ffff:7f00:1]:{p}/",
    "https://127.0.0.1:{p}/",
    "http://127.0.0.1:{p}/..%2f..%2fetc",
    "http://[::1]:{p6}/",
    "http://[::]:{p6}/",
    "http://[0:0:0:0:0:0:0:1]:{p6}/",
]
INTERNAL = [
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://198.18.0.1/",
    "http://240.0.0.1/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://[ff02::1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[::7f00:1]/",
    "http://[2001:db8::1]/",
    "http://[::ffff:169.254.169.254]/",
]


@pytest.mark.parametrize("template", LOOPBACK + INTERNAL)
def test_internal_addresses_are_refused_in_any_spelling_and_never_connected_to(
    tap: str, v4: Listener, v6: Listener | None, template: str
) -> None:
    if "{p6}" in template and v6 is None:
        pytest.skip("no IPv6 loopback here")
    url = template.format(p=v4.port, p6=v6.port if v6 else 0)
    before = connections(v4, v6)
    message = error_of(sync(tap, f"t1,{url}"))
    assert message == f"UPLOAD t1: the table at {url} could not be fetched: {NOT_ALLOWED}: " + (
        "uploads are fetched from public internet addresses only."
    )
    assert connections(v4, v6) == before


def test_redirects_to_internal_addresses_are_refused(
    tap: str, web: WebServer, v4: Listener, v6: Listener | None
) -> None:
    targets = [
        f"http://127.0.0.1:{v4.port}/",
        f"http://localhost:{v4.port}/x",
        f"http://2130706433:{v4.port}/",
        "http://169.254.169.254/latest/meta-data/",
    ]
    if v6 is not None:
        targets.append(f"http://[::1]:{v6.port}/")
    before = connections(v4, v6)
    for target in targets:
        url = f"{web.base}/redirect?to={target}"
        message = error_of(sync(tap, f"t1,{url}"))
        assert message.startswith(f"UPLOAD t1: the table at {url} could not be fetched: ")
        assert f"it redirects to an {NOT_ALLOWED}" in message
    for target in ("file:///etc/passwd", "gopher://127.0.0.2/", "ftp://example.org/t.vot"):
        message = error_of(sync(tap, f"t1,{web.base}/redirect?to={target}"))
        assert "it redirects to a URL that is not http(s)" in message
    assert "more than 5 redirects" in error_of(sync(tap, f"t1,{web.base}/loop"))
    assert connections(v4, v6) == before


def test_allowed_urls_and_redirects_among_them_are_fetched(tap: str, web: WebServer) -> None:
    hop = f"{web.base}/redirect?to=/table.vot%3Frows%3D7"
    answer = sync(tap, f"a,{web.base}/table.vot?rows=5;b,{hop}")
    assert answer.status_code == 200, answer.text
    assert sorted(answer.text.split()) == ["5", "7", "n"]


def test_what_answered_is_not_revealed(tap: str, web: WebServer) -> None:
    """A closed port, a silent one, a resetting one and an allowed address that routes
    nowhere all read the same."""
    with socket.socket() as probe:
        probe.bind((ALLOWED_HOST, 0))
        closed = probe.getsockname()[1]
    silent = socket.socket()
    silent.bind((ALLOWED_HOST, 0))
    silent.listen(8)  # connections wait in the backlog, never answered
    resetting = Listener(ALLOWED_HOST, reset=True)
    urls = [
        f"http://{ALLOWED_HOST}:{closed}/",
        f"http://{ALLOWED_HOST}:{silent.getsockname()[1]}/",
        f"http://{ALLOWED_HOST}:{resetting.port}/",
        "http://192.0.2.1/",
    ]
    try:
        reasons = set()
        for url in urls:
            message = error_of(sync(tap, f"t1,{url}"))
            prefix = f"UPLOAD t1: the table at {url} could not be fetched: "
            assert message.startswith(prefix)
            reasons.add(message.removeprefix(prefix))
        assert len(reasons) == 1
        assert UNANSWERED in reasons.pop()
        assert "HTTP 404 Not Found" in error_of(sync(tap, f"t1,{web.base}/nothing"))
    finally:
        silent.close()
        resetting.close()


# -- one deadline for all the fetches of a request ---------------------------------------------


def test_a_trickling_server_is_cut_off_at_the_deadline_and_others_are_served(
    tap: str, web: WebServer
) -> None:
    cases = {
        "body": f"t1,{web.base}/trickle",
        "headers": f"t1,{web.base}/trickle-headers",
        "two URLs, one deadline": f"t1,{web.base}/trickle;t2,{web.base}/trickle",
    }
    answers: dict[str, httpx.Response] = {}

    def send(name: str) -> None:
        answers[name] = sync(tap, cases[name])

    threads = [threading.Thread(target=send, args=(name,)) for name in cases]
    for thread in threads:
        thread.start()
    time.sleep(1)
    meanwhile = [
        httpx.get(f"{tap}/availability", timeout=30),
        httpx.get(f"{tap}/sync", params={"LANG": "ADQL", "QUERY": QUICK}, timeout=30),
    ]
    for thread in threads:
        thread.join(60)
    assert [a.status_code for a in meanwhile] == [200, 200]
    for name in cases:
        assert UNANSWERED in error_of(answers[name]), name


# -- limits per request ------------------------------------------------------------------------


def test_capabilities_declare_the_per_request_upload_limit(tap: str) -> None:
    capabilities = httpx.get(f"{tap}/capabilities").text
    assert f'<uploadLimit><hard unit="byte">{BYTES}</hard></uploadLimit>' in capabilities


def test_tables_that_fit_alone_are_refused_together(tap: str, web: WebServer) -> None:
    big = votable(300, width=80)  # each fits the byte and row limits
    assert BYTES / 2 < len(big) < BYTES
    assert sync(tap, "t1,param:t1", files={"t1": big}).status_code == 200
    inline = error_of(sync(tap, "t1,param:t1;t2,param:t2", files={"t1": big, "t2": big}))
    assert f"{BYTES:,} bytes, the limit for all of them together" in inline
    url = f"{web.base}/table.vot?rows=300&width=80"
    mixed = error_of(sync(tap, f"t1,param:t1;t2,{url}", files={"t1": big}))
    assert mixed.startswith(
        f"UPLOAD t2: the table at {url} takes the uploads of this request over {BYTES:,} bytes"
    )
    fetched = error_of(sync(tap, f"t1,{url};t2,{url}"))
    assert f"over {BYTES:,} bytes, the limit for all of them together" in fetched
    rows = votable(600)  # small, but 2 x 600 rows > ROWS
    many = error_of(sync(tap, "t1,param:t1;t2,param:t2", files={"t1": rows, "t2": rows}))
    assert many == (
        f"Table t2: the uploads of this request hold more than {ROWS:,} rows, the limit for all "
        "its tables together; upload fewer rows."
    )
    four = ";".join(f"t{i},param:t{i}" for i in range(4))
    tables = error_of(sync(tap, four, files={f"t{i}": votable(2) for i in range(4)}))
    assert f"UPLOAD names 4 tables; this service takes at most {TABLES} per request" in tables


def test_a_body_over_the_limit_is_refused_while_it_arrives(tap: str) -> None:
    # Far over: the server's guard refuses it on its declared length (413); a little over:
    # TAP's own form reader, when the parts are counted. Either way a DALI error document.
    far = sync(tap, "t1,param:t1", files={"t1": b"x" * (3 * 2**20)})
    assert far.status_code == 413
    assert "larger than" in status_text(far.content)
    message = error_of(sync(tap, "t1,param:t1", files={"t1": b"x" * (BYTES + 1000)}))
    assert f"larger than {BYTES:,} bytes, the limit for all of them together" in message


def job_error(job: str) -> str:
    """Run the job at URL ``job``, which must end in ERROR: its message."""
    httpx.post(f"{job}/phase", data={"PHASE": "RUN"})
    deadline = time.monotonic() + 60
    while (phase := httpx.get(f"{job}/phase").text) not in ("ERROR", "COMPLETED"):
        assert time.monotonic() < deadline, phase
        httpx.get(job, params={"WAIT": "5"}, timeout=30)
    assert phase == "ERROR"
    return status_text(httpx.get(f"{job}/error").content)


def test_async_jobs_fetch_under_the_same_rules(tap: str, v4: Listener, web: WebServer) -> None:
    before = v4.accepted
    for url, reason in [
        (f"http://127.0.0.1:{v4.port}/", NOT_ALLOWED),
        (f"http://localhost:{v4.port}/", NOT_ALLOWED),
        (f"{web.base}/trickle", UNANSWERED),
    ]:
        data = {"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.t1", "UPLOAD": f"t1,{url}"}
        job = httpx.post(f"{tap}/async", data=data).headers["location"]
        assert reason in job_error(job)
    time.sleep(0.2)
    assert v4.accepted == before


def test_async_inline_tables_added_one_by_one_are_limited_together(tap: str) -> None:
    big = votable(300, width=80)
    query = "SELECT COUNT(*) AS n FROM TAP_UPLOAD.t1 AS a, TAP_UPLOAD.t2 AS b"
    data = {"LANG": "ADQL", "UPLOAD": "t1,param:t1", "QUERY": query}
    created = httpx.post(f"{tap}/async", data=data, files={"t1": ("t1.xml", big, VOTABLE)})
    job = created.headers["location"]
    added = httpx.post(
        f"{job}/parameters",
        data={"UPLOAD": "t2,param:t2"},
        files={"t2": ("t2.xml", big, VOTABLE)},
    )
    assert added.status_code == 303, added.text
    message = job_error(job)
    assert f"over the limit of {BYTES:,} bytes for all the uploads of one request" in message
