"""What the upload-fetching tests serve: counting listeners, a fixture web server, test TLS.

``Listener`` accepts, counts and closes connections (with an RST when ``reset``): a test
that asserts ``accepted`` did not move proves that nothing connected to it. ``WebServer``
answers the fixture paths below, records each request's path and ``Host:``, and can speak
TLS. Everything binds to loopback addresses; nothing leaves the machine.

    /table.vot?rows=N&width=W     a TABLEDATA VOTable of N rows (n int, s char*W)
    /redirect?to=URL              302 to URL
    /loop                         302 to itself
    /trickle                      200, Content-Length 50,000, then one byte a second
    /trickle-headers              the status line, then a header one byte a second
"""

from __future__ import annotations

import http.server
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tap.metadata import Column
from tap.votable import write


def votable(rows: int, *, width: int = 1) -> bytes:
    """A TABLEDATA table of ``rows`` rows: an int and a ``width``-character string."""
    columns = (Column("n", "x", "int", "n"), Column("s", "x", "char", "s", "*"))
    return b"".join(write(columns, [(i, "x" * width) for i in range(rows)], "votable/td"))


class Listener:
    """A TCP listener on ``host`` that accepts, counts and closes connections."""

    def __init__(self, host: str, *, reset: bool = False) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.accepted = 0
        self.reset = reset
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            if self.reset:  # linger 0: close with an RST
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            conn.close()

    def close(self) -> None:
        self.sock.close()


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[dict[str, str]] = []  # noqa: RUF012 - each WebServer makes its own subclass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.seen.append({"path": self.path, "host": self.headers.get("Host", "")})
        if url.path == "/table.vot":
            rows, width = int(query.get("rows", "2")), int(query.get("width", "1"))
            self._send(200, votable(rows, width=width))
        elif url.path == "/redirect":
            self._send(302, b"", location=query["to"])
        elif url.path == "/loop":
            self._send(302, b"", location="/loop")
        elif url.path == "/trickle":
            self._send(200, b"", length=50_000)
            self._trickle(b"<")
        elif url.path == "/trickle-headers":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            self._trickle(b"z")
        else:
            self._send(404, b"no such fixture")

    def _send(
        self, status: int, body: bytes, *, location: str | None = None, length: int | None = None
    ) -> None:
        self.send_response(status)
        if location is not None:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def _trickle(self, byte: bytes) -> None:
        try:
            for _ in range(120):
                self.wfile.write(byte)
                self.wfile.flush()
                time.sleep(1)
        except OSError:
            pass  # the client gave up, as it should
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


class WebServer:
    """The fixture web server on ``host`` (https with ``tls``); ``seen`` lists its requests."""

    def __init__(self, host: str, tls: ssl.SSLContext | None = None) -> None:
        seen: list[dict[str, str]] = []
        self.seen = seen
        handler = type("Handler", (_Handler,), {"seen": seen})
        self.httpd = http.server.ThreadingHTTPServer((host, 0), handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = int(self.httpd.server_address[1])
        self.base = f"{'https' if tls else 'http'}://{host}:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


OPENSSL = shutil.which("openssl")


def certificates(folder: Path, name: str) -> dict[str, Path]:
    """A test CA (``ca``) and a server certificate (``cert``, ``key``) for DNS name ``name``."""
    assert OPENSSL is not None

    def run(*args: str | Path) -> None:
        subprocess.run([OPENSSL, *map(str, args)], check=True, capture_output=True, timeout=60)

    ca_key, ca, key, csr, cert = (
        folder / n for n in ("ca.key", "ca.pem", "s.key", "s.csr", "s.pem")
    )
    ext = folder / "ext"
    ext.write_text(f"subjectAltName=DNS:{name}\n")
    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        ca_key,
        "-out",
        ca,
        "-days",
        "2",
        "-subj",
        "/CN=test CA",
    )
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={name}")
    run(
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        ca,
        "-CAkey",
        ca_key,
        "-CAcreateserial",
        "-out",
        cert,
        "-days",
        "2",
        "-extfile",
        ext,
    )
    return {"ca": ca, "cert": cert, "key": key}
