"""Reading a UWS request's parameters: query string, urlencoded or multipart body, uploads.

Everything a client sends is checked before it reaches the job store, and each failure is
the client's, with a message that says what to change:

- a body that is not a form (400), or a form that cannot be parsed: no multipart boundary,
  more fields or files than :data:`MAX_FIELDS`/:data:`MAX_FILES`, malformed parts (400);
- a body larger than the upload limit plus room for parameters, or one field over the
  parameter limit (413, before the rest is read);
- a parameter name or value that PostgreSQL cannot store in ``text`` or ``jsonb``: a NUL
  character, or a lone UTF-16 surrogate (a multipart part in a UTF-16 charset can decode
  to one): 400, naming the parameter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from python_multipart.exceptions import FormParserError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from tap.body import limited
from tap.uws.errors import HttpJobError, JobRequestError, ParametersTooLarge
from tap.uws.params import Params, UwsLimits, collect, shown
from tap.uws.store import UNSTORABLE

MAX_FIELDS = 1000
MAX_FILES = 100
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

Files = list[tuple[str, UploadFile]]
Read = tuple[Params, Files]


def check_storable(pairs: Iterable[tuple[str, str]]) -> None:
    """JobRequestError for the first name or value PostgreSQL could not store as text."""
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


def body_limit(limits: UwsLimits) -> int:
    """Bytes a request body may have: the uploads, the parameters (percent-encoded, three
    bytes a byte at worst) and room for multipart headers."""
    return limits.upload_limit + 3 * limits.parameter_limit + (1 << 20)


def _too_large(limit: int) -> ParametersTooLarge:
    return ParametersTooLarge(
        f"The request body is larger than {limit:,} bytes (the upload limit plus room for "
        "parameters); upload smaller tables or send shorter parameters."
    )


def _form_error(detail: str, limits: UwsLimits) -> HttpJobError:
    if "maximum size" in detail:  # starlette: "Part exceeded maximum size of …KB."
        return ParametersTooLarge(
            f"A form field is longer than the parameter limit of {limits.parameter_limit:,} "
            "bytes; send shorter parameters (tables go in UPLOAD, as files)."
        )
    return JobRequestError(
        f"The request body could not be read as a form ({detail.rstrip('.')}). Send the "
        f"parameters as application/x-www-form-urlencoded or multipart/form-data, with at most "
        f"{MAX_FIELDS} fields and {MAX_FILES} files."
    )


@asynccontextmanager
async def request_params(request: Request, limits: UwsLimits) -> AsyncIterator[Read]:
    """The parameters of ``request`` (query string first) and its uploaded files, which stay
    open (spooled) until the block ends."""
    pairs = list(request.query_params.multi_items())
    files: Files = []
    form = None
    if request.method == "POST":
        ctype = request.headers.get("content-type", "")
        limit = body_limit(limits)
        bounded = limited(request, limit, lambda: _too_large(limit))
        if ctype.split(";")[0].strip().lower() in FORM_TYPES:
            try:
                form = await bounded.form(
                    max_files=MAX_FILES, max_fields=MAX_FIELDS, max_part_size=limits.parameter_limit
                )
            except HTTPException as exc:  # starlette's wrapping of MultiPartException
                raise _form_error(str(exc.detail), limits) from None
            except (MultiPartException, FormParserError) as exc:
                raise _form_error(str(exc), limits) from None
            for name, value in form.multi_items():
                if isinstance(value, str):
                    pairs.append((name, value))
                else:
                    files.append((name, value))
        elif ctype and (await bounded.body()).strip():
            raise JobRequestError(
                f"Cannot read a {shown(ctype.split(';')[0])} body: send the parameters as "
                "application/x-www-form-urlencoded or multipart/form-data."
            )
    try:
        check_storable(pairs)
        check_storable((name, "") for name, _ in files)
        yield collect(pairs), files
    finally:
        if form is not None:
            await form.close()
