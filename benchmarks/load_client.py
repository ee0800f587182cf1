"""The load generator of benchmarks/load.py: raw HTTP/1.1 over asyncio streams, the
closed and open loops, and what they record.

The client shares the machine's cores with the server and PostgreSQL, so each request must
cost it little: request bytes are made before a level starts, each connection is a pair of
asyncio streams kept alive between requests, and an answer is parsed by hand (status line,
headers, then ``Content-Length``, ``Transfer-Encoding: chunked`` or read-to-close). Only the
first and the last few KB of a body are kept, to find an error document in a 200 answer.

Outcomes (:data:`OUTCOMES`): ``200``; ``503 deliberate`` (a 503 with ``Retry-After``: the
server shed the request on purpose); ``503 without Retry-After``; ``other 5xx``; ``4xx``;
``200 with error`` (a TAP result whose ``QUERY_STATUS`` is ``ERROR``, a GraphQL answer
with ``errors``); ``other status``; ``timeout`` (no full answer within the client timeout);
``connection error`` (refused, reset, or closed before the answer was complete). Every
outcome except ``200`` and ``503 deliberate`` is an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

OK = "200"
SHED = "503 deliberate"
OUTCOMES = (
    OK,
    SHED,
    "503 without Retry-After",
    "other 5xx",
    "4xx",
    "200 with error",
    "other status",
    "timeout",
    "connection error",
)
NOT_ERRORS = frozenset({OK, SHED})
KEEP = 4096  # bytes of a body's start and end kept to look for an error marker
CONNECT_ERROR_PAUSE = 0.1  # s a closed-loop client waits after a connection error


@dataclass(frozen=True)
class Request:
    """One prepared request: its kind, its bytes on the wire, and the bytes whose presence
    in a 200 answer's first or last :data:`KEEP` bytes means the answer is an error."""

    kind: str
    wire: bytes
    error_marker: bytes


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: float | None
    error_in_body: bool
    close: bool


class ProtocolError(Exception):
    """The server's bytes are not HTTP/1.1 as expected."""


class StaleConnection(Exception):
    """A reused connection was closed by the server before it sent any byte of the answer
    (an idle keep-alive connection closed as the request went out): safe to send again."""


def outcome_of(answer: Answer) -> str:
    status = answer.status
    if status == 200:
        return "200 with error" if answer.error_in_body else OK
    if status == 503:
        return SHED if answer.retry_after is not None else "503 without Retry-After"
    if status >= 500:
        return "other 5xx"
    if 400 <= status < 500:
        return "4xx"
    return "other status"


def parse_retry_after(value: str) -> float:
    """Seconds from a ``Retry-After`` value (delta-seconds; an HTTP date or junk counts as 1 s)."""
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return 1.0


class Connection:
    """One keep-alive HTTP/1.1 connection to host:port."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.used = 0

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        return cls(reader, writer)

    @property
    def usable(self) -> bool:
        """Not known to be closed (an idle connection the server closed has seen EOF)."""
        return not (self.reader.at_eof() or self.writer.is_closing())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()

    async def exchange(self, request: Request) -> Answer:
        """Send ``request`` and read its whole answer."""
        self.writer.write(request.wire)
        reused = self.used > 0
        self.used += 1
        line = await self.reader.readline()
        if not line:
            if reused:
                raise StaleConnection
            raise ConnectionError("the server closed the connection without answering")
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ProtocolError(f"bad status line {line[:80]!r}")
        status = int(parts[1])
        length = -1
        chunked = close = False
        retry_after: float | None = None
        while True:
            header = await self.reader.readline()
            if header in (b"\r\n", b"\n"):
                break
            if not header:
                raise ConnectionError("the connection closed inside the headers")
            name, _, value = header.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
            elif name == b"retry-after":
                retry_after = parse_retry_after(value.decode("latin-1"))
        head, tail = await self._body(length, chunked)
        if length < 0 and not chunked:
            close = True
        marker = request.error_marker
        error = status == 200 and bool(marker) and (marker in head or marker in tail)
        return Answer(status, retry_after, error, close)

    async def _body(self, length: int, chunked: bool) -> tuple[bytes, bytes]:
        """The body's first and last :data:`KEEP` bytes (the rest is read and dropped)."""
        reader = self.reader
        if length >= 0 and not chunked:
            body = await reader.readexactly(length)
            return body[:KEEP], body[-KEEP:]
        head = b""
        tail = b""
        if chunked:
            while True:
                size_line = await reader.readline()
                if not size_line:
                    raise ConnectionError("the connection closed inside a chunked body")
                size = int(size_line.split(b";", 1)[0], 16)
                if size == 0:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return head, tail
                data = await reader.readexactly(size + 2)
                if len(head) < KEEP:
                    head += data[: KEEP - len(head)]
                tail = (tail + data[:-2])[-KEEP:]
        while data := await reader.read(65536):  # no length: the body ends with the connection
            if len(head) < KEEP:
                head += data[: KEEP - len(head)]
            tail = (tail + data)[-KEEP:]
        return head, tail


@dataclass
class Recorder:
    """What one level saw. Latencies (seconds) of successful requests that ended inside the
    window count towards the percentiles; every outcome is counted, also those of requests
    that ended during the drain after the window."""

    start: float
    window: float
    latencies: dict[str, list[float]] = field(default_factory=dict)
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    ok_in_window: int = 0
    after_window: Counter[str] = field(default_factory=Counter)
    per_second: list[int] = field(default_factory=list)
    stale_retries: int = 0
    connections_opened: int = 0
    late_starts: int = 0  # open loop: requests that left more than 10 ms after their time
    max_start_lag: float = 0.0

    def __post_init__(self) -> None:
        self.per_second = [0] * (int(self.window) + 1)

    def record(self, kind: str, outcome: str, started: float, ended: float) -> None:
        counts = self.outcomes.get(kind)
        if counts is None:
            counts = self.outcomes[kind] = Counter()
            self.latencies[kind] = []
        counts[outcome] += 1
        offset = ended - self.start
        if offset >= self.window:
            self.after_window[outcome] += 1
            return
        if outcome == OK:
            self.latencies[kind].append(ended - started)
            self.ok_in_window += 1
            self.per_second[int(offset)] += 1


async def timed_exchange(
    host: str,
    port: int,
    conn: Connection | None,
    request: Request,
    timeout: float,
    recorder: Recorder,
) -> tuple[Connection | None, Answer | None, str]:
    """Send ``request`` (opening a connection when ``conn`` is None or closed), within
    ``timeout``: (the connection to reuse or None, the answer or None, the outcome)."""
    try:
        async with asyncio.timeout(timeout):
            if conn is None or not conn.usable:
                if conn is not None:
                    conn.close()
                conn = await Connection.open(host, port)
                recorder.connections_opened += 1
            try:
                answer = await conn.exchange(request)
            except StaleConnection:
                recorder.stale_retries += 1
                conn.close()
                conn = await Connection.open(host, port)
                recorder.connections_opened += 1
                answer = await conn.exchange(request)
    except TimeoutError:
        if conn is not None:
            conn.close()
        return None, None, "timeout"
    except (OSError, EOFError, ValueError, ProtocolError, StaleConnection):
        # OSError covers refused/reset (ConnectionError); EOFError covers IncompleteReadError;
        # ValueError a bad length or chunk size.
        if conn is not None:
            conn.close()
        return None, None, "connection error"
    if answer.close:
        conn.close()
        return None, answer, outcome_of(answer)
    return conn, answer, outcome_of(answer)


Pick = Callable[[random.Random], Request]


async def closed_loop(
    host: str,
    port: int,
    clients: int,
    duration: float,
    timeout: float,
    pick: Pick,
    seed: int,
    backoff_cap: float,
    ramp: float = 1.0,
) -> Recorder:
    """``clients`` clients, each sending its next request when the previous one has ended,
    for ``duration`` seconds (starts spread over the first ``ramp`` seconds). A deliberate
    503 makes the client wait its Retry-After (at most ``backoff_cap`` s, plus up to 25 %
    jitter) before the next request, as a well-behaved client does. Returns when every
    request has ended: at most ``duration + timeout`` (plus a stale-connection resend)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    stop = start + duration
    recorder = Recorder(start, duration)

    async def client(index: int) -> None:
        rng = random.Random(seed * 1_000_003 + index)
        await asyncio.sleep(rng.random() * min(ramp, duration))
        conn: Connection | None = None
        try:
            while (now := loop.time()) < stop:
                request = pick(rng)
                conn, answer, outcome = await timed_exchange(
                    host, port, conn, request, timeout, recorder
                )
                recorder.record(request.kind, outcome, now, loop.time())
                pause = 0.0
                if outcome == SHED and answer is not None and answer.retry_after is not None:
                    pause = min(answer.retry_after, backoff_cap) * (1 + 0.25 * rng.random())
                elif outcome == "connection error":
                    pause = CONNECT_ERROR_PAUSE
                if pause:
                    await asyncio.sleep(min(pause, max(0.0, stop - loop.time())))
        finally:
            if conn is not None:
                conn.close()

    tasks = [asyncio.create_task(client(i)) for i in range(clients)]
    await _finish(tasks, duration + 2 * timeout + 5)
    return recorder


def arrivals(rate: float, duration: float, seed: int) -> list[float]:
    """Poisson arrival offsets (seconds) at ``rate`` per second over ``duration``."""
    rng = random.Random(seed)
    out = []
    t = rng.expovariate(rate)
    while t < duration:
        out.append(t)
        t += rng.expovariate(rate)
    return out


async def open_loop(
    host: str,
    port: int,
    rate: float,
    duration: float,
    timeout: float,
    pick: Pick,
    seed: int,
) -> Recorder:
    """Requests at Poisson arrival times (``rate`` per second, seeded) for ``duration``
    seconds, whatever the answers: each takes an idle keep-alive connection or opens a new
    one. Latency counts from the scheduled arrival, so a client or server that falls behind
    shows as latency (no coordinated omission)."""
    loop = asyncio.get_running_loop()
    schedule = arrivals(rate, duration, seed)
    rng = random.Random(seed + 1)
    requests = [pick(rng) for _ in schedule]
    start = loop.time() + 0.05
    recorder = Recorder(start, duration)
    idle: list[Connection] = []
    tasks: set[asyncio.Task[None]] = set()

    async def one(request: Request, due: float) -> None:
        conn = None
        while idle and conn is None:
            candidate = idle.pop()  # the most recently used: the least likely to be stale
            if candidate.usable:
                conn = candidate
            else:
                candidate.close()
        conn, _, outcome = await timed_exchange(host, port, conn, request, timeout, recorder)
        recorder.record(request.kind, outcome, due, loop.time())
        if conn is not None:
            idle.append(conn)

    for offset, request in zip(schedule, requests, strict=True):
        due = start + offset
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lag = loop.time() - due
        recorder.max_start_lag = max(recorder.max_start_lag, lag)
        if lag > 0.010:
            recorder.late_starts += 1
        task = asyncio.create_task(one(request, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await _finish(list(tasks), 2 * timeout + 5)
    for conn in idle:
        conn.close()
    return recorder


async def _finish(tasks: Sequence[asyncio.Task[None]], limit: float) -> None:
    """Wait for ``tasks`` at most ``limit`` seconds (each request has its own timeout, so
    this is a safety net), then cancel what is left."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=limit)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=5)


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of sorted values, nearest rank."""
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, int(q * len(ordered) + 0.999999) - 1))
    return ordered[rank]


def thread_cpu() -> float:
    """CPU seconds of the calling thread (the event loop's, when called from it)."""
    return time.thread_time()
