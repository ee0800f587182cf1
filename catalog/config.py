"""Settings, read from the environment (``HLSP_*``) once, with command-line overrides."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from catalog.errors import ConfigError
from tap import TapConfig

DEFAULT_AUTHORITY = "ivo://hlsp.example/catalog"
_ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")
_AUTHORITY_RE = re.compile(r"^ivo://[A-Za-z0-9][A-Za-z0-9._~\-]{2,}(/[A-Za-z0-9._~\-/]*)?$")


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _number(name: str, default: float, low: float, high: float, *, integer: bool = True) -> float:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{name} must be {kind}, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must lie in [{low:g}, {high:g}], got {raw}")
    return value


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_workers(cpus: int) -> int:
    """Two server processes per CPU, at most 8: a process runs its database calls on threads
    that contend for one interpreter lock: on 2 cores, 4 processes with 2 queries each answer
    more than 2 with 4 (benchmarks/RESULTS.md, "Serving under load"). Each process may hold
    up to 23 connections (its query and job-store pools with their overflow, two schema
    look-ups of the availability checks, the job listener): 8 processes stay within the
    embedded cluster's 250 with room for the harvest and the command line."""
    return max(1, min(2 * cpus, 8))


@dataclass(frozen=True)
class ServingSettings:
    """How ``hlsp serve`` shares the machine (per server process unless said otherwise).

    ``workers``: server processes (default: :func:`default_workers`); ``tap_slots`` /
    ``graphql_slots``: TAP synchronous queries
    / GraphQL requests that run at once (each holds one database connection while it does);
    ``queue``: requests of each kind that may wait for a slot; ``queue_wait``: seconds one
    may wait before it is refused (503 with Retry-After); ``client_timeout``: seconds a client
    may take to send its request headers, or leave its request body silent;
    ``send_stall``: seconds a client may leave a response unread before it is dropped;
    ``spool_dir``: where query results wait for slow clients (None: ``spool/`` in the data
    directory); ``spool_bytes``: the unread bytes of one result it may hold;
    ``spool_hold``: seconds a query may wait in all for a slow client while its spool is full.
    """

    workers: int = field(default_factory=lambda: default_workers(usable_cpus()))
    tap_slots: int = 2
    graphql_slots: int = 2
    queue: int = 64
    queue_wait: float = 10.0
    client_timeout: float = 20.0
    send_stall: float = 60.0
    spool_dir: str | None = None
    spool_bytes: int = 512 * 1024 * 1024
    spool_hold: float = 30.0

    @classmethod
    def from_env(cls) -> ServingSettings:
        base = cls()
        return cls(
            workers=int(_number("HLSP_WORKERS", base.workers, 1, 256)),
            tap_slots=int(_number("HLSP_TAP_SLOTS", base.tap_slots, 1, 256)),
            graphql_slots=int(_number("HLSP_GRAPHQL_SLOTS", base.graphql_slots, 1, 256)),
            queue=int(_number("HLSP_QUEUE", base.queue, 0, 100_000)),
            queue_wait=_number("HLSP_QUEUE_WAIT", base.queue_wait, 0, 600, integer=False),
            client_timeout=_number(
                "HLSP_CLIENT_TIMEOUT", base.client_timeout, 1, 3600, integer=False
            ),
            send_stall=_number("HLSP_SEND_STALL", base.send_stall, 1, 3600, integer=False),
            spool_dir=_env("HLSP_SPOOL_DIR"),
            spool_bytes=int(_number("HLSP_SPOOL_BYTES", base.spool_bytes, 1 << 16, 1 << 40)),
            spool_hold=_number("HLSP_SPOOL_HOLD", base.spool_hold, 0, 3600, integer=False),
        )


@dataclass(frozen=True)
class TapUploadSettings:
    """TAP uploads (``HLSP_TAP_UPLOAD_*``): limits per request, and where URLs may point.

    ``allow``: networks an upload URL may be fetched from although they are not public
    (``HLSP_TAP_UPLOAD_ALLOW``, comma-separated CIDRs; by default only globally routable
    addresses are). ``timeout``: seconds for all the URL fetches of one request. ``max_bytes``,
    ``max_rows``, ``max_tables``: all the uploads of one request together.
    """

    allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    timeout: float = TapConfig.upload_timeout
    max_bytes: int = TapConfig.upload_bytes
    max_rows: int = TapConfig.upload_rows
    max_tables: int = TapConfig.upload_tables

    @classmethod
    def from_env(cls) -> TapUploadSettings:
        env = "HLSP_TAP_UPLOAD_"
        return cls(
            allow=_networks(env + "ALLOW"),
            timeout=_number(env + "TIMEOUT", cls.timeout, 1, 600, integer=False),
            max_bytes=int(_number(env + "BYTES", cls.max_bytes, 1, 2**40, integer=True)),
            max_rows=int(_number(env + "ROWS", cls.max_rows, 1, 10**9, integer=True)),
            max_tables=int(_number(env + "TABLES", cls.max_tables, 1, 100, integer=True)),
        )


def _networks(name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for item in (_env(name) or "").split(","):
        if item.strip():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise ConfigError(
                    f"{name} must be comma-separated networks in CIDR notation (e.g. "
                    f"10.1.0.0/16,fd00::/8), got {item.strip()!r}"
                ) from None
    return tuple(networks)


def _origins(raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return ("*",)
    return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())


@dataclass(frozen=True)
class Settings:
    """What the catalog needs to know about its surroundings.

    ``database_url``: the writer database; ``None`` means the embedded private cluster.
    ``read_database_url``: where query traffic (TAP, GraphQL) goes; defaults to the writer.
    ``data_dir``: the project data directory (embedded cluster, job results, demo corpus).
    ``ivoa_authority``: prefix of ``obs_publisher_did`` (``ivo://authority/path``).
    ``public_url``: the server's URL as clients see it (``https://archive.example/hlsp``), for
    the links and capabilities the server writes when a proxy stands in front of it; None
    means "as each request arrives".
    ``cors_origins``: the web origins (``https://portal.example``) whose pages may call
    ``/graphql`` and ``/tap`` from a browser; ``*`` for any.
    """

    database_url: str | None = None
    read_database_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path.cwd() / ".hlsp")
    ivoa_authority: str = DEFAULT_AUTHORITY
    public_url: str | None = None
    serving: ServingSettings = field(default_factory=ServingSettings)
    tap_uploads: TapUploadSettings = field(default_factory=TapUploadSettings)
    cors_origins: tuple[str, ...] = ("*",)

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = _env("HLSP_DATA_DIR")
        settings = cls(
            database_url=_env("HLSP_DATABASE_URL"),
            read_database_url=_env("HLSP_READ_DATABASE_URL"),
            data_dir=Path(data_dir).expanduser().absolute() if data_dir else Path.cwd() / ".hlsp",
            ivoa_authority=_env("HLSP_IVOA_AUTHORITY") or DEFAULT_AUTHORITY,
            public_url=_env("HLSP_PUBLIC_URL"),
            serving=ServingSettings.from_env(),
            tap_uploads=TapUploadSettings.from_env(),
            cors_origins=_origins(_env("HLSP_CORS_ORIGINS")),
        )
        settings.validate()
        return settings

    def with_overrides(self, **changes: object) -> Settings:
        updated = replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]
        updated.validate()
        return updated

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    def validate(self) -> None:
        for name in ("database_url", "read_database_url"):
            url = getattr(self, name)
            if url is not None and not re.match(r"^postgres(ql)?(\+psycopg)?://", url):
                raise ConfigError(
                    f"HLSP_{name.upper()} must be a PostgreSQL URL (postgresql://user@host/db), "
                    f"got {url!r}"
                )
        if self.public_url is not None and not re.match(r"^https?://[^/\s]+", self.public_url):
            raise ConfigError(f"HLSP_PUBLIC_URL must be an http(s) URL, got {self.public_url!r}")
        for origin in self.cors_origins:
            if origin != "*" and not _ORIGIN_RE.match(origin):
                raise ConfigError(
                    "HLSP_CORS_ORIGINS must be * or comma-separated origins such as "
                    f"https://portal.example (scheme, host, optional port), got {origin!r}"
                )
        if not _AUTHORITY_RE.match(self.ivoa_authority):
            raise ConfigError(
                f"HLSP_IVOA_AUTHORITY must look like ivo://authority[/path], got "
                f"{self.ivoa_authority!r}"
            )
