"""The URLs of a product's data on this server, built in one place.

``base`` is the server's public URL: ``HLSP_PUBLIC_URL`` when set, else the request's own
(:func:`public_base`). The database builds the same ``access_url`` for TAP (migration 0009:
``<public>/files/<hlsp_id>/<percent-encoded name>``); a test holds the two to the same bytes.

    /files/<hlsp_id>/<name>        the file (HEAD, Range, conditional requests)
    /previews/<hlsp_id>/<name>     a PNG preview (≤ 1024 px); /thumbnails/... a small one
    /datalink/links?ID=<did>       DataLink {links}
    /soda/sync?ID=<did>&POS=...    SODA cutouts
    /bulk/script, /bulk/archive    a download script, a streamed archive, for many IDs
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from starlette.requests import Request

SETTING = "hlsp.public_url"  # the transaction setting SQL reads (hlsp.public_url in views)


def public_base(request: Request, configured: str | None) -> str:
    """The server's URL as the client sees it, without a trailing slash."""
    if configured:
        return configured.rstrip("/")
    return str(request.base_url).rstrip("/")


def segment(text: str) -> str:
    """Percent-encoding of one path segment: everything but RFC 3986's unreserved characters
    (as ``hlsp.url_escape`` in SQL)."""
    return quote(text, safe="")


def file_url(base: str, hlsp_id: str, file_name: str) -> str:
    return f"{base}/files/{segment(hlsp_id)}/{segment(file_name)}"


def preview_url(base: str, hlsp_id: str, file_name: str) -> str:
    return f"{base}/previews/{segment(hlsp_id)}/{segment(file_name)}"


def thumbnail_url(base: str, hlsp_id: str, file_name: str) -> str:
    return f"{base}/thumbnails/{segment(hlsp_id)}/{segment(file_name)}"


def datalink_endpoint(base: str) -> str:
    return f"{base}/datalink/links"


def datalink_url(base: str, did: str) -> str:
    return f"{datalink_endpoint(base)}?{urlencode({'ID': did})}"


def soda_endpoint(base: str) -> str:
    return f"{base}/soda/sync"


def publisher_did(authority: str, hlsp_id: str, file_name: str) -> str:
    """``obs_publisher_did`` as ``ivoa.obscore`` writes it."""
    return f"{authority}?{hlsp_id}/{file_name}"
