"""The GraphiQL page works without the internet: its scripts and styles come from this
server, byte for byte the files strawberry's page names (their integrity hashes), and a real
browser that can reach nothing but this server renders the IDE."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import socket
import subprocess

import httpx
import pytest
from strawberry.http.ides import get_graphql_ide_html

from catalog.graphql.endpoint.ide import ASSETS, STATIC_DIR, StaleAssets, offline_page
from tests.support.graphql import GraphQLClient


def _chromium() -> str | None:
    """A chromium that runs (Ubuntu's chromium-browser may only start a missing snap)."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path is None:
            continue
        try:
            probe = subprocess.run(
                [path, "--version"], capture_output=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return path
    return None


CHROMIUM = _chromium()


def _integrity(html: str) -> dict[str, str]:
    """URL -> its sha384 integrity value, from strawberry's page."""
    pairs = re.findall(r'(?:src|href)="([^"]+)"\s+integrity="(sha384-[^"]+)"', html)
    return dict(pairs)


def test_every_file_is_the_one_strawberrys_page_names() -> None:
    upstream = get_graphql_ide_html(graphql_ide="graphiql")
    hashes = _integrity(upstream)
    assert set(hashes) == set(ASSETS), "the page loads files ASSETS does not list, or fewer"
    for url, name in ASSETS.items():
        digest = hashlib.sha384((STATIC_DIR / "graphiql" / name).read_bytes()).digest()
        assert f"sha384-{base64.b64encode(digest).decode()}" == hashes[url], name
    page = offline_page(upstream)
    assert "unpkg.com" not in page
    # the hashes stay: the browser checks our copies as it would check unpkg's
    assert set(_integrity(page).values()) == set(hashes.values())


def test_a_page_that_moved_on_is_refused_by_name() -> None:
    upstream = get_graphql_ide_html(graphql_ide="graphiql")
    with pytest.raises(StaleAssets, match=re.escape("graphiql@3.8.3/graphiql.min.js")):
        offline_page(upstream.replace("graphiql@3.8.3/graphiql.min.js", "graphiql@9/x.js"))
    script = '<script src="https://unpkg.com/other@1/o.js"></script>'
    extra = upstream.replace("</head>", script + "</head>")
    with pytest.raises(StaleAssets, match="other@1"):
        offline_page(extra)


def test_the_page_and_its_files_are_served(api: GraphQLClient) -> None:
    page = httpx.get(api.url, headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200
    assert (
        "unpkg.com" not in page.text and "unpkg.com" not in page.headers["content-security-policy"]
    )
    base = api.url.removesuffix("/graphql")
    for name in ASSETS.values():
        assert f'"static/graphiql/{name}"' in page.text
        asset = httpx.get(f"{base}/static/graphiql/{name}", timeout=10)
        assert asset.status_code == 200, name
        assert asset.content == (STATIC_DIR / "graphiql" / name).read_bytes()
    # a path out of the folder, sent as is (an HTTP client would resolve the dots itself)
    host, port = base.removeprefix("http://").split(":")
    for path in ("/static/graphiql/../../app.py", "/static/graphiql/%2e%2e/%2e%2e/app.py"):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            answer = b"".join(iter(lambda: sock.recv(65536), b""))
        assert answer.startswith(b"HTTP/1.1 404") and b"create_app" not in answer, path


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (./run test installs it on Debian)")
def test_a_browser_without_the_internet_renders_graphiql(api: GraphQLClient) -> None:
    assert CHROMIUM is not None
    # every host but this server's resolves to nothing, as on an archive's closed network
    browser = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    offline = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
    command = [*browser, offline, "--virtual-time-budget=15000", "--dump-dom", api.url]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout
    # React rendered GraphiQL: its editors and run button, no longer the "Loading..." text
    assert 'class="graphiql-query-editor' in dom
    assert 'class="graphiql-execute-button' in dom
    assert "Loading..." not in dom
