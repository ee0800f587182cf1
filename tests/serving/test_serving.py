"""The server under load and hostile clients, started as a user starts it (``hlsp serve``).

Every test here reproduces a way an earlier server could be stopped: bursts of clients that
deadlocked its pool and threads, downloads abandoned mid-stream that kept their transaction
open, clients that send their request a byte at a time. Each asserts what a client sees over
real sockets, and what PostgreSQL sees (``pg_stat_activity``).
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from astropy.io.votable import parse as votable_parse
from sqlalchemy.orm import Session

from catalog.db import Database
from tests.support import factories as f
from tests.support.cli import HLSP, serving
from tests.support.db import locked_table

PRODUCTS = 2000
CARTESIAN = "SELECT a.obs_id, b.obs_id AS o2 FROM ivoa.ObsCore AS a, ivoa.ObsCore AS b"


def fill(db: Database, n: int = PRODUCTS) -> None:
    """``n`` products over two collections, spread on a patch of sky."""
    with Session(db.engine) as s:
        one = f.collection(s, "tglc", title="TESS-Gaia light curves")
        two = f.collection(s, "k2sff", title="K2 systematics-corrected photometry")
        s.execute(
            sa.text(
                "INSERT INTO hlsp.product (collection_id, file_name, file_path, file_bytes, "
                "file_mtime, pos, instrument, dataproduct_type, t_min, t_max, target_name) "
                "SELECT CASE WHEN g % 3 = 0 THEN :two ELSE :one END, "
                "'hlsp_x_tess_phot_t' || g || '_tess_v1_lc.fits', '/f' || g, 2880, now(), "
                "spoint(radians(100 + (g % 50) * 0.02), radians(10 + (g / 50) * 0.02)), "
                "CASE WHEN g % 2 = 0 THEN 'WFC3' ELSE 'ACS' END, 'timeseries', "
                "58000 + g, 58001 + g, 'TIC ' || g "
                "FROM generate_series(1, :n) g"
            ),
            {"one": one.collection_id, "two": two.collection_id, "n": n},
        )
        s.commit()
        s.execute(sa.text("ANALYZE hlsp.product"))


@pytest.fixture(scope="module")
def catalog_db(module_database: Database) -> Database:
    fill(module_database)
    return module_database


def server_env(db: Database, **settings: str) -> dict[str, str]:
    return {"HLSP_DATABASE_URL": db.url, **{f"HLSP_{k.upper()}": v for k, v in settings.items()}}


@pytest.fixture(scope="module")
def server(catalog_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``hlsp serve`` with its defaults (as many processes as CPUs)."""
    data = tmp_path_factory.mktemp("serve-data")
    with serving("serve", env=server_env(catalog_db, data_dir=str(data))) as base:
        yield base


def burst(n: int, call: Callable[[httpx.Client], httpx.Response]) -> list[httpx.Response]:
    """``n`` clients at once, each with its own connection; a client timeout of 90 s."""

    def one(_: int) -> httpx.Response:
        with httpx.Client(timeout=90) as client:
            return call(client)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def tap_rows(body: bytes) -> int:
    table = votable_parse(io.BytesIO(body)).get_first_table()
    return len(table.array)


def assert_overloaded_tap(answer: httpx.Response) -> None:
    assert answer.status_code == 503
    assert int(answer.headers["retry-after"]) >= 1
    votable = votable_parse(io.BytesIO(answer.content))
    status = [i for i in votable.resources[0].infos if i.name == "QUERY_STATUS"]
    assert status[0].value == "ERROR"
    assert "busy" in str(status[0].content)


def test_a_burst_of_100_tap_clients_is_answered_or_refused_never_failed(server: str) -> None:
    """100 concurrent sync queries, each streaming 2,000 rows as TABLEDATA: each gets its
    whole result or a 503 with Retry-After; none a 500, none waits forever."""
    query = {"LANG": "ADQL", "FORMAT": "votable/td", "QUERY": "SELECT TOP 2000 * FROM ivoa.ObsCore"}
    answers = burst(100, lambda c: c.post(server + "/tap/sync", data=query))
    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[200] > 0
    for answer in answers:
        if answer.status_code == 200:
            assert tap_rows(answer.content) == 2000
        else:
            assert_overloaded_tap(answer)


def test_a_burst_of_100_graphql_clients_is_answered_or_refused_never_failed(server: str) -> None:
    document = (
        "query Page($first: Int) { products(first: $first) { totalCount edges { node { "
        "fileName instrument collection { hlspId title } targets { name } } } } }"
    )
    answers = burst(
        100,
        lambda c: c.post(server + "/graphql", json={"query": document, "variables": {"first": 20}}),
    )
    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[200] > 0
    for answer in answers:
        body = answer.json()
        if answer.status_code == 200:
            assert "errors" not in body, body
            assert len(body["data"]["products"]["edges"]) == 20
        else:
            assert int(answer.headers["retry-after"]) >= 1
            assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"


def query_sessions(db: Database) -> list[tuple[str, str]]:
    """(state, query) of the backends serving TAP results (named cursors ``tap_result_N``)."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT state, query FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND query LIKE '%tap_result%' AND state <> 'idle'"
            )
        ).all()
    return [(str(s), str(q)) for s, q in rows]


def wait_until(condition: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def start_stream(base: str, query: str) -> socket.socket:
    """Send a sync query over a raw socket and read the start of its answer."""
    host, port = base.removeprefix("http://").split(":")
    body = (
        httpx.QueryParams(
            {"LANG": "ADQL", "MAXREC": "10000000", "FORMAT": "votable/td", "QUERY": query}
        )
        .__str__()
        .encode()
    )
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(
        b"POST /tap/sync HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
        b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    return sock


def test_an_aborted_download_gives_its_connection_back(
    catalog_db: Database, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Clients that start a large result, read a little and disconnect: their transactions
    end at once (not when the database's idle timeout would end them)."""
    data = tmp_path_factory.mktemp("abort-data")
    # three slots in whichever process takes the three connections
    env = server_env(catalog_db, data_dir=str(data), spool_bytes=str(1 << 20), tap_slots="3")
    with serving("serve", env=env) as base:
        clients = [start_stream(base, CARTESIAN) for _ in range(3)]
        assert wait_until(lambda: query_sessions(catalog_db), timeout=10)
        for sock in clients:
            sock.close()
        assert wait_until(lambda: not query_sessions(catalog_db)), query_sessions(catalog_db)
        # and the service still answers at once
        ok = httpx.post(
            base + "/tap/sync",
            data={"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.ObsCore"},
            timeout=30,
        )
        assert ok.status_code == 200


def test_a_stalled_reader_holds_no_connection_beyond_the_hold_time(
    catalog_db: Database, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A client that stops reading but stays connected: the query spools what the client
    has not read, then gives up after the hold time; its connection goes back, and the
    client is dropped once it has read nothing for the stall time."""
    data = tmp_path_factory.mktemp("stall-data")
    env = server_env(
        catalog_db, data_dir=str(data), spool_bytes=str(1 << 20), spool_hold="3", send_stall="3"
    )
    with serving("serve", env=env) as base:
        sock = start_stream(base, CARTESIAN)
        try:
            assert wait_until(lambda: query_sessions(catalog_db), timeout=10)
            assert wait_until(lambda: not query_sessions(catalog_db)), query_sessions(catalog_db)
            assert wait_until(lambda: not list((Path(data) / "spool").iterdir()))
            # the rest of what the client gets ends without the last chunk: a cut transfer
            sock.settimeout(30)
            tail = b""
            try:
                while chunk := sock.recv(1 << 20):
                    tail = (tail + chunk)[-16:]
            except ConnectionResetError:
                pass
            assert not tail.endswith(b"0\r\n\r\n")
        finally:
            sock.close()


def query_running(base: str) -> httpx.Response:
    query = "SELECT COUNT(*) AS n FROM ivoa.ObsCore"
    return httpx.post(base + "/tap/sync", data={"LANG": "ADQL", "QUERY": query}, timeout=90)


def test_overload_is_refused_at_once_with_retry_after(
    catalog_db: Database, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """One slot, no queue: while a query holds the slot (waiting on a lock another session
    holds), the next TAP query is refused (503, Retry-After, a DALI error document) before
    the first ends; health still answers."""
    data = tmp_path_factory.mktemp("overload-data")
    env = server_env(catalog_db, data_dir=str(data), workers="1", tap_slots="1", queue="0")
    with serving("serve", env=env) as base, ThreadPoolExecutor(1) as pool:
        with locked_table(catalog_db) as lock:
            slow = pool.submit(query_running, base)
            assert wait_until(lambda: _active_count(catalog_db) > 0, timeout=20)
            refused = httpx.post(
                base + "/tap/sync",
                data={"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.ObsCore"},
                timeout=30,
            )
            assert not slow.done()
            assert_overloaded_tap(refused)
            assert httpx.get(base + "/health", timeout=30).status_code == 200
            lock.release()
        assert slow.result().status_code == 200


def _active_count(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state = 'active' AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        )


def raw_exchange(base: str, data: bytes, *, wait: float = 30) -> bytes:
    """Send ``data`` and read until the server closes the connection (or ``wait`` passes)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            chunks.append(b"<still open>")
        return b"".join(chunks)


@pytest.fixture(scope="module")
def impatient_server(
    catalog_db: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    data = tmp_path_factory.mktemp("impatient-data")
    env = server_env(catalog_db, data_dir=str(data), workers="1", client_timeout="2")
    with serving("serve", env=env) as base:
        yield base


def test_a_request_head_that_never_ends_is_closed(impatient_server: str) -> None:
    answer = raw_exchange(impatient_server, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert raw_exchange(impatient_server, b"").startswith(b"HTTP/1.1 408")  # silent client


def test_an_endless_request_head_is_refused(impatient_server: str) -> None:
    head = b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 200_000 + b"\r\n\r\n"
    assert raw_exchange(impatient_server, head).startswith(b"HTTP/1.1 431")


def test_a_request_body_that_stalls_is_answered_408(impatient_server: str) -> None:
    head = (
        b"POST /tap/sync HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
        b"\r\nContent-Length: 100\r\n\r\nLANG=ADQL&"
    )
    answer = raw_exchange(impatient_server, head)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"stalled" in answer


def test_request_bodies_over_their_limit_are_refused(impatient_server: str) -> None:
    # declared: refused before a byte of the body is read
    huge = b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    answer = raw_exchange(impatient_server, huge + b"Content-Length: 200000000\r\n\r\n{")
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"code": "LIMIT_EXCEEDED"' in answer

    # streamed without a length: refused when the count passes the limit
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b" " * 65536

    answer2 = httpx.post(
        impatient_server + "/graphql",
        content=chunks(),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert answer2.status_code == 413


def test_the_server_runs_several_processes(server: str) -> None:
    """``hlsp serve`` runs one process per CPU by default; they all answer."""
    port = int(server.rsplit(":", 1)[1])
    listeners = _processes_listening(port)
    assert len(listeners) >= 2 or _cpus() == 1, listeners


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


def _processes_listening(port: int) -> set[int]:
    """Pids of processes holding the listening socket of ``port`` (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                inodes.add(fields[9])
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = fd.readlink().as_posix()
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    pids.add(int(proc.name))
        except OSError:
            continue
    return pids


def test_a_database_outage_is_503_not_500(
    database: Database, admin_engine: sa.Engine, tmp_path: Path
) -> None:
    """The database goes away under a running server: TAP queries answer 503 with a DALI
    error document, GraphQL SERVICE_UNAVAILABLE, and neither names the database."""
    fill(database, 50)
    env = server_env(database, data_dir=str(tmp_path), workers="1")
    with serving("serve", env=env) as base:
        query = {"LANG": "ADQL", "QUERY": "SELECT TOP 5 obs_id FROM ivoa.ObsCore"}
        assert httpx.post(base + "/tap/sync", data=query, timeout=30).status_code == 200
        database.dispose()
        name = sa.engine.make_url(database.engine.url).database
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
        for _ in range(3):  # pooled connections were cut: each attempt fails cleanly
            answer = httpx.post(base + "/tap/sync", data=query, timeout=30)
            assert answer.status_code == 503, answer.text
            assert "not available" in answer.text
            assert str(name) not in answer.text
        graphql = httpx.post(
            base + "/graphql",
            json={"query": "{ products(first: 1) { edges { node { fileName } } } }"},
            timeout=30,
        )
        assert graphql.status_code in (200, 503)
        assert graphql.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"


def test_a_graphql_get_that_runs_a_query_takes_a_slot_like_a_post(
    catalog_db: Database, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A GET with ?query= runs the query whatever its Accept header says, so it is admitted
    like a POST; only the IDE page (a GET without a query) passes without a slot."""
    data = tmp_path_factory.mktemp("graphql-gate")
    env = server_env(catalog_db, data_dir=str(data), workers="1", graphql_slots="1", queue="0")
    document = "{ products(first: 1) { totalCount } }"
    with serving("serve", env=env) as base, ThreadPoolExecutor(1) as pool:
        with locked_table(catalog_db) as lock:
            held = pool.submit(httpx.post, base + "/graphql", json={"query": document}, timeout=90)
            assert wait_until(lambda: _active_count(catalog_db) > 0, timeout=20)
            browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
            sneaky = httpx.get(
                base + "/graphql", params={"query": document}, headers=browser, timeout=30
            )
            assert sneaky.status_code == 503, sneaky.text[:300]
            assert sneaky.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            ide = httpx.get(base + "/graphql", headers=browser, timeout=30)
            assert ide.status_code == 200
            assert "graphiql" in ide.text.lower()
            assert not held.done()
            lock.release()
        assert held.result().status_code == 200


def test_a_blank_line_between_requests_does_not_stop_the_clock(impatient_server: str) -> None:
    """The parser skips blank lines before a request without beginning one: they must not
    keep an idle connection open past the head timeout."""
    host, port = impatient_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"GET /tap/capabilities HTTP/1.1\r\nHost: x\r\n\r\n")
        first = b""
        while b"</vosi:capabilities>" not in first:
            first += sock.recv(65536)
        sock.sendall(b"\r\n")
        rest = _read_to_end(sock)
    assert rest.startswith(b"HTTP/1.1 408"), rest[:200]


def _read_to_end(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; ``<still open>`` after it if the socket's
    timeout came first."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        received += b"<still open>"
    return received


def test_a_pipelined_head_that_stalls_waits_for_the_answer_before_it(
    catalog_db: Database, impatient_server: str
) -> None:
    """A request still being answered, and behind it the start of a second head that never
    ends: the first answer arrives whole, then the 408 for the second."""
    host, port = impatient_server.removeprefix("http://").split(":")
    body = b"LANG=ADQL&QUERY=SELECT+COUNT%28%2A%29+AS+n+FROM+ivoa.ObsCore"
    first = (
        b"POST /tap/sync HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
        b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    with (
        locked_table(catalog_db) as lock,
        socket.create_connection((host, int(port)), timeout=30) as sock,
    ):
        sock.sendall(first + b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert wait_until(lambda: _active_count(catalog_db) > 0, timeout=20)
        time.sleep(3)  # past the 2 s head timeout, while the first answer is pending
        lock.release()
        answer = _read_to_end(sock)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert b"HTTP/1.1 408" in answer
    assert answer.index(b"</VOTABLE>") < answer.index(b"HTTP/1.1 408")


@pytest.mark.parametrize("tap_slots", ["2", "256"])
def test_serve_warns_when_its_processes_may_need_more_connections_than_the_database_has(
    catalog_db: Database, tmp_path: Path, tap_slots: str
) -> None:
    """256 TAP slots in one process need more connections than the test cluster's 250: the
    operator is told before the server starts (here it then fails: its port is taken)."""
    from catalog.config import ServingSettings
    from catalog.serving.budget import Budget

    settings = ServingSettings(workers=1, tap_slots=int(tap_slots))
    need = Budget.from_settings(settings).most_connections
    env = {k: v for k, v in os.environ.items() if not k.startswith("HLSP_")}
    env |= server_env(catalog_db, data_dir=str(tmp_path), workers="1", tap_slots=tap_slots)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [HLSP, "serve", "--port", str(port)]
        done = subprocess.run(
            command, check=False, env=env, timeout=120, capture_output=True, text=True
        )
    said = done.stdout + done.stderr
    warned = f"may hold up to {need} database connections" in said
    assert warned == (tap_slots == "256"), said
