"""Previews and thumbnails of products: the collection's own graphic when it ships one, else
drawn from the file (images and cubes stretched, spectra, light curves, catalogs' sky
positions) in a budgeted child process, and cached on disk.

The server calls :class:`PreviewService` (``await service.get(source, "preview")`` -> the
path of a PNG to send); ``hlsp previews`` fills the same cache ahead of requests
(:mod:`~catalog.delivery.previews.batch`). Every failure is a :class:`PreviewError` (the
file cannot be drawn: what is wrong with it), a :class:`PreviewBudgetExceeded` (one of
them: past the time or memory budget) or a :class:`PreviewBusy` (no drawing slot).

Modules:
    errors    PreviewError, PreviewBudgetExceeded, PreviewBusy and their codes
    kinds     which drawing a product gets: dataproduct_type, product type, file contents
    columns   finding the columns and images to draw, axis labels with units
    images    images and cubes: stride, collapse, zscale + asinh, PNG (Pillow)
    plots     spectra, light curves, catalogs' sky positions (matplotlib, Agg)
    render    render() and thumbnail_of_picture(): one file to PNG bytes, pure functions
    budget    Renderer: drawing in child processes with time, memory and concurrency bounds
    cache     PreviewCache: on disk, keyed by identity and file state, locked, bounded
    service   PreviewService, PreviewSource: the façade the server and the CLI call
    batch     the products of the catalog to pre-draw, and the `hlsp previews` run
"""

from catalog.delivery.previews.errors import PreviewBudgetExceeded, PreviewBusy, PreviewError
from catalog.delivery.previews.kinds import Kind
from catalog.delivery.previews.service import PreviewService, PreviewSource

__all__ = [
    "Kind",
    "PreviewBudgetExceeded",
    "PreviewBusy",
    "PreviewError",
    "PreviewService",
    "PreviewSource",
]
