"""The delivery service of one server process: look-ups, storage, and what went missing.

:class:`Delivery` is what every delivery endpoint holds. Its :meth:`Delivery.find` is the
single entry from a request to harvested files (catalog keys → :class:`StoredFile`, through
:class:`~catalog.delivery.lookup.Deliverables`), run off the event loop behind the
``delivery`` gate (each admitted look-up has a database connection for a few milliseconds;
none is held while bytes stream). :meth:`Delivery.open` adds the storage's checks; a file
the storage refuses is recorded in ``hlsp.missing_file`` (at most once a minute per file and
process) for the next harvest, and the caller gets :class:`NotDeliverable` with a message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool

from catalog.db import Database
from catalog.delivery.lookup import Deliverables, StoredFile
from catalog.delivery.storage import FileUnavailable, OpenedFile, PosixStorage, Storage
from tap import Gate

log = logging.getLogger(__name__)

NOTE_EVERY = 60.0  # seconds between two records of the same missing file by one process
NOTED_MAX = 10_000  # files remembered as recently recorded


class NotDeliverable(Exception):
    """Nothing to deliver under this id (unknown, withdrawn, gone, changed): a 404."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Delivery:
    """Look-ups and storage for the delivery endpoints of one process."""

    def __init__(
        self,
        db: Database,
        *,
        gate: Gate,
        storage: Storage | None = None,
        public_url: str | None = None,
        authority: str | None = None,
    ) -> None:
        self.db = db
        self.gate = gate
        self.public_url = public_url
        self.authority = authority or db.settings.ivoa_authority
        self.storage: Storage = storage or PosixStorage(self._roots)
        self._noted: dict[str, float] = {}
        self._noted_lock = threading.Lock()

    # The engine is looked up at each use: the server re-sizes (re-makes) its pool at start.
    def _deliverables(self) -> Deliverables:
        return Deliverables(self.db.read_engine)

    def _roots(self) -> Sequence[str]:
        with self.db.read_engine.connect() as conn:
            roots = list(conn.execute(sa.text("SELECT root FROM hlsp.harvest_root")).scalars())
            conn.rollback()
        return roots

    async def find(self, keys: Iterable[str]) -> dict[str, StoredFile]:
        """key -> file for the keys that name deliverable files (the one look-up)."""
        wanted = list(keys)
        async with self.gate.admit():
            return await run_in_threadpool(self._deliverables().find, wanted)

    async def file(self, key: str) -> StoredFile:
        found = (await self.find([key])).get(key)
        if found is None:
            raise NotDeliverable(f"No file {key!r} in the catalog.")
        return found

    async def open(self, key: str) -> OpenedFile:
        """The opened, checked file of a key, or :class:`NotDeliverable`."""
        file = await self.file(key)
        return await self.open_file(file)

    async def open_file(self, file: StoredFile) -> OpenedFile:
        try:
            return await run_in_threadpool(self.storage.open, file)
        except FileUnavailable as error:
            await self.note_missing(file, error)
            raise NotDeliverable(error.message) from None

    async def local_path(self, file: StoredFile) -> str:
        """A checked path for the data libraries (previews, cutouts), or NotDeliverable."""
        try:
            return await run_in_threadpool(self.storage.local_path, file)
        except FileUnavailable as error:
            await self.note_missing(file, error)
            raise NotDeliverable(error.message) from None

    async def note_missing(self, file: StoredFile, error: FileUnavailable) -> None:
        now = time.monotonic()
        with self._noted_lock:
            if now - self._noted.get(file.path, -NOTE_EVERY) < NOTE_EVERY:
                return
            if len(self._noted) >= NOTED_MAX:
                self._noted.clear()
            self._noted[file.path] = now
        log.warning("delivery: %s: %s", file.key, error.message)
        try:
            await run_in_threadpool(self._record_missing, file.path, error.reason)
        except sa.exc.SQLAlchemyError as exc:  # a read-only replica, an outage: logged only
            log.warning("delivery: could not record a missing file: %s", exc)

    def _record_missing(self, path: str, reason: str) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO hlsp.missing_file (file_path, reason) VALUES (:p, :r) "
                    "ON CONFLICT (file_path) DO UPDATE SET reason = EXCLUDED.reason, "
                    "requests = hlsp.missing_file.requests + 1"
                ),
                {"p": path, "r": reason},
            )
