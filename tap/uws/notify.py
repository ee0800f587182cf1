"""Phase-change notifications across server processes (PostgreSQL LISTEN/NOTIFY).

One :class:`Listener` thread per process LISTENs on the store's channel and calls its
subscribers with ``(key, phase)``, the key being :func:`tap.uws.store.notify_key` of the
job id (notifications never carry ids: any database session may LISTEN).
:class:`PhaseWaiters` turns those calls into asyncio events, so a client blocked in
``WAIT`` holds no thread: it awaits an event that the listener sets (from its thread,
through the event loop). Waiters also re-read the job every few seconds, so a
notification lost during a reconnect only delays them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa

from tap.uws.store import CHANNEL, notify_key

log = logging.getLogger("tap.uws")

Subscriber = Callable[[str, str], None]


def libpq_url(engine: sa.Engine) -> str:
    """The engine's URL in libpq form (for a plain psycopg connection)."""
    url = engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class Listener:
    """A thread LISTENing on ``channel``; reconnects after ``retry`` s when the link breaks."""

    def __init__(self, engine: sa.Engine, *, channel: str = CHANNEL, retry: float = 1.0) -> None:
        self._url = libpq_url(engine)
        self._channel = channel
        self._retry = retry
        self._subscribers: list[Subscriber] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()

    def subscribe(self, callback: Subscriber) -> None:
        self._subscribers.append(callback)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="uws-listener", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {self._channel}")
                    self.ready.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self._dispatch(note.payload)
            except psycopg.Error as exc:
                self.ready.clear()
                log.warning("UWS listener: %s; reconnecting", str(exc).strip())
                self._stop.wait(self._retry)

    def _dispatch(self, payload: str) -> None:
        key, _, phase = payload.partition(" ")
        for callback in self._subscribers:
            try:
                callback(key, phase)
            except Exception:
                log.exception("UWS listener: a subscriber failed")


class PhaseWaiters:
    """asyncio events per job, set from any thread by :meth:`notify` (with the job's
    notification key)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def notify(self, key: str, phase: str = "") -> None:
        with self._lock:
            entries = list(self._waiting.get(key, ()))
        for loop, event in entries:
            with contextlib.suppress(RuntimeError):  # that loop is closed
                loop.call_soon_threadsafe(event.set)

    @contextmanager
    def watch(self, job_id: str) -> Iterator[asyncio.Event]:
        """An event set when ``job_id`` changes phase; register before reading the job."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        key = notify_key(job_id)
        with self._lock:
            self._waiting.setdefault(key, set()).add(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                waiting = self._waiting.get(key)
                if waiting is not None:
                    waiting.discard(entry)
                    if not waiting:
                        del self._waiting[key]

    def __len__(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._waiting.values())
