"""Where upload URLs may lead: the address rule, the settings, and ``fetch_url`` itself.

A public-looking name cannot be owned offline, so these tests give ``fetch_url`` a resolver
hook (``FetchPolicy.resolve``) that maps names to loopback addresses the test serves on, and
show that every address of a name is checked, that the connection goes to the address that
was checked (one lookup per hop: a second lookup by an HTTP library would fail, the names
exist only in the hook) and that TLS still checks the name. The end-to-end tests through
the server are in ``test_upload_fetch.py``.
"""

from __future__ import annotations

import base64
import ipaddress
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.config import Settings
from catalog.errors import ConfigError
from tap.config import TapConfig
from tap.errors import UploadError
from tap.upload import Deadline, FetchPolicy, fetch_url, parse_upload_param, read_uploads
from tap.upload.address import is_allowed, is_public, parse_networks
from tests.support.uploads import OPENSSL, Listener, WebServer, certificates

ALLOWED_HOST = "127.0.0.2"
ALLOW = (ipaddress.ip_network(f"{ALLOWED_HOST}/32"),)
NOT_ALLOWED = "address not allowed"

NOT_PUBLIC = [
    "127.0.0.1",
    "127.255.0.9",
    "0.0.0.0",
    "10.1.2.3",
    "172.31.0.1",
    "192.168.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "100.127.255.254",
    "192.0.0.8",
    "192.0.2.1",
    "198.51.100.1",
    "203.0.113.1",
    "198.18.0.1",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fd00::1",
    "fc00::1",
    "ff02::1",
    "ff0e::1",
    "2001:db8::1",
    "100::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::7f00:1",
    "::8.8.8.8",
    "64:ff9b::7f00:1",
    "64:ff9b::a00:1",
    "64:ff9b:1::808:808",
    "2002:7f00:1::",
    "2002:a00:1::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
]
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize("text", NOT_PUBLIC)
def test_addresses_that_are_not_public(text: str) -> None:
    assert not is_public(ipaddress.ip_address(text))
    assert not is_allowed(ipaddress.ip_address(text))


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses(text: str) -> None:
    assert is_public(ipaddress.ip_address(text))


def test_the_allow_list_admits_networks() -> None:
    allow = parse_networks(["127.0.0.0/8", " fd00::/8 ", ""])
    assert is_allowed(ipaddress.ip_address("127.0.0.2"), allow)
    assert is_allowed(ipaddress.ip_address("::ffff:127.0.0.2"), allow)
    assert is_allowed(ipaddress.ip_address("fd12::1"), allow)
    assert not is_allowed(ipaddress.ip_address("10.0.0.1"), allow)
    assert not is_allowed(ipaddress.ip_address("::1"), allow)
    with pytest.raises(ValueError, match="CIDR"):
        parse_networks(["10.0.0.0/33"])


def test_upload_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HLSP_TAP_UPLOAD_ALLOW", "10.1.0.0/16, fd00::/8")
    monkeypatch.setenv("HLSP_TAP_UPLOAD_TIMEOUT", "7.5")
    monkeypatch.setenv("HLSP_TAP_UPLOAD_TABLES", "4")
    uploads = Settings.from_env().tap_uploads
    assert [str(n) for n in uploads.allow] == ["10.1.0.0/16", "fd00::/8"]
    assert (uploads.timeout, uploads.max_tables, uploads.max_rows) == (7.5, 4, 1_000_000)
    bad = [
        ("HLSP_TAP_UPLOAD_ALLOW", "10.1.0.0/16,intranet"),
        ("HLSP_TAP_UPLOAD_TIMEOUT", "0"),
        ("HLSP_TAP_UPLOAD_ROWS", "many"),
    ]
    for name, value in bad:
        with monkeypatch.context() as m:
            m.setenv(name, value)
            with pytest.raises(ConfigError, match=name):
                Settings.from_env()
    assert Settings().tap_uploads.allow == ()


def test_the_default_row_limit_holds_for_the_request() -> None:
    """Two 600,000-row tables: each fits the default limit of 10^6 rows, not both."""
    stream = base64.b64encode(b"\0\0\1" * 600_000)  # BINARY2: a null mask byte, a short
    doc = (
        b'<VOTABLE version="1.4"><RESOURCE><TABLE><FIELD name="n" datatype="short"/><DATA>'
        b'<BINARY2><STREAM encoding="base64">' + stream + b"</STREAM></BINARY2></DATA></TABLE>"
        b"</RESOURCE></VOTABLE>"
    )
    specs = parse_upload_param(["a,param:a;b,param:b"])
    with pytest.raises(UploadError, match="more than 1,000,000 rows, the limit for all its"):
        read_uploads(specs, {"a": doc, "b": doc}, TapConfig())


# -- fetch_url with names under the test's control --------------------------------------------


class Resolver:
    """Names → addresses, recording every lookup."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.lookups.append(host)
        return self.table[host]


@pytest.fixture(scope="module")
def web() -> Iterator[WebServer]:
    server = WebServer(ALLOWED_HOST)
    yield server
    server.close()


def test_a_name_is_refused_when_any_of_its_addresses_is_not_allowed() -> None:
    listener = Listener(ALLOWED_HOST)
    try:
        for addresses in (["127.0.0.2", "10.0.0.7"], ["fd00::7", "127.0.0.2"]):
            policy = FetchPolicy(allow=ALLOW, resolve=Resolver({"tables.example": addresses}))
            with pytest.raises(UploadError, match=NOT_ALLOWED):
                fetch_url(
                    f"http://tables.example:{listener.port}/t.vot",
                    max_bytes=1000,
                    deadline=Deadline(5),
                    policy=policy,
                )
        time.sleep(0.2)
        assert listener.accepted == 0
    finally:
        listener.close()


def test_the_connection_goes_to_the_address_checked(web: WebServer) -> None:
    answers = iter([["127.0.0.2"], ["127.0.0.1"]])  # a rebinding resolver
    lookups: list[str] = []

    def rebinding(host: str) -> list[str]:
        lookups.append(host)
        return next(answers)

    web.seen.clear()
    data = fetch_url(
        f"http://tables.example:{web.port}/table.vot?rows=3",
        max_bytes=10_000,
        deadline=Deadline(5),
        policy=FetchPolicy(allow=ALLOW, resolve=rebinding),
    )
    assert data.count(b"<TR>") == 3 and lookups == ["tables.example"]
    assert web.seen == [{"path": "/table.vot?rows=3", "host": f"tables.example:{web.port}"}]
    resolve = Resolver({"tables.example": ["127.0.0.2"], "inside.example": ["10.9.8.7"]})
    with pytest.raises(UploadError, match=f"it redirects to an {NOT_ALLOWED}"):
        fetch_url(
            f"http://tables.example:{web.port}/redirect?to=http://inside.example/",
            max_bytes=1000,
            deadline=Deadline(5),
            policy=FetchPolicy(allow=ALLOW, resolve=resolve),
        )
    assert resolve.lookups == ["tables.example", "inside.example"]


def test_one_deadline_for_several_fetches_holds_against_trickling(web: WebServer) -> None:
    policy = FetchPolicy(allow=ALLOW)
    deadline = Deadline(2)
    with pytest.raises(UploadError, match=r"no valid answer within the deadline \(2 s"):
        fetch_url(f"{web.base}/trickle", max_bytes=10**6, deadline=deadline, policy=policy)
    with pytest.raises(UploadError, match="no valid answer within the deadline"):
        fetch_url(f"{web.base}/table.vot", max_bytes=10**6, deadline=deadline, policy=policy)
    with pytest.raises(UploadError, match="larger than 100 bytes"):
        fetch_url(f"{web.base}/table.vot", max_bytes=100, deadline=Deadline(5), policy=policy)


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
def test_https_is_pinned_and_still_checks_the_name(tmp_path: Path) -> None:
    files = certificates(tmp_path, "tables.example")
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(files["cert"], files["key"])
    names: list[str | None] = []

    def sni(sock: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
        names.append(name)

    server_tls.sni_callback = sni
    server = WebServer(ALLOWED_HOST, tls=server_tls)
    resolve = Resolver({"tables.example": [ALLOWED_HOST], "other.example": [ALLOWED_HOST]})
    client_tls = ssl.create_default_context(cafile=str(files["ca"]))
    policy = FetchPolicy(allow=ALLOW, resolve=resolve, tls=client_tls)
    try:
        data = fetch_url(
            f"https://tables.example:{server.port}/table.vot",
            max_bytes=10_000,
            deadline=Deadline(10),
            policy=policy,
        )
        assert data.count(b"<TR>") == 2 and names == ["tables.example"]
        with pytest.raises(UploadError, match="no valid answer"):  # a certificate for another name
            fetch_url(
                f"https://other.example:{server.port}/table.vot",
                max_bytes=10_000,
                deadline=Deadline(10),
                policy=policy,
            )
        assert resolve.lookups == ["tables.example", "other.example"]
    finally:
        server.close()
