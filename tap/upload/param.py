"""The UPLOAD parameter (DALI 1.1 §3.4.5, TAP 1.1 §2.7.6).

``UPLOAD=name,URI`` pairs, several per value separated by ``;`` (pyvo and STIL send
``t1,param:t1;t2,param:t2``) and/or several UPLOAD parameters. ``param:xxx`` names a
part of the multipart request; ``http://`` and ``https://`` URIs are fetched
(:mod:`tap.upload.fetch`). Table names are ADQL regular identifiers, unique ignoring case,
used as ``TAP_UPLOAD.name``. Syntax errors are :class:`~tap.errors.UsageError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from tap.errors import UsageError

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class UploadSpec:
    """One ``name,URI`` pair of the UPLOAD parameter."""

    name: str
    uri: str

    @property
    def part(self) -> str | None:
        """The multipart part name for ``param:`` URIs, else None."""
        prefix, colon, part = self.uri.partition(":")
        return part if colon and prefix.lower() == "param" else None


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
            try:
                scheme = urlsplit(uri).scheme.lower()
            except ValueError as exc:  # e.g. an unclosed [ of an IPv6 address
                raise UsageError(f"UPLOAD {name}: {uri!r} is not a valid URI ({exc}).") from None
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
