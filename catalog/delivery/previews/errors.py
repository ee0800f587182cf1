"""Why a product has no preview: the exceptions of :mod:`catalog.delivery.previews`.

    PreviewError        the file cannot be drawn: damaged, unreadable, nothing drawable in it,
    │                   or its drawing died (HLSP-050)
    └── PreviewBudgetExceeded  the drawing ran past its time or memory budget and was
                               stopped (HLSP-051)
    PreviewBusy         every drawing slot is taken and the queue is full: try again later
                        (HLSP-052; not the file's fault, never remembered)

They are :class:`~catalog.errors.CatalogError` subclasses (a stable ``code``, a ``message``
that says what is wrong with the file) and pickle (message and hint), so a drawing process
can send them back.
"""

from __future__ import annotations

from catalog.errors import CatalogError


class PreviewError(CatalogError):
    """The file cannot be drawn; ``message`` says what is wrong with it."""

    code = "HLSP-050"


class PreviewBudgetExceeded(PreviewError):
    """The drawing exceeded its time or memory budget (``HLSP_PREVIEW_TIMEOUT``,
    ``HLSP_PREVIEW_MEMORY``) and its process was stopped."""

    code = "HLSP-051"


class PreviewBusy(CatalogError):
    """No drawing slot came free in time: the server is busy, the file is not at fault."""

    code = "HLSP-052"
