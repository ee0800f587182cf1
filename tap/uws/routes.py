"""HTTP endpoints of ``/async`` (UWS 1.1 §2.2), relative to the TAP base path.

Successful changes answer 303 to the job (or, after a delete, to the job list). Errors
are text/plain: 400 bad value, 403 not allowed in this phase (UWS 1.1 §2.2) or someone
else's job (UWS 1.1 §3), 404 unknown job (§2.2), 413 uploads too large, 503 database down.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import psycopg
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from tap.admission import Overloaded
from tap.errors import FormError
from tap.form import Files, read_form
from tap.params import Params
from tap.uws import documents
from tap.uws.errors import (
    HttpJobError,
    JobForbidden,
    JobNotFound,
    JobPhaseError,
    JobRequestError,
    JobStoreUnavailable,
    JobTooLarge,
    ParametersTooLarge,
)
from tap.uws.jobs import (
    CONTROL_PARAMETERS,
    ERROR,
    EXECUTING,
    PENDING,
    RESULT_ID,
    WAITABLE,
    Job,
    format_time,
    utc_now,
)
from tap.uws.params import (
    INT32_MAX,
    parameters_size,
    parameters_too_large,
    parse_int,
    parse_phases,
    parse_time,
    shown,
)
from tap.uws.store import INPUT, RESULT, UNSTORABLE, is_job_id

if TYPE_CHECKING:
    from tap.uws.service import UwsService

log = logging.getLogger("tap.uws")
Handler = Callable[[Request], Awaitable[Response]]
TEXT = "text/plain; charset=utf-8"


def check_storable(pairs: Iterable[tuple[str, str]]) -> None:
    """JobRequestError for the first name or value PostgreSQL could not store as text: a NUL
    character, or a lone UTF-16 surrogate (a multipart part in a UTF-16 charset can decode to
    one)."""
    for name, value in pairs:
        if UNSTORABLE.search(name):
            raise JobRequestError(
                f"The parameter name {shown(name)} contains a NUL character or an unpaired "
                "surrogate (U+0000, U+D800-U+DFFF), which cannot be stored; remove it."
            )
        if UNSTORABLE.search(value):
            raise JobRequestError(
                f"The value of parameter {shown(name)} contains a NUL character or an unpaired "
                "surrogate (U+0000, U+D800-U+DFFF), which cannot be stored; remove it."
            )


def _guarded(handler: Handler) -> Handler:
    """Turn job errors and unreadable requests into their status, database outages into
    503, anything else into a logged 500 with a short message (UWS: machinery failure)."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except (HttpJobError, FormError) as exc:
            return PlainTextResponse(exc.message + "\n", status_code=exc.status, media_type=TEXT)
        except Overloaded as exc:
            return PlainTextResponse(
                exc.message + "\n",
                status_code=503,
                media_type=TEXT,
                headers={"Retry-After": str(exc.retry_after)},
            )
        except (sa.exc.OperationalError, sa.exc.TimeoutError, psycopg.OperationalError):
            log.exception("UWS: the job database is unavailable")
            exc2 = JobStoreUnavailable("The job database is unavailable; try again later.")
            return PlainTextResponse(exc2.message + "\n", status_code=exc2.status)
        except Exception:
            log.exception("UWS: %s %s failed", request.method, request.url.path)
            return PlainTextResponse(
                "Internal error of the job service; it was logged.\n", status_code=500
            )

    return wrapper


class _Endpoints:
    def __init__(self, svc: UwsService) -> None:
        self.svc = svc
        self.store = svc.store
        self.limits = svc.limits
        self.form_limits = svc.limits.form()

    # -- helpers --------------------------------------------------------------------------------

    def base(self, request: Request) -> str:
        if self.svc.base_url:
            return self.svc.base_url
        url = request.url
        return f"{url.scheme}://{url.netloc}{request.scope.get('root_path', '')}".rstrip("/")

    def job_url(self, request: Request, job_id: str) -> str:
        return f"{self.base(request)}/async/{job_id}"

    def see_job(self, request: Request, job_id: str) -> Response:
        return RedirectResponse(self.job_url(request, job_id), status_code=303)

    async def job(self, request: Request) -> Job:
        """The job of the URL; 404 if there is none, 403 if it is someone else's (UWS §3).

        Anything that is not a well-formed job id is a 404 without a look-up."""
        job_id = request.path_params["job_id"]
        job = await self.svc.run(self.store.get_any, job_id) if is_job_id(job_id) else None
        if job is None:
            raise JobNotFound(
                f"There is no job {shown(job_id)} (it may have been deleted or destroyed); "
                "use the job URL this service gave when the job was created."
            )
        if job.owner_id is not None and job.owner_id != self.svc.owner_of(request):
            raise JobForbidden(
                f"Job {job_id} belongs to another user; sign in as its owner to see or change it."
            )
        return job

    async def blob(self, job_id: str, kind: str, name: str) -> AsyncIterator[bytes]:
        """A stored result or upload, chunk by chunk, each read admitted by the gate (a slow
        reader holds no connection between chunks). The first chunk is read before the
        response starts (a full gate is still a 503); the others wait their turn whatever
        the queue, since the client already has the headers."""
        first = await self.svc.run(self.store.read_chunk, job_id, kind, name, 0)
        return self._chunks(first, job_id, kind, name)

    async def _chunks(
        self, data: bytes | None, job_id: str, kind: str, name: str
    ) -> AsyncIterator[bytes]:
        seq = 0
        while data is not None:
            yield data
            seq += 1
            data = await self.svc.run(self.store.read_chunk, job_id, kind, name, seq, patient=True)

    @asynccontextmanager
    async def read(self, request: Request) -> AsyncIterator[tuple[Params, Files]]:
        """The request's parameters and uploaded files (open until the block ends), each
        name and value one that the job store can keep (:func:`check_storable`)."""
        async with read_form(request, self.form_limits, check=check_storable) as read:
            yield read

    async def params(self, request: Request) -> Params:
        """The request's parameters, where uploaded files mean nothing."""
        async with self.read(request) as (params, _):
            return params

    async def store_files(self, job_id: str, files: Files) -> list[str]:
        """Copy uploaded files into the store (chunk by chunk); the upload limit applies."""
        total = 0
        names = []
        for name, upload in files:
            await self.svc.run(self.store.delete_input, job_id, name)
            seq = 0
            while chunk := await upload.read(self.store.chunk_size):
                total += len(chunk)
                if total > self.limits.upload_limit:
                    raise JobTooLarge(
                        f"The uploaded files exceed the upload limit of "
                        f"{self.limits.upload_limit} bytes; upload smaller tables."
                    )
                await self.svc.run(self.store.write_input, job_id, name, seq, chunk)
                seq += 1
            if seq == 0:
                await self.svc.run(self.store.write_input, job_id, name, 0, b"")
            names.append(name)
        return names

    @staticmethod
    def job_parameters(params: Params) -> dict[str, list[str]]:
        return {k: v for k, v in params.grouped().items() if k not in CONTROL_PARAMETERS}

    def duration(self, params: Params) -> int | None:
        text = params.last("executionduration")
        if text is None:
            return None
        return self.limits.execution_duration(
            parse_int("EXECUTIONDURATION", text, minimum=0, maximum=INT32_MAX)
        )

    def destruction_time(self, text: str) -> dt.datetime:
        """A requested destruction time (capped by the limits); the past is refused."""
        requested = parse_time("DESTRUCTION", text)
        if requested <= utc_now():
            raise JobRequestError(
                f"DESTRUCTION={shown(text)} is in the past; give a future date-time, or "
                "DELETE the job to destroy it now."
            )
        return self.limits.destruction(requested)

    # -- the job list ---------------------------------------------------------------------------

    async def jobs(self, request: Request) -> Response:
        if request.method == "POST":
            return await self.create(request)
        params = Params(request.query_params.multi_items())
        phases = parse_phases(params.all("phase"))
        after_text = params.last("after")
        after = parse_time("AFTER", after_text) if after_text is not None else None
        last_text = params.last("last")
        last_n = parse_int("LAST", last_text, minimum=1) if last_text is not None else None
        refs = await self.svc.run(
            functools.partial(
                self.store.list_jobs,
                self.svc.owner_of(request),
                phases=phases,
                after=after,
                last=last_n,
                limit=self.limits.job_list_limit,
            )
        )
        return Response(documents.job_list(refs, self.base(request)), media_type=documents.XML_TYPE)

    async def create(self, request: Request) -> Response:
        async with self.read(request) as (params, files):
            phase = params.last("phase")
            if phase is not None and phase.upper() != "RUN":
                raise JobRequestError(
                    f"PHASE={shown(phase)} cannot create a job; send PHASE=RUN to start it at "
                    "once, or no PHASE to create it PENDING."
                )
            duration = self.duration(params)
            destruction_text = params.last("destruction")
            destruction = (
                self.destruction_time(destruction_text)
                if destruction_text
                else self.limits.destruction(None)
            )
            values = self.job_parameters(params)
            if parameters_size(values) > self.limits.parameter_limit:
                raise ParametersTooLarge(parameters_too_large(self.limits.parameter_limit))
            job = await self.svc.run(
                functools.partial(
                    self.store.create,
                    owner_id=self.svc.owner_of(request),
                    context=self.svc.context_of(request),
                    run_id=params.last("runid"),
                    parameters=values,
                    execution_duration=duration
                    if duration is not None
                    else self.limits.execution_duration(None),
                    destruction=destruction,
                    inputs=[name for name, _ in files],
                )
            )
            try:
                await self.store_files(job.job_id, files)
            except BaseException:
                await self.svc.run(self.store.delete, job.job_id)
                raise
        if phase is not None:
            await self.svc.run(self.store.run, job.job_id)
        return self.see_job(request, job.job_id)

    # -- one job --------------------------------------------------------------------------------

    async def job_resource(self, request: Request) -> Response:
        if request.method == "DELETE":
            return await self.delete(request)
        if request.method == "POST":
            params = await self.params(request)
            action = params.last("action")
            if action is not None and action.upper() == "DELETE":
                return await self.delete(request)
            raise JobRequestError(
                "A POST to a job URL only takes ACTION=DELETE. Send parameters to "
                "…/parameters, PHASE to …/phase, EXECUTIONDURATION to …/executionduration "
                "and DESTRUCTION to …/destruction."
            )
        params = Params(request.query_params.multi_items())
        job = await self.job(request)
        wait_text = params.last("wait")
        if wait_text is not None:
            wait = parse_int("WAIT", wait_text, minimum=-1)
            wanted = params.last("phase")
            if wanted is not None:
                parse_phases([wanted])
            if wait != 0:
                job = await self.wait(request, job, self.limits.wait_seconds(wait), wanted)
        return Response(
            documents.job_document(job, self.job_url(request, job.job_id)),
            media_type=documents.XML_TYPE,
        )

    async def wait(self, request: Request, job: Job, timeout: float, wanted: str | None) -> Job:
        """Block (without a thread) while the job stays in its phase (UWS 1.1 §2.2.1.1)."""
        if job.phase not in WAITABLE or (wanted is not None and wanted.upper() != job.phase):
            return job
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        start_phase = job.phase
        with self.svc.waiters.watch(job.job_id) as changed:
            current: Job | None = job
            while True:
                changed.clear()
                current = await self.svc.run(self.store.get_any, job.job_id)
                if current is None:
                    raise JobNotFound(f"Job {job.job_id} was deleted while you waited.")
                remaining = deadline - loop.time()
                if current.phase != start_phase or remaining <= 0:
                    return current
                try:
                    await asyncio.wait_for(
                        changed.wait(), min(remaining, self.svc.recheck_interval)
                    )
                except TimeoutError:
                    if await request.is_disconnected():
                        return current

    async def delete(self, request: Request) -> Response:
        job = await self.job(request)
        await self.svc.run(self.store.delete, job.job_id)
        return RedirectResponse(f"{self.base(request)}/async", status_code=303)

    async def phase(self, request: Request) -> Response:
        job = await self.job(request)
        if request.method == "GET":
            return PlainTextResponse(job.phase, media_type=TEXT)
        params = await self.params(request)
        value = (params.last("phase") or "").strip().upper()
        if value == "RUN":
            await self.svc.run(self.store.run, job.job_id)
        elif value == "ABORT":
            await self.svc.run(self.store.abort, job.job_id)
        else:
            raise JobRequestError(
                f"PHASE={shown(params.last('phase') or '')} is not allowed here; "
                "send PHASE=RUN to start the job or PHASE=ABORT to stop it."
            )
        return self.see_job(request, job.job_id)

    async def execution_duration(self, request: Request) -> Response:
        job = await self.job(request)
        if request.method == "GET":
            return PlainTextResponse(str(job.execution_duration), media_type=TEXT)
        params = await self.params(request)
        seconds = self.duration(params)
        if seconds is None:
            raise JobRequestError(
                "Send EXECUTIONDURATION=<seconds> (0 asks for the maximum, "
                f"{self.limits.max_execution_duration} s)."
            )
        if await self.svc.run(self.store.set_execution_duration, job.job_id, seconds) is None:
            raise JobPhaseError(
                f"The job is {job.phase}: its execution duration can only be changed "
                "before it runs (PENDING). Create a new job with the duration you need."
            )
        return self.see_job(request, job.job_id)

    async def destruction(self, request: Request) -> Response:
        job = await self.job(request)
        if request.method == "GET":
            text = format_time(job.destruction) if job.destruction else ""
            return PlainTextResponse(text, media_type=TEXT)
        params = await self.params(request)
        value = params.last("destruction")
        if not value:
            raise JobRequestError(
                "Send DESTRUCTION=<ISO 8601 UTC date-time>, e.g. "
                f"{format_time(job.destruction or utc_now())}."
            )
        when = self.destruction_time(value)
        await self.svc.run(self.store.set_destruction, job.job_id, when)
        return self.see_job(request, job.job_id)

    async def quote(self, request: Request) -> Response:
        job = await self.job(request)
        return PlainTextResponse(format_time(job.quote) if job.quote else "", media_type=TEXT)

    async def owner(self, request: Request) -> Response:
        job = await self.job(request)
        return PlainTextResponse(job.owner_id or "", media_type=TEXT)

    async def parameters(self, request: Request) -> Response:
        job = await self.job(request)
        url = self.job_url(request, job.job_id)
        if request.method == "GET":
            return Response(documents.parameters_document(job, url), media_type=documents.XML_TYPE)
        async with self.read(request) as (params, files):
            values = self.job_parameters(params)
            updated = await self.svc.run(
                functools.partial(
                    self.store.set_parameters,
                    job.job_id,
                    values,
                    accumulate=self.svc.multi_valued,
                    inputs=[name for name, _ in files],
                    max_bytes=self.limits.parameter_limit,
                )
            )
            if updated is None:
                raise JobPhaseError(
                    f"The job is {job.phase}: parameters can only be changed while it is "
                    f"{PENDING}. Create a new job instead."
                )
            await self.store_files(job.job_id, files)
        return self.see_job(request, job.job_id)

    async def parameter(self, request: Request) -> Response:
        job = await self.job(request)
        name = request.path_params["name"]
        if name in job.inputs:
            chunks = await self.blob(job.job_id, INPUT, name)
            return StreamingResponse(chunks, media_type="application/octet-stream")
        value = job.parameter(name)
        if value is None:
            raise JobNotFound(f"Job {job.job_id} has no parameter {shown(name)}.")
        return PlainTextResponse(";".join(job.parameters[name.lower()]), media_type=TEXT)

    async def results(self, request: Request) -> Response:
        job = await self.job(request)
        return Response(
            documents.results_document(job, self.job_url(request, job.job_id)),
            media_type=documents.XML_TYPE,
        )

    async def result(self, request: Request) -> Response:
        job = await self.job(request)
        if request.path_params["result_id"] != RESULT_ID or job.result is None:
            state = "is still running" if job.phase == EXECUTING else f"is {job.phase}"
            raise JobNotFound(
                f"Job {job.job_id} has no result {shown(request.path_params['result_id'])}: it "
                f"{state}. The result of a COMPLETED job is …/results/{RESULT_ID}."
            )
        chunks = await self.blob(job.job_id, RESULT, RESULT)
        return StreamingResponse(
            chunks,
            media_type=job.result.content_type,
            headers={"Content-Length": str(job.result.size)},
        )

    async def error(self, request: Request) -> Response:
        job = await self.job(request)
        if job.phase != ERROR or job.error is None:
            raise JobNotFound(
                f"Job {job.job_id} is {job.phase}, not ERROR: it has no error document."
            )
        body, media_type = self.svc.render_error(job.error.message)
        return Response(body, media_type=media_type)


def build_routes(svc: UwsService) -> list[BaseRoute]:
    e = _Endpoints(svc)
    job = "/async/{job_id}"

    def route(path: str, handler: Handler, methods: list[str]) -> Route:
        return Route(path, _guarded(handler), methods=methods)

    return [
        route("/async", e.jobs, ["GET", "POST"]),
        route(job, e.job_resource, ["GET", "POST", "DELETE"]),
        route(f"{job}/phase", e.phase, ["GET", "POST"]),
        route(f"{job}/executionduration", e.execution_duration, ["GET", "POST"]),
        route(f"{job}/destruction", e.destruction, ["GET", "POST"]),
        route(f"{job}/quote", e.quote, ["GET"]),
        route(f"{job}/owner", e.owner, ["GET"]),
        route(f"{job}/parameters", e.parameters, ["GET", "POST"]),
        route(f"{job}/parameters/{{name}}", e.parameter, ["GET"]),
        route(f"{job}/results", e.results, ["GET"]),
        route(f"{job}/results/{{result_id}}", e.result, ["GET"]),
        route(f"{job}/error", e.error, ["GET"]),
    ]
