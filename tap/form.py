"""Reading DALI parameters from an HTTP request: query string, urlencoded or multipart body.

Multipart file parts are inline uploads (``UPLOAD=t1,param:t1`` names the part ``t1``).
``upload_limit`` bounds them all together, as the service's upload limit is per request, and
the body as a whole may hold at most :data:`FIELDS_ALLOWANCE` bytes more (the other
parameters and the multipart framing): a larger body is refused while it arrives, before it
fills memory or disk.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.requests import Request

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
    bounded = limited(request, upload_limit + FIELDS_ALLOWANCE, lambda: _too_large(upload_limit))
    if content_type == "application/x-www-form-urlencoded":
        for field_name, text in await _urlencoded(bounded, upload_limit):
            params.add(field_name, text)
        return params, files
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


async def _urlencoded(request: Request, field_limit: int) -> list[tuple[str, str]]:
    """The fields of an urlencoded body, read whole (``request`` bounds its size) and split by
    the standard library's parser: the same fields as Starlette's streaming form parser (the
    raw bytes read as Latin-1, %-escapes as UTF-8, ``+`` a space, a name without ``=`` an
    empty value) at a tenth of its cost, which every synchronous query paid."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
    text = body.decode("latin-1")
    if text.count("&") >= MAX_FIELDS:  # (parse_qsl counts empty pieces too)
        fields = [piece for piece in text.split("&") if piece]
        if len(fields) > MAX_FIELDS:
            raise UsageError(
                f"the request body could not be read as a form: Too many fields. Maximum "
                f"number of fields is {MAX_FIELDS}."
            )
    items = parse_qsl(text, keep_blank_values=True)
    for name, value in items:
        if len(name) + len(value) > field_limit:
            raise UsageError(
                f"the request body could not be read as a form: the field {name[:40]!r} is "
                f"larger than {field_limit:,} bytes"
            )
    return items
