"""Requests that are not GraphQL requests, or too large: coded 4xx answers, never a 500.

Everything goes over HTTP to a running server; the size limits are checked with raw
sockets too, sending less than the announced body: a server that waited for all of it
would never answer (a bounded wait detects that).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from catalog.config import GraphQLSettings
from catalog.db import Database
from catalog.graphql.endpoint.view import graphql_app
from tests.support.graphql import GraphQLClient
from tests.support.server import live_server

HANG = 30  # seconds


def post(url: str, body: bytes | str, content_type: str = "application/json") -> httpx.Response:
    return httpx.post(url, content=body, headers={"content-type": content_type}, timeout=HANG)


def only_error(response: httpx.Response) -> dict[str, Any]:
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]  # type: ignore[no-any-return]


# --- request shapes -----------------------------------------------------------------------

VALID = "{ collections { totalCount } }"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('"query"', "JSON object"),
        ("123", "JSON object"),
        ("null", "JSON object"),
        ("[]", "Batches"),
        (json.dumps([{"query": VALID}]), "Batches"),
        ("{", "not valid JSON"),
        (b'{"query": "\xff"}', "not valid JSON"),
        (
            '{"query": "' + VALID + '", "variables": {"a": ' + "[" * 5000 + "]" * 5000 + "}}",
            "deeply",
        ),
        ('{"query": 5}', "'query' must be a string"),
        ('{"query": "' + VALID + '", "operationName": 5}', "'operationName' must be a string"),
        ('{"query": "' + VALID + '", "operationName": ["a"]}', "'operationName' must be a string"),
        ('{"query": "' + VALID + '", "variables": "x"}', "'variables' must be a JSON object"),
        ('{"query": "' + VALID + '", "variables": [1]}', "'variables' must be a JSON object"),
        ('{"query": "' + VALID + '", "extensions": "x"}', "'extensions' must be a JSON object"),
        ("{}", "No GraphQL query"),
    ],
)
def test_bodies_that_are_not_graphql_requests_get_400(
    api: GraphQLClient, body: bytes | str, says: str
) -> None:
    response = post(api.url, body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    error = only_error(response)
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert says in error["message"]


def test_a_post_that_is_not_json_gets_400(api: GraphQLClient) -> None:
    response = post(api.url, "query=" + VALID, "application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert only_error(response)["extensions"]["code"] == "BAD_REQUEST"
    assert "Content-Type: application/json" in only_error(response)["message"]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"variables": "{"}, "'variables' parameter is not valid JSON"),
        ({"variables": "[1]"}, "'variables' must be a JSON object"),
        ({"variables": '{"a":' + "[" * 5000 + "]" * 5000 + "}"}, "nests too deeply"),
        ({"extensions": "[1]"}, "'extensions' must be a JSON object"),
        ({"extensions": "{"}, "'extensions' parameter is not valid JSON"),
    ],
)
def test_get_parameters_are_checked(api: GraphQLClient, params: dict[str, str], says: str) -> None:
    response = httpx.get(api.url, params={"query": VALID, **params}, timeout=HANG)
    assert response.status_code == 400
    error = only_error(response)
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert says in error["message"]


# --- sizes --------------------------------------------------------------------------------


def _small_app(db: Database, **limits: Any) -> Starlette:
    settings = GraphQLSettings(**limits)
    return Starlette(routes=[Route("/graphql", graphql_app(db, settings), methods=["GET", "POST"])])


@pytest.fixture(scope="module")
def small_body(api_db: Database) -> Iterator[str]:
    """A server whose bodies may have 4096 bytes."""
    with live_server(_small_app(api_db, max_body_bytes=4096)) as base:
        yield base


def _raw_request(base: str, head: str, body: bytes) -> bytes:
    """Send a request head and (part of) a body on a socket; the answer's first bytes."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=HANG) as sock:
        sock.sendall(head.encode() + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(api: GraphQLClient) -> None:
    # 200 MB announced, 10 bytes sent: a server that waited for the body would never answer
    head = (
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 200000000\r\n\r\n"
    )
    answer = _raw_request(api.url.removesuffix("/graphql"), head, b'{"query": ')
    assert _status(answer) == 413


def test_a_chunked_body_is_refused_once_it_passes_the_limit(api: GraphQLClient) -> None:
    # 1.1 MiB of chunks and no final chunk: a server reading it all would wait forever
    head = (
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
    answer = _raw_request(api.url.removesuffix("/graphql"), head, chunk * 18)
    assert _status(answer) == 413


def test_size_limits_answer_in_graphql_shape(small_body: str) -> None:
    url = small_body + "/graphql"
    padded = json.dumps({"query": VALID + " " * 5000})
    response = post(url, padded)
    assert response.status_code == 413
    error = only_error(response)
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": 4096}
    assert "4096 bytes" in error["message"]
    response = httpx.get(url, params={"query": VALID + " " * 5000}, timeout=HANG)
    assert response.status_code == 414
    assert only_error(response)["extensions"]["code"] == "LIMIT_EXCEEDED"
    # under the limit, all is well
    response = post(url, json.dumps({"query": VALID + " " * 3000}))
    assert response.json() == {"data": {"collections": {"totalCount": 3}}}


def test_the_default_body_limit_is_one_mebibyte(api: GraphQLClient) -> None:
    big = json.dumps({"query": VALID, "variables": {"pad": "x" * (1 << 20)}})
    response = post(api.url, big)
    assert response.status_code == 413
    assert only_error(response)["extensions"]["limit"] == 1 << 20
