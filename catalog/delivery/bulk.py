"""Bulk retrieval: many products at once, as a download script or as one streamed archive.

    GET|POST /bulk/script                   a bash script of curl commands, one per file
    GET|POST /bulk/archive?format=zip|tar   the files in one archive (zip by default)

The products are named by ``ID`` parameters or a POSTed TAP result
(:mod:`catalog.delivery.bulk_ids`); each ID goes through the one look-up
(:meth:`Delivery.find <catalog.delivery.service.Delivery.find>`), and what it does not find
is said: in comments of the script, in ``MISSING.txt`` inside the archive. Files sit in
``<hlsp_id>/<file name>`` in both.

An archive is refused before anything streams when its catalogued size passes
``HLSP_BULK_MAX_BYTES`` (413, saying the total and the limit, pointing to the script), and
when the process already streams ``HLSP_BULK_ARCHIVES`` archives (503 with
``Retry-After``); its files are opened once before the answer starts, so that the
``Content-Length`` holds and ``MISSING.txt`` says from the start which could not be.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from catalog.config import BulkSettings
from catalog.delivery.archives import LAYOUTS, ArchiveResponse, Entry, Layout, member_name
from catalog.delivery.bulk_ids import BadRequest, BulkRequest, key_of, read_request
from catalog.delivery.download_script import ScriptFile, comment, download_script, human_bytes
from catalog.delivery.lookup import MAX_KEYS, StoredFile
from catalog.delivery.service import Delivery
from catalog.delivery.storage import FileUnavailable
from catalog.delivery.urls import file_url, public_base
from tap import Gate, GateLimits, Overloaded, Slot

NO_IDS = (
    "Name the products with ID parameters (publisher DIDs, hlsp_id/file_name keys or access "
    "URLs), in the query string or a POSTed form, or POST a TAP result (VOTable or CSV) with "
    "an obs_publisher_did or access_url column."
)
NOT_A_KEY = "not a catalog ID (a publisher DID, hlsp_id/file_name, or an access URL)"
NOT_FOUND = "not in the catalog"


class Refused(Exception):
    """A bulk request answered with an error: its status, message and ``Retry-After``."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after

    def response(self) -> Response:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        return PlainTextResponse(self.message.rstrip() + "\n", self.status, headers=headers)

    @classmethod
    def busy(cls, error: Overloaded) -> Refused:
        return cls(503, error.message, error.retry_after)


@dataclass(frozen=True)
class Resolved:
    """The files a request's IDs name, in request order, once each; the IDs naming none
    (as given, and why)."""

    files: list[StoredFile]
    not_found: list[tuple[str, str]]


async def resolve(delivery: Delivery, ids: Sequence[str]) -> Resolved:
    """Look the IDs up (the one look-up, in batches of at most its bound)."""
    keys = {given: key_of(given) for given in ids}
    wanted = sorted({k for k in keys.values() if k is not None})
    found: dict[str, StoredFile] = {}
    for start in range(0, len(wanted), MAX_KEYS):
        found |= await delivery.find(wanted[start : start + MAX_KEYS])
    files: list[StoredFile] = []
    seen: set[str] = set()
    not_found: list[tuple[str, str]] = []
    for given, key in keys.items():
        if key is None:
            not_found.append((given, NOT_A_KEY))
        elif key not in found:
            not_found.append((given, NOT_FOUND))
        elif key not in seen:
            seen.add(key)
            files.append(found[key])
    return Resolved(files, not_found)


def _nothing_found(resolved: Resolved) -> str:
    shown = "; ".join(f"{comment(g)}: {why}" for g, why in resolved.not_found[:10])
    more = len(resolved.not_found) - 10
    tail = f" (and {more} more)" if more > 0 else ""
    return f"None of the {len(resolved.not_found)} IDs names a file of the catalog: {shown}{tail}."


async def _openable(
    delivery: Delivery, files: Sequence[StoredFile]
) -> tuple[list[StoredFile], list[tuple[StoredFile, FileUnavailable]]]:
    """The files the storage opens now (each closed again at once), and those it refuses
    (recorded as missing for the next harvest), checked in one worker thread."""

    def check() -> tuple[list[StoredFile], list[tuple[StoredFile, FileUnavailable]]]:
        good: list[StoredFile] = []
        bad: list[tuple[StoredFile, FileUnavailable]] = []
        for file in files:
            try:
                delivery.storage.open(file).close()
            except FileUnavailable as error:
                bad.append((file, error))
            else:
                good.append(file)
        return good, bad

    good, bad = await run_in_threadpool(check)
    for file, error in bad:
        await delivery.note_missing(file, error)
    return good, bad


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def _release(*slots: Slot) -> None:
    for slot in slots:
        slot.release()


def _members(good: Sequence[StoredFile], missing: list[str]) -> list[tuple[Entry, StoredFile]]:
    members: list[tuple[Entry, StoredFile]] = []
    for file in good:
        try:
            name = member_name(file.hlsp_id, file.file_name)
        except ValueError:
            missing.append(f"{comment(file.key)}\tits name cannot be a path in an archive")
            continue
        members.append((Entry(name, file.size, file.mtime.timestamp()), file))
    return members


class BulkEndpoints:
    """The bulk endpoints of one process; ``downloads``: the process's download slots (an
    archive holds one, and one of its own gate, ``HLSP_BULK_ARCHIVES`` wide)."""

    def __init__(self, delivery: Delivery, downloads: Gate, limits: BulkSettings) -> None:
        self.delivery = delivery
        self.downloads = downloads
        self.limits = limits
        self.archives = Gate("archives", GateLimits(self.limits.archives, 0, 0.0))

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/bulk/script", self.script, methods=["GET", "POST"]),
            Route("/bulk/archive", self.archive, methods=["GET", "POST"]),
        ]

    async def _asked(self, request: Request) -> tuple[BulkRequest, Resolved]:
        """The request's parameters and the files its IDs name (at least one), or Refused."""
        try:
            bulk = await read_request(
                request, max_ids=self.limits.max_files, max_body=self.limits.max_body_bytes
            )
            if not bulk.ids:
                raise Refused(400, NO_IDS)
            resolved = await resolve(self.delivery, bulk.ids)
        except BadRequest as error:
            raise Refused(error.status, error.message) from None
        except Overloaded as error:
            raise Refused.busy(error) from None
        if not resolved.files:
            raise Refused(404, _nothing_found(resolved))
        return bulk, resolved

    async def script(self, request: Request) -> Response:
        try:
            _, resolved = await self._asked(request)
        except Refused as refused:
            return refused.response()
        base = public_base(request, self.delivery.public_url)
        files = [
            ScriptFile(f.hlsp_id, f.file_name, file_url(base, f.hlsp_id, f.file_name), f.size)
            for f in resolved.files
        ]
        body = download_script(files, resolved.not_found, generated=datetime.now(UTC), source=base)
        return Response(
            body,
            media_type="text/x-shellscript; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="hlsp-download-{_stamp()}.sh"',
                "Cache-Control": "private, no-store",
            },
        )

    async def archive(self, request: Request) -> Response | ArchiveResponse:
        try:
            try:
                self.archives.check()  # refused before the body is read
            except Overloaded as error:
                raise Refused.busy(error) from None
            bulk, resolved = await self._asked(request)
            kind = bulk.params.get("FORMAT", "zip").strip().lower()
            layout = LAYOUTS.get(kind)
            if layout is None:
                raise Refused(400, f"FORMAT must be zip or tar, not {comment(kind)!r}.")
            self._within_limit(resolved.files)
            return await self._start(layout, resolved)
        except Refused as refused:
            return refused.response()

    def _within_limit(self, files: Sequence[StoredFile]) -> None:
        total = sum(f.size for f in files)
        if total > self.limits.max_bytes:
            raise Refused(
                413,
                f"The {len(files)} files come to {human_bytes(total)}, more than the "
                f"{human_bytes(self.limits.max_bytes)} an archive may hold "
                "(HLSP_BULK_MAX_BYTES). Ask /bulk/script with the same IDs for a script that "
                "downloads them one by one (and resumes), or ask for fewer files at a time.",
            )

    async def _start(self, layout: Layout, resolved: Resolved) -> ArchiveResponse:
        try:
            slot = await self.archives.acquire()
        except Overloaded as error:
            raise Refused.busy(error) from None
        try:
            stream = await self.downloads.acquire()
        except Overloaded as error:
            slot.release()
            raise Refused.busy(error) from None
        try:
            good, bad = await _openable(self.delivery, resolved.files)
            missing = [f"{comment(given)}\t{why}" for given, why in resolved.not_found]
            missing += [f"{f.key}\t{error.message}" for f, error in bad]
            members = _members(good, missing)
            if not members:
                lines = "\n".join(missing[:20])
                raise Refused(404, f"None of the files can be delivered now:\n{lines}")
        except BaseException:
            _release(slot, stream)
            raise
        return ArchiveResponse(
            self.delivery,
            layout,
            members,
            missing,
            file_name=f"hlsp-download-{_stamp()}.{layout.extension}",
            done=lambda: _release(slot, stream),
        )


def bulk_routes(delivery: Delivery, downloads: Gate, limits: BulkSettings) -> list[BaseRoute]:
    """The bulk endpoints as Starlette routes (``limits``: the ``HLSP_BULK_*`` settings)."""
    return BulkEndpoints(delivery, downloads, limits).routes()
