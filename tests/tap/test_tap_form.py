"""DALI parameters from urlencoded bodies: the same fields as Starlette's form parser, bounded
in size and in field count before anything large is built, a vanished client a 4xx."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers
from starlette.formparsers import FormParser
from starlette.requests import Request
from starlette.types import Message

from tap.errors import UsageError
from tap.form import FIELDS_ALLOWANCE, MAX_FIELDS, FormLimits, read_params
from tap.params import Params

FORM = "application/x-www-form-urlencoded"
LIMITS = FormLimits(upload_bytes=1000)


def _request(chunks: Iterable[bytes], *, disconnect: bool = False) -> Request:
    parts = list(chunks)
    headers = [(b"content-type", FORM.encode())]
    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": headers}
    messages: list[Message] = [
        {"type": "http.request", "body": p, "more_body": i < len(parts) - 1 or disconnect}
        for i, p in enumerate(parts)
    ]
    if disconnect:
        messages.append({"type": "http.disconnect"})

    async def receive() -> Message:
        return messages.pop(0)

    return Request(scope, receive)


def _fields(body: bytes, chunk: int = 7) -> list[tuple[str, str]]:
    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
    params, files = asyncio.run(read_params(_request(pieces), LIMITS))
    assert files == {}
    return params.items()


def _starlette(body: bytes) -> list[tuple[str, str]]:
    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    form = asyncio.run(FormParser(Headers({}), stream(), max_fields=10**9).parse())
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


BODIES = st.binary(max_size=60) | st.text(alphabet="ab=&+%;2C3E9\u00e9\x00 ", max_size=40).map(
    lambda t: t.encode("latin-1")
)


@settings(max_examples=300, deadline=None)
@given(BODIES)
def test_the_same_fields_as_starlettes_parser(body: bytes) -> None:
    assert _fields(body) == Params(_starlette(body)).items()


def test_too_many_fields_and_too_large_bodies_are_refused() -> None:
    assert len(_fields(b"&".join(b"p%d=1" % i for i in range(MAX_FIELDS)))) == MAX_FIELDS
    with pytest.raises(UsageError, match="Too many fields"):
        _fields(b"&".join(b"p%d=1" % i for i in range(MAX_FIELDS + 1)), chunk=65536)
    # a body of separators only: no field, and nothing built for each separator
    assert _fields(b"&" * FIELDS_ALLOWANCE, chunk=65536) == []
    with pytest.raises(UsageError, match="parameters are larger than"):
        _fields(b"QUERY=" + b"x" * FIELDS_ALLOWANCE, chunk=65536)


def test_a_client_gone_mid_body_is_a_usage_error() -> None:
    request = _request([b"QUERY=SELECT"], disconnect=True)
    with pytest.raises(UsageError, match="ended before"):
        asyncio.run(read_params(request, LIMITS))
