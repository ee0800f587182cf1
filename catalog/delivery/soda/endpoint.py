"""The SODA {sync} endpoint: :func:`soda_endpoint` makes the Starlette endpoint mounted at
``/soda/sync`` (GET and POST).

A request is parsed and checked (:mod:`catalog.delivery.soda.params`; the query string, and
for POST an ``application/x-www-form-urlencoded`` or ``multipart/form-data`` body of at most
``max_body_bytes``), its ID resolved by the caller's ``resolve`` coroutine (which raises
:class:`~catalog.delivery.soda.errors.SodaNotFound` for an ID the caller may not see), and
the file cut by :func:`~catalog.delivery.soda.cutout.cut` on a thread of the endpoint's own
pool, never on the event loop. ``slots`` cuts run at once per process; a request past them is
answered at once with 503 and Retry-After. A cut that runs past ``time_budget`` seconds is
answered with 503 too; its thread finishes the cut (a thread cannot be stopped), keeps its
slot until it has, and its file is then removed.

Answers: 200 ``application/fits`` with ``Content-Disposition: attachment;
filename="<obs_id>_cutout.fits"`` and ``Content-Length`` (the cut file is unlinked as soon as
it is open, so nothing is left behind however the download ends); 204 No Content when the cut
holds no pixel of the product (SODA 1.0 §5.1; the reason, naming the product's coverage, is in
the ``SODA-Message`` header); otherwise a ``text/plain`` error document starting with the SODA
error label (``UsageError: ...``), with the status of its
:class:`~catalog.delivery.soda.errors.SodaError` class.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import parse_qsl

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from catalog.delivery.soda.errors import (
    NoOverlap,
    ServiceUnavailable,
    SodaError,
    SodaNotFound,
    UsageError,
)
from catalog.delivery.soda.params import (
    MAX_PARAMETERS,
    MAX_VALUE_CHARS,
    SodaRequest,
    parse_request,
)

if TYPE_CHECKING:
    from catalog.delivery.soda.cutout import CutResult

__all__ = ["CutSource", "Resolver", "SodaNotFound", "soda_endpoint"]

MEDIA_TYPE = "application/fits"
CHUNK = 1 << 20
RETRY_AFTER = 5  # seconds a client is asked to wait when every slot is taken


@dataclass(frozen=True)
class CutSource:
    """What the endpoint needs of a product: its file (``path``, ``file_name``), its
    ``obs_id`` (names the download), and its ObsCore ``dataproduct_type`` and HLSP
    ``product_type``."""

    path: Path
    file_name: str
    obs_id: str | None = None
    dataproduct_type: str | None = None
    product_type: str | None = None


Resolver = Callable[[str], Awaitable[CutSource]]


class _BodyTooLarge(UsageError):
    status = 413


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge(f"the request body is {declared} bytes; at most {limit} are read")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge(f"the request body is longer than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _parameters(request: Request, max_body_bytes: int) -> list[tuple[str, str]]:
    """The request's (name, value) pairs: the query string, then a POST's form."""
    items = list(request.query_params.multi_items())
    if request.method != "POST":
        return items
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body_bytes:
            raise _BodyTooLarge(
                f"the request body is {declared} bytes; at most {max_body_bytes} are read"
            )
        try:
            form = await request.form(
                max_files=0, max_fields=MAX_PARAMETERS, max_part_size=4 * MAX_VALUE_CHARS
            )
        except Exception as e:  # starlette's MultiPartException and parser errors
            raise UsageError(f"the multipart body cannot be read: {e}") from None
        return items + [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    body = await _body(request, max_body_bytes)
    if content_type not in {"", "application/x-www-form-urlencoded"}:
        raise UsageError(
            f"a POST body must be a form (application/x-www-form-urlencoded), not {content_type}"
        )
    try:
        text = body.decode("utf-8")
        return items + parse_qsl(
            text, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_PARAMETERS
        )
    except UnicodeDecodeError:
        raise UsageError("the request body is not UTF-8 text") from None
    except ValueError:
        raise UsageError(f"too many parameters: at most {MAX_PARAMETERS} are read") from None


def _header_text(text: str) -> str:
    return " ".join(text.encode("ascii", "replace").decode("ascii").split())[:1000]


def _error(error: SodaError) -> Response:
    if isinstance(error, NoOverlap):
        return Response(status_code=204, headers={"SODA-Message": _header_text(error.message)})
    headers = {"Retry-After": str(RETRY_AFTER)} if error.status == 503 else None
    return PlainTextResponse(error.document, status_code=error.status, headers=headers)


def _attachment(file_name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "._+-" else "_" for c in file_name)
    return f'attachment; filename="{safe}"'


async def _chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await anyio.to_thread.run_sync(handle.read, CHUNK):
            yield chunk
    finally:
        handle.close()


def _stream(result: CutResult) -> Response:
    handle = result.path.open("rb")
    result.path.unlink()  # the open handle keeps the data until the download ends
    return StreamingResponse(
        _chunks(handle),
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": _attachment(result.file_name),
            "Content-Length": str(os.fstat(handle.fileno()).st_size),
        },
    )


def _cut(path: Path, soda_request: SodaRequest, **options: Any) -> CutResult:
    """:func:`~catalog.delivery.soda.cutout.cut`, imported on the cut's thread: astropy
    loads when the first cutout is asked for, not when the application starts."""
    from catalog.delivery.soda.cutout import cut

    return cut(path, soda_request, **options)


def _discard(future: Future[CutResult]) -> None:
    """Remove the file of a cut nobody waits for any more."""
    if not future.cancelled() and future.exception() is None:
        future.result().path.unlink(missing_ok=True)


def soda_endpoint(
    resolve: Resolver,
    *,
    max_output_bytes: int,
    slots: int = 2,
    time_budget: float = 30.0,
    max_body_bytes: int = 65_536,
    work_dir: Path | None = None,
) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint (see the module docstring): ``resolve`` maps an ID to its
    :class:`CutSource`; ``max_output_bytes`` bounds a cutout; ``slots`` cuts run at once;
    ``time_budget`` seconds a cut may take; ``work_dir`` holds cut files while they are
    written (the system's temporary directory by default)."""
    pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="soda-cut")
    running = 0

    def release() -> None:
        nonlocal running
        running -= 1

    async def run(source: CutSource, soda_request: SodaRequest) -> CutResult:
        nonlocal running
        if running >= slots:
            raise ServiceUnavailable(
                f"{slots} cutouts are being made; try again in {RETRY_AFTER} seconds"
            )
        loop = asyncio.get_running_loop()

        def done(_: Future[CutResult]) -> None:  # on the cut's thread: the counter is the loop's
            with suppress(RuntimeError):  # the loop has closed: nothing is counted any more
                loop.call_soon_threadsafe(release)

        running += 1
        job = partial(
            _cut,
            source.path,
            soda_request,
            max_output_bytes=max_output_bytes,
            name=source.obs_id or source.file_name,
            work_dir=work_dir,
        )
        future = pool.submit(job)
        future.add_done_callback(done)
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), time_budget)
        except TimeoutError:
            future.add_done_callback(_discard)
            raise ServiceUnavailable(
                f"the cutout took longer than {time_budget:g} seconds; ask for a smaller one "
                "or try again later"
            ) from None

    async def endpoint(request: Request) -> Response:
        try:
            soda_request = parse_request(await _parameters(request, max_body_bytes))
            if soda_request.id is None:
                raise UsageError("ID is required: the identifier of the product to cut")
            source = await resolve(soda_request.id)
            result = await run(source, soda_request)
        except SodaError as error:
            return _error(error)
        return _stream(result)

    return endpoint
