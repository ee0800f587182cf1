"""Reading DALI parameters from an HTTP request: query string, urlencoded or multipart body.

Multipart file parts are inline uploads (``UPLOAD=t1,param:t1`` names the part ``t1``).
``upload_limit`` bounds them all together, as the service's upload limit is per request, and
the body as a whole may hold at most :data:`FIELDS_ALLOWANCE` bytes more (the other
parameters and the multipart framing): a larger body is refused while it arrives, before it
fills memory or disk. An urlencoded body holds no inline upload: at most
:data:`FIELDS_ALLOWANCE` bytes.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request

from tap.body import limited
from tap.errors import UploadError, UsageError
from tap.params import Params

_CHUNK = 1 << 16
FIELDS_ALLOWANCE = 1 << 20
MAX_FILES = 10
MAX_FIELDS = 1000


def _too_large(upload_limit: int) -> UploadError:
    return UploadError(
        f"the uploads of this request are larger than {upload_limit:,} bytes, the limit for "
        "all of them together (the other parameters may add 1 MiB); upload fewer rows or "
        "columns."
    )


async def read_params(
    request: Request, *, upload_limit: int, max_files: int = MAX_FILES
) -> tuple[Params, dict[str, bytes]]:
    """All parameters of ``request`` (query string first), and the inline upload parts.

    ``upload_limit``: bytes of all the file parts together; ``max_files``: how many there may be.
    """
    params = Params(request.query_params.multi_items())
    files: dict[str, bytes] = {}
    if request.method != "POST":
        return params, files
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data", ""):
        raise UsageError(
            f"a POST body of type {content_type!r} cannot hold TAP parameters: send "
            "application/x-www-form-urlencoded or multipart/form-data"
        )
    if content_type == "application/x-www-form-urlencoded":
        for field_name, text in await _urlencoded(request):
            params.add(field_name, text)
        return params, files
    bounded = limited(request, upload_limit + FIELDS_ALLOWANCE, lambda: _too_large(upload_limit))
    try:
        form = await bounded.form(
            max_files=max_files, max_fields=MAX_FIELDS, max_part_size=upload_limit
        )
    except UploadError:
        raise
    except Exception as exc:  # starlette raises MultiPartException / HTTPException variants
        raise UsageError(f"the request body could not be read as a form: {exc}") from None
    total = 0
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                chunks: list[bytes] = []
                while chunk := await value.read(_CHUNK):
                    total += len(chunk)
                    if total > upload_limit:
                        raise _too_large(upload_limit)
                    chunks.append(chunk)
                files[name] = b"".join(chunks)
            else:
                params.add(name, value)
    finally:
        await form.close()
    return params, files


async def _urlencoded(request: Request) -> list[tuple[str, str]]:
    """The fields of an urlencoded body, read whole and split by the standard library's
    parser: the same fields as Starlette's streaming form parser (the raw bytes read as
    Latin-1, %-escapes as UTF-8, ``+`` a space, a name without ``=`` an empty value, empty
    pieces skipped) at a tenth of its cost, which every synchronous query paid.

    Such a body holds no inline upload, so it may be at most :data:`FIELDS_ALLOWANCE` bytes
    (refused as it arrives); its pieces are counted as they are found, so a body of many
    fields is refused before any list of them is made."""
    bounded = limited(request, FIELDS_ALLOWANCE, _parameters_too_large)
    body = bytearray()
    try:
        async for chunk in bounded.stream():
            body += chunk
    except ClientDisconnect:
        raise UsageError("the request body ended before it was complete") from None
    text = body.decode("latin-1")
    pieces: list[str] = []
    for piece in _PIECE.finditer(text):
        if len(pieces) == MAX_FIELDS:
            raise UsageError(
                f"the request body could not be read as a form: Too many fields. Maximum "
                f"number of fields is {MAX_FIELDS}."
            )
        pieces.append(piece.group())
    return parse_qsl("&".join(pieces), keep_blank_values=True)


_PIECE = re.compile(r"[^&]+")


def _parameters_too_large() -> UsageError:
    return UsageError(
        f"the request's parameters are larger than {FIELDS_ALLOWANCE:,} bytes; send uploads "
        "as multipart/form-data (or by URL)"
    )
