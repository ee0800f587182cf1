"""Where delivered bytes come from: one small interface, POSIX files today.

A :class:`Storage` opens a :class:`~catalog.delivery.lookup.StoredFile` (a file the catalog
harvested, found by catalog id) and gives an :class:`OpenedFile`: its size, a validator
(ETag, Last-Modified) and positional reads, so a response streams any byte range with flat
memory. An object store would be another implementation of the same two methods.

:class:`PosixStorage` serves a file only when all of these hold, else raises
:class:`FileUnavailable` with the reason (the server answers 404 and records it for the next
harvest):

- its real path (every symbolic link resolved) lies inside a directory some harvest was
  given (``hlsp.harvest_root``): a link that leaves the harvested trees is never followed;
- the resolved path is opened with ``O_NOFOLLOW``, is a regular file, and is where the
  kernel says the opened file is (on Linux: no directory became a link meanwhile);
- its size and modification time are those the harvest recorded: a file replaced or
  rewritten since is not the catalogued product, and its bytes are never served as such.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol

from catalog.delivery.lookup import StoredFile

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ROOTS_TTL = 30.0  # seconds a server process trusts its copy of the harvested roots


class FileUnavailable(Exception):
    """A catalogued file that cannot be delivered as catalogued; ``reason`` is one of
    ``gone``, ``changed``, ``outside``, ``unreadable``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class OpenedFile:
    """An open, checked file: read it with :meth:`read` (positional, thread-safe)."""

    file: StoredFile
    fd: int
    size: int
    mtime_ns: int
    real_path: str

    @property
    def etag(self) -> str:
        """A strong validator: the catalog key, size and modification time (a checksum
        when the harvest recorded one)."""
        basis = f"{self.file.key}\0{self.size}\0{self.mtime_ns}\0{self.file.checksum or ''}"
        return '"' + hashlib.sha256(basis.encode()).hexdigest()[:32] + '"'

    @property
    def last_modified(self) -> datetime:
        return EPOCH + timedelta(microseconds=self.mtime_ns // 1000)

    @property
    def last_modified_http(self) -> str:
        return format_datetime(self.last_modified.replace(microsecond=0), usegmt=True)

    @property
    def stable_path(self) -> str:
        """A path that leads to this very file while it is open, whatever is renamed or
        linked meanwhile (``/proc/self/fd/N`` on Linux; the checked real path elsewhere):
        for libraries that open by name (astropy)."""
        by_descriptor = f"/proc/self/fd/{self.fd}"
        return by_descriptor if self.fd >= 0 and Path(by_descriptor).exists() else self.real_path

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self.fd, length, offset)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Storage(Protocol):
    def open(self, file: StoredFile) -> OpenedFile:
        """Open a catalogued file for reading, or raise :class:`FileUnavailable`."""
        ...

    def local_path(self, file: StoredFile) -> str:
        """A path the data libraries (astropy) can open: the checked real path."""
        ...


def _microseconds(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def _opened_path(fd: int) -> str | None:
    """Where the kernel says an open descriptor's file is (Linux ``/proc``; None elsewhere):
    ``O_NOFOLLOW`` guards the last component only, and a directory of the checked path may
    have become a link between the check and the open."""
    try:
        return str(Path(f"/proc/self/fd/{fd}").readlink())
    except OSError:
        return None


def inside(path: str, roots: Sequence[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


class PosixStorage:
    """Files on a local or mounted file system, within the harvested roots."""

    def __init__(self, roots: Callable[[], Sequence[str]]) -> None:
        self._load_roots = roots
        self._roots: tuple[str, ...] = ()
        self._roots_at = -ROOTS_TTL
        self._lock = threading.Lock()

    def roots(self) -> tuple[str, ...]:
        with self._lock:
            if time.monotonic() - self._roots_at >= ROOTS_TTL:
                self._roots = tuple(self._load_roots())
                self._roots_at = time.monotonic()
            return self._roots

    def _checked_path(self, file: StoredFile) -> str:
        try:
            real = os.path.realpath(file.path)
        except OSError as error:  # a link replaced while it was being resolved (EINVAL)...
            raise FileUnavailable(
                "unreadable", f"{file.file_name} cannot be read ({error.strerror})"
            ) from None
        if not inside(real, self.roots()):
            raise FileUnavailable(
                "outside",
                f"{file.file_name} is no longer inside the harvested directories (a link "
                "or a move took it out); it is not served",
            )
        return real

    def open(self, file: StoredFile) -> OpenedFile:
        real = self._checked_path(file)
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK
        try:
            fd = os.open(real, flags)
        except FileNotFoundError:
            raise FileUnavailable(
                "gone", f"{file.file_name} is no longer where it was harvested"
            ) from None
        except OSError as error:
            raise FileUnavailable(
                "unreadable", f"{file.file_name} cannot be read ({error.strerror})"
            ) from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise FileUnavailable("gone", f"{file.file_name} is no longer a regular file")
            opened_at = _opened_path(fd)
            if opened_at is not None and opened_at != real:
                raise FileUnavailable(
                    "outside",
                    f"{file.file_name} was moved or linked elsewhere while it was opened; "
                    "it is not served",
                )
            if info.st_size != file.size or info.st_mtime_ns // 1000 != _microseconds(file.mtime):
                raise FileUnavailable(
                    "changed",
                    f"{file.file_name} changed on disk since it was harvested; it is served "
                    "again once the collection is harvested again",
                )
        except BaseException:
            os.close(fd)
            raise
        return OpenedFile(file, fd, info.st_size, info.st_mtime_ns, real)

    def local_path(self, file: StoredFile) -> str:
        opened = self.open(file)
        opened.close()
        return opened.real_path
