"""The on-disk cache of drawn previews, shared by every server process and ``hlsp previews``.

An entry's key is the product's catalog identity (collection, file name, variant and size)
*and* the state of its file when asked (size and mtime in nanoseconds, from a fresh stat),
with :data:`VERSION` of the drawing code: a file rewritten or touched gets a new preview, and
the old one ages out. Entries are ``<dir>/<hh>/<sha256>.png``:

- **written atomically** (a temporary file renamed into place), and checked when read (the
  PNG signature first, the IEND chunk last): a damaged entry is drawn again, never served;
- **made once**: the maker holds an exclusive ``flock`` on one of 256 lock files
  (``<dir>/locks/<hh>.lock``, by the key's first byte), so a second request for the same
  preview, from another thread or another process, waits for the first's result and finds
  it on disk instead of drawing it again;
- **failures remembered** for ``failure_seconds`` (``<sha256>.failed``, the error's code and
  message): a damaged file is not drawn again on every request;
- **bounded**: when the entries pass ``max_bytes``, the least recently used (by mtime, which
  a hit refreshes) are removed down to 90 % of it; an entry used in the last ``grace``
  seconds is kept (a server may be about to send it). The total is looked at (a scan of the
  directory) each time a process has written another 1 % of ``max_bytes``, so the cache
  may pass its bound by 1 % per process at most.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from catalog.delivery.previews.errors import PreviewBudgetExceeded, PreviewBusy, PreviewError

VERSION = 1  # of the drawings: a new version makes every preview anew
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_FAILURES: dict[str, type[PreviewError]] = {
    PreviewError.code: PreviewError,
    PreviewBudgetExceeded.code: PreviewBudgetExceeded,
}
_TOUCH_AFTER = 60.0  # seconds between two refreshes of an entry's mtime by hits


@dataclass
class CacheStats:
    """What this cache object did (one process's view): previews ``made``, ``hits``
    (served from disk, made by anyone), remembered ``failures`` served, entries ``evicted``."""

    made: int = 0
    hits: int = 0
    failures: int = 0
    evicted: int = 0


def is_png(path: Path) -> bool:
    """Whether ``path`` is a whole PNG file: its signature first and its IEND chunk last."""
    try:
        with path.open("rb") as file:
            if file.read(8) != PNG_SIGNATURE:
                return False
            file.seek(-len(PNG_END), os.SEEK_END)
            return file.read() == PNG_END
    except OSError:
        return False


class PreviewCache:
    """Previews on disk under ``directory`` (see the module's docstring)."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int,
        failure_seconds: float = 300.0,
        wait: float = 60.0,
        grace: float = 10.0,
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.failure_seconds = failure_seconds
        self.wait = wait
        self.grace = grace
        self.stats = CacheStats()
        self._count = threading.Lock()
        self._unscanned = 0  # bytes this object wrote since its last look at the total

    def key(self, identity: tuple[str, ...], source: Path) -> str:
        """The entry's key: ``identity`` and the current size and mtime of ``source``."""
        try:
            state = source.stat()
        except FileNotFoundError:
            raise PreviewError(f"{source.name} is missing from the server's disk") from None
        except OSError as error:
            raise PreviewError(f"{source.name} cannot be examined ({error.strerror})") from None
        text = json.dumps([VERSION, *identity, state.st_size, state.st_mtime_ns])
        return hashlib.sha256(text.encode()).hexdigest()

    def entry(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.png"

    def get(
        self,
        identity: tuple[str, ...],
        source: Path,
        make: Callable[[], bytes],
        *,
        force: bool = False,
    ) -> Path:
        """The path of the cached PNG for ``identity`` in ``source``'s current state, made by
        ``make`` (at most once at a time for one key, across processes) when there is none.
        Raises what ``make`` raises; a :class:`PreviewError` is remembered for a while.
        ``force``: make it again, whatever is cached or remembered."""
        key = self.key(identity, source)
        path = self.entry(key)
        if not force:
            found = self._cached(path)
            if found is not None:
                return found
        with self._locked(key):
            if not force:
                found = self._cached(path)
                if found is not None:
                    return found
            return self._make(path, make)

    def _cached(self, path: Path) -> Path | None:
        """The entry when it is whole; a remembered failure raised; None when neither."""
        if is_png(path):
            self._touch(path)
            self._add("hits")
            return path
        failed = path.with_suffix(".failed")
        try:
            age = time.time() - failed.stat().st_mtime
            if age < self.failure_seconds:
                record = json.loads(failed.read_text(encoding="utf-8"))
                self._add("failures")
                raise _FAILURES.get(record.get("code"), PreviewError)(str(record["message"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # none, or unreadable: as if none
        return None

    def _make(self, path: Path, make: Callable[[], bytes]) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        failed = path.with_suffix(".failed")
        try:
            png = make()
        except PreviewBusy:
            raise
        except PreviewError as error:
            record = {"code": error.code, "message": error.message}
            self._write(failed, json.dumps(record).encode())
            raise
        with contextlib.suppress(FileNotFoundError):
            failed.unlink()
        self._write(path, png)
        self._add("made")
        with self._count:
            self._unscanned += len(png)
            scan = self._unscanned >= self.max_bytes // 100
            if scan:
                self._unscanned = 0
        if scan:
            self.evict()
        return path

    def _write(self, path: Path, data: bytes) -> None:
        handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            Path(temporary).replace(path)
        except BaseException:
            with contextlib.suppress(OSError):
                Path(temporary).unlink()
            raise

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        """Hold the lock of ``key``'s stripe; waits up to ``wait`` s, else PreviewBusy."""
        locks = self.directory / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        with (locks / f"{key[:2]}.lock").open("a+b") as file:
            deadline = time.monotonic() + self.wait
            delay = 0.005
            while True:
                try:
                    fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise PreviewBusy(
                            f"the preview has been drawn by another request for over "
                            f"{self.wait:g} s: try again later"
                        ) from None
                    time.sleep(delay)
                    delay = min(delay * 2, 0.1)
            try:
                yield
            finally:
                fcntl.flock(file.fileno(), fcntl.LOCK_UN)

    def _touch(self, path: Path) -> None:
        with contextlib.suppress(OSError):
            if time.time() - path.stat().st_mtime > _TOUCH_AFTER:
                os.utime(path)

    def _add(self, counter: str, count: int = 1) -> None:
        with self._count:
            setattr(self.stats, counter, getattr(self.stats, counter) + count)

    def size(self) -> tuple[int, list[tuple[float, int, Path]]]:
        """The bytes of all entries, and (mtime, bytes, path) of each."""
        entries: list[tuple[float, int, Path]] = []
        for folder in self.directory.glob("[0-9a-f][0-9a-f]"):
            with contextlib.suppress(OSError):
                for item in os.scandir(folder):
                    with contextlib.suppress(OSError):
                        info = item.stat()
                        entries.append((info.st_mtime, info.st_size, Path(item.path)))
        return sum(e[1] for e in entries), entries

    def evict(self) -> int:
        """Remove the least recently used entries when they pass ``max_bytes`` (one process
        at a time; another one evicting makes this a no-op). Returns the entries removed."""
        locks = self.directory / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        with (locks / "evict.lock").open("a+b") as file:
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0
            total, entries = self.size()
            if total <= self.max_bytes:
                return 0
            target, removed, now = int(self.max_bytes * 0.9), 0, time.time()
            for mtime, size, path in sorted(entries):
                if total <= target or now - mtime < self.grace:
                    break
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    total -= size
                    removed += 1
            self._add("evicted", removed)
            return removed
