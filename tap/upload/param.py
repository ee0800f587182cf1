"""The UPLOAD parameter (DALI 1.1 §3.4.5, TAP 1.1 §2.7.6) and fetching what it names.

``UPLOAD=name,URI`` pairs, several per value separated by ``;`` (pyvo and STIL send
``t1,param:t1;t2,param:t2``) and/or several UPLOAD parameters. ``param:xxx`` names a
part of the multipart request; ``http://`` and ``https://`` URIs are fetched with a
size limit and a timeout (redirects are followed to http(s) only: the opener has no
handler for other schemes, and urllib refuses redirects to file:). Table names are ADQL
regular identifiers, unique ignoring case, used as ``TAP_UPLOAD.name``.

Syntax errors are :class:`~tap.errors.UsageError`; a missing part or a failed fetch is
an :class:`~tap.errors.UploadError`.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from tap.errors import UploadError, UsageError

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class UploadSpec:
    """One ``name,URI`` pair of the UPLOAD parameter."""

    name: str
    uri: str

    @property
    def part(self) -> str | None:
        """The multipart part name for ``param:`` URIs, else None."""
        return self.uri[len("param:") :] if self.uri.startswith("param:") else None


def parse_upload_param(values: Iterable[str]) -> list[UploadSpec]:
    """All ``name,URI`` pairs of the UPLOAD parameter values, validated."""
    specs: list[UploadSpec] = []
    seen: set[str] = set()
    for value in values:
        for raw in value.split(";"):
            item = raw.strip()
            if not item:
                continue
            name, sep, uri = item.partition(",")
            name, uri = name.strip(), uri.strip()
            if not sep or not uri:
                raise UsageError(
                    f"UPLOAD {item!r} is not of the form name,URI (e.g. t1,param:t1 or "
                    "t1,https://example.org/table.xml)."
                )
            if not _NAME.match(name):
                raise UsageError(
                    f"UPLOAD table name {name!r} is not an ADQL regular identifier; use "
                    "letters, digits and underscores, starting with a letter."
                )
            if name.lower() in seen:
                raise UsageError(f"UPLOAD names table {name!r} twice; give each its own name.")
            scheme = urlsplit(uri).scheme.lower()
            if scheme not in ("param", "http", "https"):
                raise UsageError(
                    f"UPLOAD {name}: URI scheme {scheme or '(none)'!r} is not supported; use "
                    "param: (a part of this request) or http(s)."
                )
            if scheme == "param" and not uri[len("param:") :]:
                raise UsageError(f"UPLOAD {name}: param: must name a part of the request.")
            seen.add(name.lower())
            specs.append(UploadSpec(name, uri))
    return specs


def _opener() -> urllib.request.OpenerDirector:
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPRedirectHandler(),  # refuses redirects to other schemes
        urllib.request.HTTPErrorProcessor(),
        urllib.request.HTTPDefaultErrorHandler(),
    ):
        opener.add_handler(handler)
    return opener


def fetch_url(url: str, *, max_bytes: int, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """GET ``url`` (http or https), at most ``max_bytes`` bytes, within ``timeout`` seconds
    per network operation."""
    request = urllib.request.Request(url, headers={"User-Agent": "hlsp-tap-upload"})  # noqa: S310
    try:
        with _opener().open(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise UploadError(
                    f"the table at {url} is {int(length):,} bytes, over the upload limit of "
                    f"{max_bytes:,} bytes."
                )
            data: bytes = response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        raise UploadError(f"fetching {url} failed: HTTP {exc.code} {exc.reason}.") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UploadError(f"fetching {url} failed: {reason}.") from None
    if len(data) > max_bytes:
        raise UploadError(f"the table at {url} is over the upload limit of {max_bytes:,} bytes.")
    return data


def upload_bytes(
    spec: UploadSpec,
    parts: Mapping[str, bytes],
    *,
    max_bytes: int,
    timeout: float = DEFAULT_TIMEOUT,
) -> bytes:
    """The document an UPLOAD pair names: a multipart part, or a fetched URL."""
    part = spec.part
    if part is not None:
        if part not in parts:
            known = ", ".join(sorted(parts)) or "none"
            raise UploadError(
                f"UPLOAD {spec.name}: the request has no part named {part!r} (parts: {known}); "
                "send the table as a multipart/form-data part of that name."
            )
        data = parts[part]
        if len(data) > max_bytes:
            raise UploadError(
                f"UPLOAD {spec.name}: {len(data):,} bytes, over the upload limit of "
                f"{max_bytes:,} bytes."
            )
        return data
    try:
        return fetch_url(spec.uri, max_bytes=max_bytes, timeout=timeout)
    except UploadError as exc:
        raise UploadError(f"UPLOAD {spec.name}: {exc.message}") from None
