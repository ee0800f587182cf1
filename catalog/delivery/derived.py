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

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from catalog.config import Settings
from catalog.delivery.lookup import StoredFile, graphic_keys, key_from_path, parse_key
from catalog.delivery.previews import PreviewBusy, PreviewError, PreviewService, PreviewSource
from catalog.delivery.service import Delivery, NotDeliverable
from catalog.delivery.soda.endpoint import CutSource, soda_endpoint
from catalog.delivery.soda.errors import ServiceUnavailable, SodaNotFound
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
    return PreviewSource(
        hlsp_id=file.hlsp_id,
        file_name=file.file_name,
        path=path,
        dataproduct_type=file.dataproduct_type,
        product_type=file.product_type,
        shipped=shipped_path,
    )


def preview_endpoint(
    delivery: Delivery, previews: PreviewService, variant: Literal["preview", "thumbnail"]
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        hlsp_id, name = request.path_params["hlsp_id"], request.path_params["name"]
        key = key_from_path(hlsp_id, name)
        if key is None:
            return _text(404, f"No file {hlsp_id}/{name} in the catalog.")
        try:
            source = await preview_source(delivery, key)
            picture = await previews.get(source, variant)
        except NotDeliverable as error:
            return _text(404, error.message)
        except Overloaded as error:
            return _text(503, error.message, error.retry_after)
        except PreviewBusy as error:
            return _text(503, str(error), RETRY_AFTER)
        except PreviewError as error:
            return _text(422, str(error))
        media = PICTURE_TYPES.get(picture.suffix.lower(), "image/png")
        return FileResponse(
            picture,
            media_type=media,
            headers={"Cache-Control": "private, max-age=3600"},
            content_disposition_type="inline",
            filename=f"{Path(source.file_name).stem}_{variant}{picture.suffix.lower()}",
        )

    return endpoint


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
            path = Path(await delivery.local_path(file))
        except NotDeliverable as error:
            raise SodaNotFound(error.message) from None
        except Overloaded as error:
            raise ServiceUnavailable(error.message) from None
        return CutSource(
            path, file.file_name, file.obs_id, file.dataproduct_type, file.product_type
        )

    soda = settings.soda
    return soda_endpoint(
        resolve, max_output_bytes=soda.max_bytes, slots=soda.slots, time_budget=soda.timeout
    )
