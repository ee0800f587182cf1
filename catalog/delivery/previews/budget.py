"""Drawing off the event loop and out of the server's process, within a budget.

A :class:`Renderer` keeps up to ``workers`` drawing processes (spawned, so nothing of the
server's threads or connections is inherited; started on first use, replaced after
:data:`RECYCLE` drawings). Each drawing runs in one of them:

- **time**: past ``timeout`` seconds the process is killed and replaced, and the caller gets
  :class:`PreviewBudgetExceeded`;
- **memory**: the process's address space is limited (RLIMIT_AS) to what it held when ready
  plus ``memory`` bytes; a drawing that needs more fails with a MemoryError in the child,
  which reports it and exits (:class:`PreviewBudgetExceeded`); a child killed by the kernel
  or a crash reports nothing, and the caller gets :class:`PreviewError` (the pipe closes:
  nothing hangs);
- **at once**: ``workers`` drawings at most; ``queue`` more callers may wait up to
  ``queue_wait`` seconds for a process, the rest get :class:`PreviewBusy` at once.

The blocking calls (:meth:`Renderer.render_blocking`, :meth:`Renderer.thumbnail_blocking`)
are safe from any thread; the ``async`` ones run them on a thread, so the event loop only
awaits. :meth:`Renderer.prestart` starts the processes ahead of the first request;
:meth:`Renderer.close` kills every child (the server's shutdown).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from catalog.delivery.previews.errors import PreviewBudgetExceeded, PreviewBusy, PreviewError
from catalog.delivery.previews.kinds import Kind

RECYCLE = 200  # drawings per process before it is replaced (matplotlib and astropy caches)
START_TIMEOUT = 120.0  # seconds a new process may take to import its libraries
_MB = 1 << 20


@dataclass(frozen=True)
class Job:
    """One drawing: a FITS ``path`` as ``kind`` (``picture``: a shipped graphic made small)."""

    path: str
    kind: Kind | None
    size: int
    picture: bool = False


def _address_space() -> int:
    """The bytes of address space this process holds (VmSize), 0 when unknown."""
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _child(conn: Connection, memory: int) -> None:
    """A drawing process: import the libraries, limit memory, draw jobs until the pipe ends."""
    import resource
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    from catalog.delivery.previews import images, plots, render  # noqa: F401 (warm up)

    held = _address_space()
    if held:
        limit = held + memory
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job: Job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if job.picture:
                png = render.thumbnail_of_picture(Path(job.path), job.size)
            else:
                png = render.render(Path(job.path), job.kind, size=job.size)
            conn.send(("png", png))
        except PreviewError as error:
            conn.send(("error", error.message))
        except MemoryError:
            conn.send(("memory", ""))
            return  # a process that ran out of memory is not trusted again
        except Exception as error:  # render() lets none through; a bug would
            conn.send(("error", f"{Path(job.path).name} cannot be drawn: {error!r}"))


class _Process:
    """One drawing process and the parent's end of its pipe."""

    def __init__(self, memory: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child_end = context.Pipe()
        self.process = context.Process(
            target=_child, args=(child_end, memory), name="hlsp-preview", daemon=True
        )
        self.process.start()
        child_end.close()
        self.drawings = 0
        if not self.conn.poll(START_TIMEOUT):
            self.kill()
            raise PreviewError("the drawing process did not start (its libraries did not load)")
        try:
            self.conn.recv()
        except (EOFError, OSError):
            self.kill()
            raise PreviewError("the drawing process exited as it started") from None

    def draw(self, job: Job, timeout: float, memory: int) -> bytes:
        self.drawings += 1
        try:
            self.conn.send(job)
        except OSError:
            code = self._ended()
            raise PreviewError(
                f"the drawing of {Path(job.path).name} ended abruptly before it began (exit "
                f"code {code})"
            ) from None
        if not self.conn.poll(timeout):
            self.kill()
            raise PreviewBudgetExceeded(
                f"{Path(job.path).name} took longer than the {timeout:g} s a drawing may "
                "take (HLSP_PREVIEW_TIMEOUT)"
            )
        try:
            what, payload = self.conn.recv()
        except (EOFError, OSError):
            code = self._ended()
            raise PreviewError(
                f"the drawing of {Path(job.path).name} ended abruptly (exit code {code}; "
                "killed, or out of memory)"
            ) from None
        if what == "png":
            return bytes(payload)
        if what == "memory":
            self._ended()
            raise PreviewBudgetExceeded(
                f"{Path(job.path).name} needs more than the {memory / _MB:,.0f} MB a drawing "
                "may use (HLSP_PREVIEW_MEMORY)"
            )
        raise PreviewError(str(payload))

    @property
    def alive(self) -> bool:
        return self.process.is_alive() and not self.conn.closed

    def _ended(self) -> int | None:
        self.process.join(timeout=5)
        self.kill()
        return self.process.exitcode

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class Renderer:
    """Draws previews in budgeted child processes (see the module's docstring)."""

    def __init__(
        self,
        *,
        workers: int = 2,
        timeout: float = 20.0,
        memory: int = 1 << 30,
        queue: int | None = None,
        queue_wait: float | None = None,
    ) -> None:
        if workers < 1 or not timeout > 0 or memory < 16 * _MB:
            raise ValueError("workers >= 1, timeout > 0 and memory >= 16 MB are needed")
        self.workers, self.timeout, self.memory = workers, float(timeout), memory
        self.queue = 4 * workers if queue is None else queue
        self.queue_wait = self.timeout if queue_wait is None else queue_wait
        self._slots = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()
        self._waiting = 0
        self._drawing = 0
        self._idle: list[_Process] = []
        self._all: set[_Process] = set()
        self._closed = False

    def render_blocking(self, path: Path, kind: Kind | None, size: int) -> bytes:
        """The PNG of :func:`~catalog.delivery.previews.render.render`, drawn in a child."""
        return self._run(Job(str(path), kind, size))

    def thumbnail_blocking(self, path: Path, size: int) -> bytes:
        """The PNG of :func:`~catalog.delivery.previews.render.thumbnail_of_picture`."""
        return self._run(Job(str(path), None, size, picture=True))

    async def render(self, path: Path, kind: Kind | None, size: int) -> bytes:
        return await asyncio.to_thread(self.render_blocking, path, kind, size)

    async def thumbnail(self, path: Path, size: int) -> bytes:
        return await asyncio.to_thread(self.thumbnail_blocking, path, size)

    def _run(self, job: Job) -> bytes:
        self._admit()
        with self._lock:
            self._drawing += 1
        try:
            process = self._take()
            try:
                return process.draw(job, self.timeout, self.memory)
            finally:
                self._give_back(process)
        finally:
            with self._lock:
                self._drawing -= 1
            self._slots.release()

    def _admit(self) -> None:
        """Take a drawing slot: at once, or after waiting with at most ``queue`` others."""
        with self._lock:
            if self._closed:
                raise PreviewBusy("the preview service is shutting down")
            if self._slots.acquire(blocking=False):
                return
            if self._waiting >= self.queue:
                raise PreviewBusy(
                    f"{self.workers} previews are being drawn and {self._waiting} wait: "
                    "try again in a few seconds"
                )
            self._waiting += 1
        try:
            acquired = self._slots.acquire(timeout=self.queue_wait)
        finally:
            with self._lock:
                self._waiting -= 1
        if not acquired:
            raise PreviewBusy(
                f"no preview could be drawn within {self.queue_wait:g} s ({self.workers} at "
                "once): try again in a few seconds"
            )

    def _take(self) -> _Process:
        with self._lock:
            while self._idle:
                process = self._idle.pop()
                if process.alive:
                    return process
                self._all.discard(process)
        process = _Process(self.memory)
        with self._lock:
            self._all.add(process)
            closed = self._closed
        if closed:
            self._drop(process)
            raise PreviewBusy("the preview service is shutting down")
        return process

    def _give_back(self, process: _Process) -> None:
        with self._lock:
            if not self._closed and process.alive and process.drawings < RECYCLE:
                self._idle.append(process)
                return
        self._drop(process)

    def _drop(self, process: _Process) -> None:
        process.kill()
        with self._lock:
            self._all.discard(process)

    def prestart(self) -> None:
        """Start the drawing processes now (each takes seconds to import its libraries), so
        that the first requests do not wait for them; blocking: call it from a thread."""
        started = []
        try:
            while True:
                with self._lock:
                    if self._closed or len(self._all) >= self.workers:
                        break
                process = _Process(self.memory)
                with self._lock:
                    self._all.add(process)
                started.append(process)
        finally:
            for process in started:
                self._give_back(process)

    @property
    def drawing(self) -> int:
        """Drawings under way now (slots taken)."""
        with self._lock:
            return self._drawing

    def pids(self) -> list[int]:
        """The process ids of the drawing processes alive now."""
        with self._lock:
            return sorted(p.process.pid for p in self._all if p.alive and p.process.pid)

    def close(self) -> None:
        """Kill every drawing process; drawings under way fail, later ones are refused."""
        with self._lock:
            self._closed = True
            everyone = list(self._all)
            self._idle.clear()
        for process in everyone:
            self._drop(process)

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
