"""Reading DALI parameters from an HTTP request: query string, urlencoded or multipart body.

Multipart file parts are inline uploads (``UPLOAD=t1,param:t1`` names the part ``t1``);
they are read with a size limit, so a huge upload is refused before it fills memory.
"""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request

from tap.errors import UploadError, UsageError
from tap.params import Params

_CHUNK = 1 << 16


async def _read_limited(part: UploadFile, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise UploadError(
                f"upload {part.filename or part.size!r} is larger than the limit of {limit:,} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def read_params(request: Request, *, upload_limit: int) -> tuple[Params, dict[str, bytes]]:
    """All parameters of ``request`` (query string first), and the inline upload parts."""
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
    try:
        form = await request.form(max_files=100, max_fields=1000, max_part_size=upload_limit)
    except Exception as exc:  # starlette raises MultiPartException / HTTPException variants
        raise UsageError(f"the request body could not be read as a form: {exc}") from None
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[name] = await _read_limited(value, upload_limit)
            else:
                params.add(name, value)
    finally:
        await form.close()
    return params, files
