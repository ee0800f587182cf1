"""Reading DALI parameters from an HTTP request, for ``/sync`` and ``/async`` alike.

Parameters come from the query string, then from an ``application/x-www-form-urlencoded``
or ``multipart/form-data`` body; names are case-insensitive, values as sent, repeatable
(:class:`tap.params.Params`). Multipart file parts are inline uploads
(``UPLOAD=t1,param:t1`` names the part ``t1``), handed over open (spooled) until the
``read_form`` block ends.

The bounds (:class:`FormLimits`), each checked before the rest of the body is read:

- an urlencoded body holds no inline upload: at most :data:`FIELDS_ALLOWANCE` bytes;
- a multipart body: at most the upload limit plus :data:`FIELDS_ALLOWANCE` bytes (the other
  parameters and the multipart framing); how much its file parts may hold together is the
  business of whoever takes them (:func:`read_params` for ``/sync``, the job store for
  ``/async``), under the same upload limit;
- any one field (name and value) at most ``field_bytes``; at most ``max_fields`` fields and
  ``max_files`` files.

Every failure is a :class:`~tap.errors.FormError` (400) or, past a bound,
:class:`~tap.errors.FormTooLarge` (413), whose message says what to send instead; a body of
another type (when it is not empty) is one too, and so is a client gone mid-body.

An urlencoded body is read whole and split by the standard library's parser
(:func:`urllib.parse.parse_qsl`): the same fields as Starlette's streaming form parser (the raw
bytes read as Latin-1, %-escapes as UTF-8, ``+`` a space, a name without ``=`` an empty value,
empty pieces skipped) at a tenth of its cost, which every synchronous query paid. Its pieces
are counted and measured as they are found, so a body of many fields is refused before any
list of them is made.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request

from tap.body import limited
from tap.errors import FormError, FormTooLarge, UploadError
from tap.params import Params

_CHUNK = 1 << 16
FIELDS_ALLOWANCE = 1 << 20
MAX_FIELDS = 1000
MAX_FILES = 100

Files = list[tuple[str, UploadFile]]


@dataclass(frozen=True)
class FormLimits:
    """``upload_bytes``: the inline uploads of one request together; ``field_bytes``: any one
    form field (the longest ADQL query the parser accepts, 100,000 characters, fits the
    default); ``max_fields``/``max_files``: how many fields and file parts a body may have."""

    upload_bytes: int
    field_bytes: int = 512 * 1024
    max_fields: int = MAX_FIELDS
    max_files: int = MAX_FILES


@asynccontextmanager
async def read_form(
    request: Request,
    limits: FormLimits,
    *,
    check: Callable[[Iterable[tuple[str, str]]], None] | None = None,
) -> AsyncIterator[tuple[Params, Files]]:
    """The parameters of ``request`` (query string first) and its file parts, which stay open
    until the block ends. ``check`` is given the (name, value) pairs as sent, then the names
    of the file parts (with empty values), before anything else is done with them."""
    pairs, form = await _read(request, limits)
    try:
        files = _split(form, pairs)
        if check is not None:
            check(pairs)
            check((name, "") for name, _ in files)
        yield Params(pairs), files
    finally:
        if form is not None:
            await form.close()


async def read_params(request: Request, limits: FormLimits) -> tuple[Params, dict[str, bytes]]:
    """The parameters of ``request`` and the bytes of its inline uploads (``/sync``): an
    :class:`~tap.errors.UploadError` when they are more than ``limits.upload_bytes``
    together, found as they are read. (What :func:`read_form` reads, without its block: an
    urlencoded body, a synchronous query's, costs no more than its parsing.)"""
    pairs, form = await _read(request, limits)
    if form is None:
        return Params(pairs), {}
    try:
        files = _split(form, pairs)
        parts: dict[str, bytes] = {}
        total = 0
        for name, upload in files:
            chunks: list[bytes] = []
            while chunk := await upload.read(_CHUNK):
                total += len(chunk)
                if total > limits.upload_bytes:
                    raise UploadError(
                        f"the uploads of this request are larger than {limits.upload_bytes:,} "
                        "bytes, the limit for all of them together (the other parameters may "
                        "add 1 MiB); upload fewer rows or columns."
                    )
                chunks.append(chunk)
            parts[name] = b"".join(chunks)
    finally:
        await form.close()
    return Params(pairs), parts


async def _read(
    request: Request, limits: FormLimits
) -> tuple[list[tuple[str, str]], FormData | None]:
    """The pairs of the query string and of an urlencoded body; or those of the query string
    and a multipart body's form, to be closed."""
    pairs = request.query_params.multi_items()
    if request.method != "POST":
        return pairs, None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        pairs += await _urlencoded(request, limits)
    elif content_type == "multipart/form-data":
        return pairs, await _multipart(request, limits)
    elif content_type and await _holds_anything(request):
        raise FormError(
            f"A POST body of type {content_type[:60]!r} cannot hold DALI parameters: send "
            "them as application/x-www-form-urlencoded or multipart/form-data."
        )
    return pairs, None


def _split(form: FormData | None, pairs: list[tuple[str, str]]) -> Files:
    """Add the fields of ``form`` to ``pairs``; its file parts."""
    files: Files = []
    if form is not None:
        for name, value in form.multi_items():
            if isinstance(value, str):
                pairs.append((name, value))
            else:
                files.append((name, value))
    return files


async def _body(request: Request) -> bytearray:
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
    except ClientDisconnect:
        raise _ended() from None
    return body


async def _holds_anything(request: Request) -> bool:
    """Whether the body has anything but white space (read only as far as it takes)."""
    try:
        async for chunk in limited(request, FIELDS_ALLOWANCE, _fields_too_large).stream():
            if chunk.strip():
                return True
    except ClientDisconnect:
        raise _ended() from None
    return False


def _ended() -> FormError:
    return FormError("The request body ended before it was complete.")


async def _urlencoded(request: Request, limits: FormLimits) -> list[tuple[str, str]]:
    """The fields of an urlencoded body (see the module docstring)."""
    body = await _body(limited(request, FIELDS_ALLOWANCE, _fields_too_large))
    text = body.decode("latin-1")
    pieces: list[str] = []
    for found in _PIECE.finditer(text):
        piece = found.group()
        if len(piece) - ("=" in piece) > limits.field_bytes:
            raise _field_too_large(limits)
        if len(pieces) == limits.max_fields:
            raise _unreadable(
                f"Too many fields. Maximum number of fields is {limits.max_fields}", limits
            )
        pieces.append(piece)
    return parse_qsl("&".join(pieces), keep_blank_values=True)


_PIECE = re.compile(r"[^&]+")


async def _multipart(request: Request, limits: FormLimits) -> FormData:
    limit = limits.upload_bytes + FIELDS_ALLOWANCE
    bounded = limited(request, limit, lambda: _body_too_large(limit))
    try:
        return await bounded.form(
            max_files=limits.max_files,
            max_fields=limits.max_fields,
            max_part_size=limits.field_bytes,
        )
    except FormError:
        raise
    except ClientDisconnect:
        raise _ended() from None
    except HTTPException as exc:  # starlette's wrapping of its MultiPartException
        raise _form_error(str(exc.detail), limits) from None
    except Exception as exc:  # MultiPartException, python-multipart's FormParserError…
        raise _form_error(str(exc), limits) from None


def _form_error(detail: str, limits: FormLimits) -> FormError:
    if "maximum size" in detail:  # starlette: "Part exceeded maximum size of …KB."
        return _field_too_large(limits)
    return _unreadable(detail, limits)


def _unreadable(detail: str, limits: FormLimits) -> FormError:
    return FormError(
        f"The request body could not be read as a form ({detail.rstrip('.')}). Send the "
        f"parameters as application/x-www-form-urlencoded or multipart/form-data, with at most "
        f"{limits.max_fields} fields and {limits.max_files} files."
    )


def _field_too_large(limits: FormLimits) -> FormTooLarge:
    return FormTooLarge(
        f"A form field is longer than the parameter limit of {limits.field_bytes:,} bytes; "
        "send shorter parameters (tables go in UPLOAD, as files)."
    )


def _fields_too_large() -> FormTooLarge:
    return FormTooLarge(
        f"The request's parameters are larger than {FIELDS_ALLOWANCE:,} bytes, the limit of a "
        "body without uploads; send shorter parameters, and uploads as multipart/form-data "
        "(or by URL)."
    )


def _body_too_large(limit: int) -> FormTooLarge:
    return FormTooLarge(
        f"The request body is larger than {limit:,} bytes (the upload limit plus 1 MiB for the "
        "parameters); upload smaller tables or send shorter parameters."
    )
