"""Fetching an upload URL without letting it reach what the server can see and users cannot.

:func:`fetch_url` GETs an http(s) URL under three rules:

- **Addresses.** The host is resolved once, and refused when any of its addresses is not
  globally routable (:mod:`tap.upload.address`) unless the operator's allow-list admits it.
  The connection goes to an address so checked (no second lookup by an HTTP library), with
  ``Host:``, TLS SNI and certificate checks on the host name. Redirects (301, 302, 303, 307,
  308) are followed here, at most ``max_redirects`` of them, each target checked the same way
  and only to http(s). No proxy settings are read from the environment.
- **Time.** A :class:`Deadline` bounds all the fetches of one request together: every
  lookup, connect, TLS handshake, send and read waits at most for what is left of it, so a
  server that trickles a byte every few seconds is cut off when the time is up.
- **Size.** At most ``max_bytes`` are read (a larger ``Content-Length`` is refused at once).

Failures are :class:`~tap.errors.UploadError` whose reasons say nothing of what answered:
"address not allowed" is decided before any connection; once connecting starts, a closed
port, a filtered one, a reset, a TLS failure, a malformed answer and a timeout all read
"no valid answer within the deadline". HTTP status codes are reported.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from tap.errors import UploadError
from tap.upload.address import Address, Network, is_allowed

MAX_REDIRECTS = 5
_REDIRECTS = frozenset([301, 302, 303, 307, 308])
_READ = 1 << 16
_PATH_SAFE = "/%:@!$&'()*+,;=-._~?"
_NOT_ALLOWED = "address not allowed: uploads are fetched from public internet addresses only"

Resolver = Callable[[str], Sequence[str]]


class Deadline:
    """The time all the URL fetches of one request may take together, from its creation."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; :class:`TimeoutError` when none are."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the upload deadline has passed")
        return left


@dataclass(frozen=True)
class FetchPolicy:
    """Where and how upload URLs are fetched.

    ``allow``: networks fetched from although not public (an operator's allow-list).
    ``resolve`` and ``tls`` replace the system's resolver (name → addresses as text) and
    TLS context; they exist for tests, which cannot own a public name or certificate.
    """

    allow: tuple[Network, ...] = ()
    max_redirects: int = MAX_REDIRECTS
    resolve: Resolver | None = None
    tls: ssl.SSLContext | None = None


class OverLimit(UploadError):
    """The document is larger than the bytes the fetch may read."""


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def fetch_url(
    url: str, *, max_bytes: int, deadline: Deadline, policy: FetchPolicy = FetchPolicy()
) -> bytes:
    """The body of ``url`` (http or https), at most ``max_bytes`` bytes, within ``deadline``."""
    unanswered = (
        f"no valid answer within the deadline ({deadline.seconds:g} s for all the upload "
        "URLs of a request)"
    )
    try:
        return _fetch(url, max_bytes, deadline, policy)
    except _Refused as exc:
        reason = exc.reason
    except (OSError, http.client.HTTPException, ValueError):
        reason = unanswered
    raise UploadError(f"the table at {url} could not be fetched: {reason}.")


@dataclass(frozen=True)
class _Target:
    https: bool
    host: str
    port: int
    path: str

    @classmethod
    def of(cls, url: str) -> _Target:
        try:
            parts = urlsplit(url)
        except ValueError:
            raise _Refused("it is not a valid URL") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise _Refused(f"{scheme or 'a relative'} URL, where only http(s) is fetched")
        try:
            port = parts.port
        except ValueError:
            port = 0
        if port == 0:
            raise _Refused("the port is not a number from 1 to 65535")
        if parts.username is not None or parts.password is not None:
            raise _Refused("user names and passwords in upload URLs are not accepted")
        if not parts.hostname:
            raise _Refused("the URL names no host")
        path = quote(parts.path or "/", safe=_PATH_SAFE)
        if parts.query:
            path += "?" + quote(parts.query, safe=_PATH_SAFE)
        https = scheme == "https"
        return cls(https, parts.hostname, port or (443 if https else 80), path)


def _fetch(url: str, max_bytes: int, deadline: Deadline, policy: FetchPolicy) -> bytes:
    current = url
    for hop in range(policy.max_redirects + 1):
        target = _Target.of(current)
        addresses = _addresses(target.host, deadline, policy, redirected=hop > 0)
        connection = _PinnedConnection(target, addresses, deadline, policy)
        try:
            connection.request(
                "GET",
                target.path,
                headers={
                    "User-Agent": "tap-upload",
                    "Accept": "*/*",
                    "Connection": "close",
                },
            )
            with connection.getresponse() as response:
                status = response.status
                if status not in _REDIRECTS:
                    if not 200 <= status < 300:
                        raise _Refused(f"the server answered HTTP {_status_text(status)}")
                    return _body(response, url, max_bytes)
                location = (response.getheader("Location") or "").strip()
        finally:
            connection.close()
        if not location:
            raise _Refused(f"the server answered HTTP {status} without a Location")
        current = urljoin(current, location)
        if urlsplit(current).scheme.lower() not in ("http", "https"):
            raise _Refused("it redirects to a URL that is not http(s)")
    raise _Refused(f"more than {policy.max_redirects} redirects")


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _body(response: http.client.HTTPResponse, url: str, max_bytes: int) -> bytes:
    over = OverLimit(f"the table at {url} is larger than {max_bytes:,} bytes.")
    if response.length is not None and response.length > max_bytes:
        raise over
    chunks: list[bytes] = []
    total = 0
    while piece := response.read(min(_READ, max_bytes + 1 - total)):
        chunks.append(piece)
        total += len(piece)
        if total > max_bytes:
            raise over
    return b"".join(chunks)


# -- addresses --------------------------------------------------------------------------------


def _addresses(
    host: str, deadline: Deadline, policy: FetchPolicy, *, redirected: bool
) -> list[Address]:
    """Every address of ``host`` (looked up once), all allowed, or _Refused."""
    if policy.resolve is not None:
        texts = list(policy.resolve(host))
    else:
        texts = _system_lookup(host, deadline)
    try:
        found = list(dict.fromkeys(ipaddress.ip_address(t) for t in texts))
    except ValueError:
        raise _Refused("the host name could not be resolved") from None
    if not found:
        raise _Refused("the host name could not be resolved")
    if not all(is_allowed(a, policy.allow) for a in found):
        raise _Refused(("it redirects to an " if redirected else "") + _NOT_ALLOWED)
    return found


def _system_lookup(host: str, deadline: Deadline) -> list[str]:
    """getaddrinfo on a daemon thread, waited for until the deadline (it has no timeout of
    its own); TimeoutError when the deadline comes first."""
    result: list[str] = []
    failed: list[BaseException] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
            result.extend(str(info[4][0]) for info in infos)
        except (OSError, UnicodeError) as exc:
            failed.append(exc)
        finally:
            done.set()

    threading.Thread(target=lookup, name="upload-dns", daemon=True).start()
    if not done.wait(deadline.left()):
        raise TimeoutError("the host name was not resolved within the deadline")
    if failed:
        raise _Refused("the host name could not be resolved")
    return result


# -- one exchange, pinned to checked addresses, every wait bounded by the deadline ----------


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to addresses already checked, for ``target.host``."""

    def __init__(
        self, target: _Target, addresses: list[Address], deadline: Deadline, policy: FetchPolicy
    ) -> None:
        super().__init__(target.host, target.port)
        self._addresses = addresses
        self._deadline = deadline
        self._tls = (policy.tls or _default_tls()) if target.https else None

    def connect(self) -> None:
        sock = None
        for address in self._addresses:
            family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            candidate = socket.socket(family, socket.SOCK_STREAM)
            try:
                candidate.settimeout(self._deadline.left())
                candidate.connect((str(address), self.port))
            except OSError:
                candidate.close()
                continue
            sock = candidate
            break
        if sock is None:
            raise ConnectionError("no address of the host accepted a connection")
        if self._tls is not None:
            try:
                sock.settimeout(self._deadline.left())
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
        self.sock = _DeadlineSocket(sock, self._deadline)


_TLS: ssl.SSLContext | None = None


def _default_tls() -> ssl.SSLContext:
    global _TLS  # noqa: PLW0603 - one context for the process, made on first use
    if _TLS is None:
        _TLS = ssl.create_default_context()
    return _TLS


class _DeadlineSocket:
    """What http.client uses of a socket, each wait bounded by the deadline.

    As with a real socket, closing it while a reader made by :meth:`makefile` is open
    leaves the connection open until that reader is closed too (http.client hands the
    connection over to the response that way).
    """

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self.sock = sock
        self.deadline = deadline
        self._readers = 0
        self._closed = False

    def sendall(self, data: Any) -> None:
        self.sock.settimeout(self.deadline.left())
        self.sock.sendall(data)

    def makefile(self, mode: str) -> io.BufferedReader:
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self))

    def close(self) -> None:
        self._closed = True
        if not self._readers:
            self.sock.close()

    def release(self) -> None:
        self._readers -= 1
        if self._closed and not self._readers:
            self.sock.close()


class _DeadlineReader(io.RawIOBase):
    def __init__(self, owner: _DeadlineSocket) -> None:
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        sock = self._owner.sock
        sock.settimeout(self._owner.deadline.left())
        return sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._owner.release()
        super().close()
