"""The previews' façade for the server and the command line: :class:`PreviewService` answers
"the preview (or thumbnail) of this product" with the path of a PNG to send.

A product's preview is its collection's own graphic when it ships one (sent as it is); else
it is drawn from the file (:mod:`~catalog.delivery.previews.render`) in a budgeted child
process (:mod:`~catalog.delivery.previews.budget`) and kept in the on-disk cache
(:mod:`~catalog.delivery.previews.cache`). A thumbnail is always a PNG of
:data:`~catalog.delivery.previews.render.THUMBNAIL_SIZE` pixels (its longest side), made
from the shipped graphic when there is one.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from catalog.delivery.previews.budget import Renderer
from catalog.delivery.previews.cache import PreviewCache, is_png
from catalog.delivery.previews.errors import PreviewBusy, PreviewError
from catalog.delivery.previews.kinds import kind_of_product
from catalog.delivery.previews.render import PREVIEW_SIZE, THUMBNAIL_SIZE

if TYPE_CHECKING:
    from catalog.config import Settings

Variant = Literal["preview", "thumbnail"]
SIZES: dict[str, int] = {"preview": PREVIEW_SIZE, "thumbnail": THUMBNAIL_SIZE}


@dataclass(frozen=True)
class PreviewSource:
    """A product as the previews need it: its catalog identity (``hlsp_id``, ``file_name``),
    the harvested file (``path``), what the catalog says it is (ObsCore ``dataproduct_type``,
    the HLSP ``product_type`` of its name) and the collection's own graphic for it
    (``shipped``; None when the collection ships none)."""

    hlsp_id: str
    file_name: str
    path: Path
    dataproduct_type: str | None = None
    product_type: str | None = None
    shipped: Path | None = None


class PreviewService:
    """Previews of products: cached on disk, drawn within a budget when missing.

    ``get_blocking`` may be called from any thread (``hlsp previews`` runs several); the
    server awaits :meth:`get`, which runs it on one of the service's own threads, at most
    ``workers + queue`` at once (more callers get :class:`PreviewBusy` at once, the
    server's 503).
    """

    def __init__(self, cache: PreviewCache, renderer: Renderer) -> None:
        self.cache = cache
        self.renderer = renderer
        self._waiting: asyncio.Semaphore | None = None
        # Threads of its own: a request waiting for a drawing (up to the cache's wait) never
        # holds one of the event loop's default threads that other work needs.
        self._threads = ThreadPoolExecutor(
            max_workers=renderer.workers + renderer.queue, thread_name_prefix="hlsp-preview"
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, workers: int | None = None) -> PreviewService:
        """The service the settings describe (``workers`` overrides theirs: the command
        line's ``--jobs``)."""
        previews = settings.previews
        renderer = Renderer(
            workers=workers or previews.workers, timeout=previews.timeout, memory=previews.memory
        )
        # A second request for one preview waits for the first's drawing, which may take the
        # whole budget after waiting for a process (the start of one included).
        wait = 2 * previews.timeout + 30
        cache = PreviewCache(
            previews.cache_dir(settings.data_dir), max_bytes=previews.cache_bytes, wait=wait
        )
        return cls(cache, renderer)

    def get_blocking(self, source: PreviewSource, variant: Variant, *, force: bool = False) -> Path:
        """The PNG (a path) to send for ``source``'s ``variant``; raises PreviewError (the
        file cannot be drawn, or could not within the budget) or PreviewBusy (no drawing
        slot, or the cache's directory unusable: the server's 503)."""
        if variant not in SIZES:
            raise ValueError(f"variant must be 'preview' or 'thumbnail', got {variant!r}")
        try:
            return self._get(source, variant, force)
        except OSError as error:  # the cache's directory, not the product: the operator's
            raise PreviewBusy(
                f"the preview cache {self.cache.directory} cannot be used "
                f"({error.strerror or error}): HLSP_PREVIEW_DIR must be a writable directory"
            ) from None

    def _get(self, source: PreviewSource, variant: Variant, force: bool) -> Path:
        size = SIZES[variant]
        identity = self._identity(source, variant)
        if source.shipped is not None:
            if variant == "preview":
                return source.shipped
            shipped = source.shipped
            return self.cache.get(
                identity,
                shipped,
                lambda: self.renderer.thumbnail_blocking(shipped, size),
                force=force,
            )
        kind = kind_of_product(source.dataproduct_type, source.product_type)
        return self.cache.get(
            identity,
            source.path,
            lambda: self.renderer.render_blocking(source.path, kind, size),
            force=force,
        )

    def is_cached(self, source: PreviewSource, variant: Variant) -> bool:
        """Whether ``source``'s ``variant`` is on disk for its file as it is now (or is the
        shipped graphic itself)."""
        if source.shipped is not None and variant == "preview":
            return True
        try:
            return is_png(
                self.cache.entry(
                    self.cache.key(self._identity(source, variant), self._file(source))
                )
            )
        except PreviewError:
            return False

    async def get(self, source: PreviewSource, variant: Variant) -> Path:
        """:meth:`get_blocking` on a thread, for the server's event loop."""
        if self._waiting is None:
            self._waiting = asyncio.Semaphore(self.renderer.workers + self.renderer.queue)
        if self._waiting.locked():
            raise PreviewBusy("too many previews are asked for at once: try again shortly")
        async with self._waiting:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._threads, self.get_blocking, source, variant)

    @staticmethod
    def _identity(source: PreviewSource, variant: Variant) -> tuple[str, ...]:
        identity = (source.hlsp_id, source.file_name, variant, str(SIZES[variant]))
        if source.shipped is not None:
            return (*identity, "shipped", source.shipped.name)
        return identity

    @staticmethod
    def _file(source: PreviewSource) -> Path:
        return source.shipped if source.shipped is not None else source.path

    def close(self) -> None:
        """Stop the drawing processes (the server's shutdown); requests under way fail."""
        self.renderer.close()
        self._threads.shutdown(wait=False, cancel_futures=True)
