"""The GraphiQL page at ``/graphql``, with its scripts and styles served by this server.

strawberry's page loads React, GraphiQL and GraphiQL's explorer plugin from unpkg.com, and an
archive's users are often on networks that cannot reach it: the page then stays at
"Loading...". The same files, unmodified, in the versions strawberry's page names, are in
``catalog/static/graphiql/`` (their licenses in ``LICENSES.txt``) and served at
``/static/graphiql/``; the page keeps its Subresource Integrity hashes, so the browser checks
every file against the hash strawberry published for it. The page names them relative to
``/graphql`` (``static/graphiql/…``), which holds behind a proxy that adds a path prefix.

When strawberry moves to other versions, :func:`offline_page` fails naming the URL it no
longer finds: fetch the new files (``npm pack <package>@<version>``), put them in the folder
and update :data:`ASSETS` (a test checks each file against the page's hash).
"""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
"""Served at ``/static`` (``catalog.app``)."""

ASSETS: dict[str, str] = {
    "https://unpkg.com/react@18.2.0/umd/react.production.min.js": "react.production.min.js",
    "https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js": (
        "react-dom.production.min.js"
    ),
    "https://unpkg.com/js-cookie@3.0.5/dist/js.cookie.min.js": "js.cookie.min.js",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.css": "graphiql.min.css",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.js": "graphiql.min.js",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/style.css": "plugin-explorer.css",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/index.umd.js": (
        "plugin-explorer.umd.js"
    ),
}
"""strawberry's URL of each file -> its name in ``static/graphiql/``."""


class StaleAssets(RuntimeError):
    """strawberry's page no longer loads the files this server holds."""


def offline_page(html: str) -> str:
    """strawberry's GraphiQL page with every unpkg.com URL replaced by this server's copy."""
    for url, name in ASSETS.items():
        if url not in html:
            raise StaleAssets(
                f"strawberry's GraphiQL page no longer loads {url}; update "
                "catalog/static/graphiql/ and catalog.graphql.endpoint.ide.ASSETS"
            )
        html = html.replace(url, f"static/graphiql/{name}")
    if "unpkg.com" in html:
        start = html.index("unpkg.com")
        raise StaleAssets(
            f"strawberry's GraphiQL page loads a file this server does not hold: "
            f"{html[start - 8 : start + 80]!r}; add it to catalog/static/graphiql/ and ASSETS"
        )
    return html
