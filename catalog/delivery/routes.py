"""The delivery endpoints, as Starlette routes over one :class:`Delivery`.

    GET|HEAD /files/<hlsp_id>/<name>        the harvested file (catalog.delivery.http)
    GET|HEAD /previews/<hlsp_id>/<name>     its preview, /thumbnails/... (catalog.delivery.derived)
    GET|POST /soda/sync                     SODA cutouts (catalog.delivery.derived)
    GET|POST /bulk/script, /bulk/archive    many files: a script, an archive (catalog.delivery.bulk)
    GET|POST /datalink/links?ID=...         DataLink 1.1 {links} (catalog.delivery.datalink)

Errors of the file routes are short plain-text bodies with the status that says what
happened: 404 for an unknown, withdrawn, vanished or changed file, 503 with ``Retry-After``
when the process's delivery gate or its download slots are full. DataLink answers in DALI
error documents (VOTable) instead, and an unknown ID with an error row.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from catalog.config import Settings
from catalog.delivery.bulk import bulk_routes
from catalog.delivery.datalink import datalink_routes
from catalog.delivery.derived import cutout_endpoint, preview_endpoint
from catalog.delivery.http import FileResponse
from catalog.delivery.lookup import key_from_path
from catalog.delivery.previews import PreviewService
from catalog.delivery.service import Delivery, NotDeliverable
from tap import Gate, Overloaded, Slot


def text_error(status: int, message: str, *, retry_after: int | None = None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return PlainTextResponse(message.rstrip() + "\n", status_code=status, headers=headers)


class _Held:
    """Runs a response, then releases its download slot (however the response ends)."""

    def __init__(self, response: FileResponse, slot: Slot) -> None:
        self.response = response
        self.slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.response(scope, receive, send)
        finally:
            self.slot.release()


def delivery_routes(
    delivery: Delivery, downloads: Gate, previews: PreviewService, settings: Settings
) -> list[BaseRoute]:
    async def files(request: Request) -> Response | _Held:
        hlsp_id = request.path_params["hlsp_id"]
        name = request.path_params["name"]
        key = key_from_path(hlsp_id, name)
        if key is None:
            return text_error(404, f"No file {hlsp_id}/{name} in the catalog.")
        try:
            slot = await downloads.acquire()
        except Overloaded as error:
            return text_error(503, error.message, retry_after=error.retry_after)
        try:
            opened = await delivery.open(key)
        except NotDeliverable as error:
            slot.release()
            return text_error(404, error.message)
        except Overloaded as error:
            slot.release()
            return text_error(503, error.message, retry_after=error.retry_after)
        except BaseException:
            slot.release()
            raise
        return _Held(FileResponse(opened, request.headers, request.method), slot)

    return [
        Route("/files/{hlsp_id}/{name}", files, methods=["GET", "HEAD"]),
        Route(
            "/previews/{hlsp_id}/{name}",
            preview_endpoint(delivery, previews, "preview"),
            methods=["GET", "HEAD"],
        ),
        Route(
            "/thumbnails/{hlsp_id}/{name}",
            preview_endpoint(delivery, previews, "thumbnail"),
            methods=["GET", "HEAD"],
        ),
        Route("/soda/sync", cutout_endpoint(delivery, settings), methods=["GET", "POST"]),
        *bulk_routes(delivery, downloads, settings.bulk),
        *datalink_routes(delivery),
    ]
