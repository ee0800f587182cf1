"""Service settings: public URL, limits, identity. Declared in the capabilities document.

Limits (TAPRegExt): ``maxrec_default``/``maxrec_hard`` rows; ``upload_bytes``/``upload_rows``
per request (all its uploaded tables together: inline parts and fetched URLs), at most
``upload_tables`` tables; ``retention_default``/``retention_hard`` seconds that an async job lives;
``duration_default``/``duration_hard`` seconds of execution (async); ``sync_timeout`` seconds
for a synchronous query (the statement timeout of sync requests).

Serving (per server process): ``sync_gate`` bounds the synchronous queries that run at once
and those that may wait for a turn (:mod:`tap.admission`); ``jobs_gate`` the requests to
``/async`` that touch the job database; ``meta_gate`` the availability checks. A synchronous
result is spooled (:mod:`tap.spool`): ``spool_memory`` bytes in memory, then a temporary
file in ``spool_dir`` (the system's default when None) of at most ``spool_max_bytes`` unread
bytes, all results of the process together at most ``spool_budget`` bytes on disk; the query
may wait ``spool_hold`` seconds in all for a slow client while its spool is full, and a client
that accepts no bytes for ``send_stall`` seconds is dropped.

Upload URLs (:mod:`tap.upload.fetch`): ``upload_timeout`` seconds for all the URL fetches of
one request together; ``upload_allow``, networks fetched from although not public (by
default only globally routable addresses are).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network

from tap.admission import GateLimits


@dataclass(frozen=True)
class TapConfig:
    """What a TAP service needs to know besides its tables and database.

    ``base_url``: the public URL of the service root (``https://host/tap``), used in the
    capabilities, job URLs and examples; None means "derive from each request", which is
    right unless a proxy rewrites the host or path.
    ``reader_role``: the restricted database role ADQL runs as (SET ROLE inside each
    read-only transaction), or None to run as the connection's own role.
    """

    title: str = "TAP service"
    description: str = "An IVOA TAP 1.1 service"
    base_url: str | None = None
    reader_role: str | None = None
    server_software: str = "tap/0.1"
    maxrec_default: int = 10_000
    maxrec_hard: int = 10_000_000
    upload_bytes: int = 20_000_000
    upload_rows: int = 1_000_000
    upload_tables: int = 10
    upload_timeout: float = 20.0
    upload_allow: tuple[IPv4Network | IPv6Network, ...] = ()
    retention_default: int = 2 * 86_400
    retention_hard: int = 30 * 86_400
    duration_default: int = 600
    duration_hard: int = 3_600
    sync_timeout: int = 60
    data_models: tuple[tuple[str, str], ...] = ()  # (ivo-id, label)
    cors_origins: tuple[str, ...] = ("*",)
    sync_gate: GateLimits = field(default_factory=lambda: GateLimits(4, 32, 10.0))
    jobs_gate: GateLimits = field(default_factory=lambda: GateLimits(4, 64, 10.0))
    meta_gate: GateLimits = field(default_factory=lambda: GateLimits(2, 64, 10.0))
    spool_memory: int = 1 << 20
    spool_max_bytes: int = 512 << 20
    spool_budget: int = 2 << 30
    spool_hold: float = 30.0
    spool_dir: str | None = None
    send_stall: float = 60.0
