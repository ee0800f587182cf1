"""What the server derives from a product: previews, thumbnails and SODA cutouts.

Both start from the one look-up (:meth:`~catalog.delivery.service.Delivery.find`) and the
storage's checks (:meth:`~catalog.delivery.service.Delivery.local_path`), so they serve only
what ``/files`` would:

    GET|HEAD /previews/<hlsp_id>/<name>     a PNG (≤ 1024 px): the collection's own graphic
                                            when it ships one (matched by name), else drawn
    GET|HEAD /thumbnails/<hlsp_id>/<name>   a small PNG (256 px)
    GET|POST /soda/sync?ID=<did>&POS=...    a SODA 1.0 cutout (catalog.delivery.soda)

A preview's failures: 404 (no such product, or its file gone), 422 with the reason (the
file cannot be drawn: damaged, nothing to draw, past its time or memory budget), 503 with
``Retry-After`` (every drawing slot busy).
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Literal

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from catalog.config import Settings
from catalog.delivery.http import FileResponse as OpenedFileResponse
from catalog.delivery.lookup import StoredFile, graphic_keys, key_from_path, parse_key
from catalog.delivery.previews import PreviewBusy, PreviewError, PreviewService, PreviewSource
from catalog.delivery.previews.render import PREVIEW_SIZE
from catalog.delivery.service import Delivery, NotDeliverable
from catalog.delivery.soda.endpoint import CutSource, soda_endpoint
from catalog.delivery.soda.errors import ServiceUnavailable, SodaNotFound
from catalog.delivery.storage import OpenedFile
from tap import Overloaded

PICTURE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
}
RETRY_AFTER = 5


def _text(status: int, message: str, retry_after: int | None = None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return PlainTextResponse(message.rstrip() + "\n", status_code=status, headers=headers)


async def preview_source(delivery: Delivery, key: str) -> PreviewSource:
    """The preview's source for a catalog key: the product (or a shipped graphic itself)
    and the collection's own graphic for it; NotDeliverable when there is none."""
    return (await _preview_source(delivery, key))[0]


async def _preview_source(delivery: Delivery, key: str) -> tuple[PreviewSource, StoredFile | None]:
    """:func:`preview_source`, and the shipped graphic's catalogue row (None: drawn)."""
    file = await delivery.file(key)
    if file.kind == "companion" and file.role != "graphic":
        raise NotDeliverable(f"{file.file_name} is not a product: it has no preview")
    shipped: StoredFile | None = None
    if file.kind == "product":
        candidates = graphic_keys(file)
        found = await delivery.find(candidates)
        shipped = next((found[k] for k in candidates if k in found), None)
    else:
        shipped = file
    path = Path(await delivery.local_path(file))
    shipped_path = None
    if shipped is not None:
        try:
            shipped_path = Path(await delivery.local_path(shipped))
        except NotDeliverable:  # the graphic went away: draw from the product
            shipped_path = None
    source = PreviewSource(
        hlsp_id=file.hlsp_id,
        file_name=file.file_name,
        path=path,
        dataproduct_type=file.dataproduct_type,
        product_type=file.product_type,
        shipped=shipped_path,
    )
    return source, (shipped if shipped_path is not None else None)


async def _shipped_response(
    delivery: Delivery, shipped: StoredFile, request: Request
) -> OpenedFileResponse | None:
    """The collection's own graphic as the preview, from the descriptor the storage checked
    (as ``/files`` serves it: a path opened again could lead elsewhere by then); None when
    it is no longer deliverable (the preview is drawn instead)."""
    try:
        opened = await delivery.open_file(shipped)
    except NotDeliverable:
        return None
    if not await run_in_threadpool(_small_picture, opened):
        opened.close()  # larger than a preview, or not a picture: drawn from the data instead
        return None
    return OpenedFileResponse(opened, request.headers, request.method)


def _small_picture(opened: OpenedFile) -> bool:
    """Whether a shipped graphic is a picture of at most PREVIEW_SIZE pixels a side (read
    from its first bytes: PNG, GIF and JPEG say their size up front)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(opened.read(0, 1 << 16))) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return False
    return 0 < max(width, height) <= PREVIEW_SIZE


def preview_endpoint(
    delivery: Delivery, previews: PreviewService, variant: Literal["preview", "thumbnail"]
) -> Callable[[Request], Awaitable[Response | OpenedFileResponse]]:
    async def endpoint(request: Request) -> Response | OpenedFileResponse:
        hlsp_id, name = request.path_params["hlsp_id"], request.path_params["name"]
        key = key_from_path(hlsp_id, name)
        try:
            if key is None:
                raise NotDeliverable(f"No file {hlsp_id}/{name} in the catalog.")
            source, shipped = await _preview_source(delivery, key)
            if variant == "preview" and shipped is not None:
                served = await _shipped_response(delivery, shipped, request)
                source = replace(source, shipped=None)  # (drawn if the graphic went away)
            else:
                served = None
            picture = served or await previews.get(source, variant)
        except NotDeliverable as error:
            return _text(404, error.message)
        except Overloaded as error:
            return _text(503, error.message, error.retry_after)
        except PreviewBusy as error:
            return _text(503, str(error), RETRY_AFTER)
        except PreviewError as error:
            return _text(422, str(error))
        if isinstance(picture, Path):
            return _drawn_response(picture, source, variant)
        return picture  # the collection's own graphic

    return endpoint


def _drawn_response(picture: Path, source: PreviewSource, variant: str) -> Response:
    """A picture the server drew (its cache's file: written by the server only)."""
    media = PICTURE_TYPES.get(picture.suffix.lower(), "image/png")
    return FileResponse(
        picture,
        media_type=media,
        headers={"Cache-Control": "private, max-age=3600"},
        content_disposition_type="inline",
        filename=f"{Path(source.file_name).stem}_{variant}{picture.suffix.lower()}",
    )


def cutout_endpoint(
    delivery: Delivery, settings: Settings
) -> Callable[[Request], Awaitable[Response]]:
    async def resolve(identifier: str) -> CutSource:
        key = parse_key(identifier)
        if key is None:
            raise SodaNotFound(f"{identifier[:200]!r} is not the ID of a product of this catalog")
        try:
            file = await delivery.file(key)
            if file.kind != "product":
                raise NotDeliverable(f"{file.file_name} is not a product: it cannot be cut")
            # the checked file stays open while it is cut, and is cut through its descriptor:
            # its path opened again could lead elsewhere by then
            opened = await delivery.open_file(file)
        except NotDeliverable as error:
            raise SodaNotFound(error.message) from None
        except Overloaded as error:
            raise ServiceUnavailable(error.message) from None
        return CutSource(
            Path(opened.stable_path),
            file.file_name,
            file.obs_id,
            file.dataproduct_type,
            file.product_type,
            release=opened.close,
        )

    soda = settings.soda
    return soda_endpoint(
        resolve, max_output_bytes=soda.max_bytes, slots=soda.slots, time_budget=soda.timeout
    )
