"""Settings: the one reader of the environment's ``HLSP_*`` variables.

Every setting is read here, once, into one frozen :class:`Settings` with typed sections
(:class:`ServingSettings`, :class:`TapSettings`, :class:`TapUploadSettings`,
:class:`GraphQLSettings`, :class:`EmbeddedSettings`, :class:`HarvestSettings`,
:class:`PreviewSettings`, :class:`SodaSettings`, :class:`BulkSettings`); the command line
reads and checks them when it starts (a bad value is one :class:`ConfigError`, HLSP-001,
naming the variable and what it expects) and hands the object down. No other module of
``catalog`` or ``tap`` reads ``HLSP_*`` variables (a test holds it); ``tap`` receives its
:class:`~tap.config.TapConfig` from :mod:`catalog.tap_service`.

:data:`VARIABLES` lists every variable with the default the README documents (a test checks
the README's settings tables against it, both ways); an ``HLSP_*`` variable that is not one of
them is most likely a typo, and :func:`unknown_variable_warnings` names the closest real one.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from catalog.errors import ConfigError
from tap import TapConfig

PREFIX = "HLSP_"
DEFAULT_AUTHORITY = "ivo://hlsp.example/catalog"
_ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")
_AUTHORITY_RE = re.compile(r"^ivo://[A-Za-z0-9][A-Za-z0-9._~\-]{2,}(/[A-Za-z0-9._~\-/]*)?$")
_TRUE = {"1", "on", "true", "yes"}
_FALSE = {"0", "off", "false", "no"}


@dataclass(frozen=True)
class Variable:
    """One ``HLSP_*`` variable: ``setting`` is where its value goes in :class:`Settings`
    (dotted; empty for a variable read outside the product, such as the tests'), ``default``
    the default as the README gives it when that is not simply the setting's value."""

    name: str
    setting: str = ""
    default: str | None = None


VARIABLES: tuple[Variable, ...] = (
    Variable("HLSP_DATABASE_URL", "database_url", "—"),
    Variable("HLSP_READ_DATABASE_URL", "read_database_url", "the writer"),
    Variable("HLSP_DATA_DIR", "data_dir", "`./.hlsp`"),
    Variable("HLSP_IVOA_AUTHORITY", "ivoa_authority", f"`{DEFAULT_AUTHORITY}`"),
    Variable("HLSP_PUBLIC_URL", "public_url", "each request's own URL"),
    Variable("HLSP_CORS_ORIGINS", "cors_origins", "`*`"),
    Variable("HLSP_PG_BINDIR", "embedded_cluster.pg_bindir", "found automatically"),
    Variable("HLSP_PG_USER", "embedded_cluster.pg_user", "`postgres`"),
    Variable("HLSP_NO_NATIVE", "harvest.native", "0"),
    Variable("HLSP_WORKERS", "serving.workers", "2 per usable CPU, at most 8"),
    Variable("HLSP_TAP_SLOTS", "serving.tap_slots"),
    Variable("HLSP_GRAPHQL_SLOTS", "serving.graphql_slots"),
    Variable("HLSP_QUEUE", "serving.queue"),
    Variable("HLSP_QUEUE_WAIT", "serving.queue_wait"),
    Variable("HLSP_CLIENT_TIMEOUT", "serving.client_timeout"),
    Variable("HLSP_SEND_STALL", "serving.send_stall"),
    Variable("HLSP_SPOOL_DIR", "serving.spool_dir", "`<data dir>/spool`"),
    Variable("HLSP_SPOOL_BYTES", "serving.spool_bytes", "512 MB"),
    Variable("HLSP_SPOOL_HOLD", "serving.spool_hold"),
    Variable("HLSP_TAP_MAXREC_DEFAULT", "tap.maxrec_default"),
    Variable("HLSP_TAP_MAXREC_HARD", "tap.maxrec_hard"),
    Variable("HLSP_TAP_SYNC_TIMEOUT", "tap.sync_timeout"),
    Variable("HLSP_TAP_DURATION_DEFAULT", "tap.duration_default"),
    Variable("HLSP_TAP_DURATION_HARD", "tap.duration_hard"),
    Variable("HLSP_TAP_RETENTION_DEFAULT", "tap.retention_default"),
    Variable("HLSP_TAP_RETENTION_HARD", "tap.retention_hard"),
    Variable("HLSP_TAP_UPLOAD_ALLOW", "tap_uploads.allow", "none: public addresses only"),
    Variable("HLSP_TAP_UPLOAD_TIMEOUT", "tap_uploads.timeout"),
    Variable("HLSP_TAP_UPLOAD_BYTES", "tap_uploads.max_bytes"),
    Variable("HLSP_TAP_UPLOAD_ROWS", "tap_uploads.max_rows"),
    Variable("HLSP_TAP_UPLOAD_TABLES", "tap_uploads.max_tables"),
    Variable("HLSP_GRAPHQL_MAX_DEPTH", "graphql.max_depth"),
    Variable("HLSP_GRAPHQL_MAX_TOKENS", "graphql.max_tokens"),
    Variable("HLSP_GRAPHQL_MAX_QUERY_CHARS", "graphql.max_query_chars"),
    Variable("HLSP_GRAPHQL_MAX_ALIASES", "graphql.max_aliases"),
    Variable("HLSP_GRAPHQL_MAX_NODES", "graphql.max_nodes"),
    Variable("HLSP_GRAPHQL_MAX_RESULT_FIELDS", "graphql.max_result_fields"),
    Variable("HLSP_GRAPHQL_MAX_PAGE_SIZE", "graphql.max_page_size"),
    Variable("HLSP_GRAPHQL_MAX_LIST_ITEMS", "graphql.max_list_items"),
    Variable("HLSP_GRAPHQL_MAX_FILTER_DEPTH", "graphql.max_filter_depth"),
    Variable("HLSP_GRAPHQL_MAX_FILTER_VALUES", "graphql.max_filter_values"),
    Variable("HLSP_GRAPHQL_MAX_BODY_BYTES", "graphql.max_body_bytes"),
    Variable("HLSP_GRAPHQL_STATEMENT_TIMEOUT", "graphql.statement_timeout_ms"),
    Variable("HLSP_GRAPHQL_REQUEST_TIMEOUT", "graphql.request_timeout_ms"),
    Variable("HLSP_GRAPHQL_INTROSPECTION", "graphql.introspection"),
    Variable("HLSP_PREVIEW_DIR", "previews.directory", "`<data dir>/previews`"),
    Variable("HLSP_PREVIEW_CACHE_BYTES", "previews.cache_bytes", "1 GB"),
    Variable("HLSP_PREVIEW_TIMEOUT", "previews.timeout"),
    Variable("HLSP_PREVIEW_MEMORY", "previews.memory", "1 GB"),
    Variable("HLSP_PREVIEW_WORKERS", "previews.workers"),
    Variable("HLSP_SODA_MAX_BYTES", "soda.max_bytes", "256 MB"),
    Variable("HLSP_SODA_SLOTS", "soda.slots"),
    Variable("HLSP_SODA_TIMEOUT", "soda.timeout"),
    Variable("HLSP_BULK_MAX_BYTES", "bulk.max_bytes", "10000000000 (10 GB)"),
    Variable("HLSP_BULK_MAX_FILES", "bulk.max_files"),
    Variable("HLSP_BULK_MAX_BODY_BYTES", "bulk.max_body_bytes", "20000000 (20 MB)"),
    Variable("HLSP_BULK_ARCHIVES", "bulk.archives"),
    Variable("HLSP_TEST_DATABASE_URL", "", "—"),  # read by the tests and benchmarks
)
KNOWN = frozenset(v.name for v in VARIABLES)


class _Env:
    """Reads and checks the variables of one environment mapping."""

    def __init__(self, env: Mapping[str, str] | None) -> None:
        self.env = os.environ if env is None else env

    def text(self, name: str) -> str | None:
        assert name in KNOWN, f"{name} is not declared in VARIABLES"
        value = self.env.get(name, "").strip()
        return value or None

    def number(self, name: str, default: float, low: float, high: float) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from None
        if not low <= value <= high:  # NaN too
            raise ConfigError(f"{name} must lie in [{low:g}, {high:g}], got {raw}")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must lie in [{low}, {high}], got {value}")
        return value

    def switch(self, name: str, default: bool) -> bool:
        raw = (self.text(name) or "").lower()
        if not raw:
            return default
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        raise ConfigError(f"{name} must be on or off, got {raw!r}")

    def networks(self, name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        networks = []
        for item in (self.text(name) or "").split(","):
            if item.strip():
                try:
                    networks.append(ipaddress.ip_network(item.strip(), strict=False))
                except ValueError:
                    raise ConfigError(
                        f"{name} must be comma-separated networks in CIDR notation (e.g. "
                        f"10.1.0.0/16,fd00::/8), got {item.strip()!r}"
                    ) from None
        return tuple(networks)


def _ordered(low_name: str, low: int, high_name: str, high: int) -> None:
    if low > high:
        raise ConfigError(f"{low_name} ({low}) must not exceed {high_name} ({high})")


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
    up to 27 connections (its query and job-store pools with their overflow, two schema
    look-ups of the availability checks, the job listener, four delivery look-ups): 8
    processes stay within the embedded cluster's 250 with room for the harvest and the
    command line."""
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
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServingSettings:
        read = _Env(env)
        base = cls()
        return cls(
            workers=read.integer("HLSP_WORKERS", base.workers, 1, 256),
            tap_slots=read.integer("HLSP_TAP_SLOTS", base.tap_slots, 1, 256),
            graphql_slots=read.integer("HLSP_GRAPHQL_SLOTS", base.graphql_slots, 1, 256),
            queue=read.integer("HLSP_QUEUE", base.queue, 0, 100_000),
            queue_wait=read.number("HLSP_QUEUE_WAIT", base.queue_wait, 0, 600),
            client_timeout=read.number("HLSP_CLIENT_TIMEOUT", base.client_timeout, 1, 3600),
            send_stall=read.number("HLSP_SEND_STALL", base.send_stall, 1, 3600),
            spool_dir=read.text("HLSP_SPOOL_DIR"),
            spool_bytes=read.integer("HLSP_SPOOL_BYTES", base.spool_bytes, 1 << 16, 1 << 40),
            spool_hold=read.number("HLSP_SPOOL_HOLD", base.spool_hold, 0, 3600),
        )


@dataclass(frozen=True)
class TapSettings:
    """The TAP service's limits (``HLSP_TAP_*``), declared in its capabilities.

    ``maxrec_default`` / ``maxrec_hard``: rows of a result when MAXREC is not given / at most;
    ``sync_timeout``: seconds a synchronous query may run (its statement timeout);
    ``duration_default`` / ``duration_hard``: seconds an async job may run by default / at
    most (UWS EXECUTIONDURATION); ``retention_default`` / ``retention_hard``: seconds an
    async job is kept by default / at most (UWS DESTRUCTION).
    """

    maxrec_default: int = TapConfig.maxrec_default
    maxrec_hard: int = TapConfig.maxrec_hard
    sync_timeout: int = TapConfig.sync_timeout
    duration_default: int = TapConfig.duration_default
    duration_hard: int = TapConfig.duration_hard
    retention_default: int = TapConfig.retention_default
    retention_hard: int = TapConfig.retention_hard

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TapSettings:
        read = _Env(env)
        env_ = "HLSP_TAP_"
        year = 365 * 86_400
        settings = cls(
            maxrec_default=read.integer(env_ + "MAXREC_DEFAULT", cls.maxrec_default, 1, 2**31),
            maxrec_hard=read.integer(env_ + "MAXREC_HARD", cls.maxrec_hard, 1, 2**31),
            sync_timeout=read.integer(env_ + "SYNC_TIMEOUT", cls.sync_timeout, 1, 86_400),
            duration_default=read.integer(
                env_ + "DURATION_DEFAULT", cls.duration_default, 1, 7 * 86_400
            ),
            duration_hard=read.integer(env_ + "DURATION_HARD", cls.duration_hard, 1, 7 * 86_400),
            retention_default=read.integer(
                env_ + "RETENTION_DEFAULT", cls.retention_default, 60, year
            ),
            retention_hard=read.integer(env_ + "RETENTION_HARD", cls.retention_hard, 60, year),
        )
        _ordered(
            env_ + "MAXREC_DEFAULT",
            settings.maxrec_default,
            env_ + "MAXREC_HARD",
            settings.maxrec_hard,
        )
        _ordered(
            env_ + "DURATION_DEFAULT",
            settings.duration_default,
            env_ + "DURATION_HARD",
            settings.duration_hard,
        )
        _ordered(
            env_ + "RETENTION_DEFAULT",
            settings.retention_default,
            env_ + "RETENTION_HARD",
            settings.retention_hard,
        )
        return settings


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
    def from_env(cls, env: Mapping[str, str] | None = None) -> TapUploadSettings:
        read = _Env(env)
        env_ = "HLSP_TAP_UPLOAD_"
        return cls(
            allow=read.networks(env_ + "ALLOW"),
            timeout=read.number(env_ + "TIMEOUT", cls.timeout, 1, 600),
            max_bytes=read.integer(env_ + "BYTES", cls.max_bytes, 1, 2**40),
            max_rows=read.integer(env_ + "ROWS", cls.max_rows, 1, 10**9),
            max_tables=read.integer(env_ + "TABLES", cls.max_tables, 1, 100),
        )


@dataclass(frozen=True)
class GraphQLSettings:
    """Limits and switches of the GraphQL endpoint (``HLSP_GRAPHQL_*``; the README's table).

    Depth counts nested selections (fragments included); tokens are graphql-core's lexer
    tokens; aliases are counted over the whole document. ``max_list_items`` bounds every list
    in a filter (``in``, polygon vertices, ``and``/``or`` branches); ``max_filter_depth``
    bounds the nesting of ``and``/``or``/``not`` and relation filters; ``max_filter_values``
    bounds the whole filter (conditions plus list items, variables included: the token limit
    only sees the document). ``max_nodes`` bounds the objects a query may ask for before it
    runs: the page size (``first``/``last``, 20 when not given; the number of ``ids``) of
    every paged field, multiplied by the page sizes of the paged fields around it, summed over
    the document (:mod:`catalog.graphql.validation.cost`); ``max_result_fields`` bounds the
    fields of the result the same way (every selected field once per object asked for), and the
    variables may hold 4 list items or object fields per ``max_filter_values``.
    ``max_query_chars`` bounds the length of the query text (comments and strings included:
    the token limit does not see their size). ``max_body_bytes`` bounds a POST body and a
    GET query string; ``request_timeout_ms`` is the wall-clock budget of a whole request (its
    statements each have ``statement_timeout_ms``). With introspection off, GraphiQL is not
    served either (it needs introspection).
    """

    max_depth: int = 10
    max_tokens: int = 2000
    max_aliases: int = 20
    max_nodes: int = 10_000
    max_result_fields: int = 100_000
    max_query_chars: int = 50_000
    max_page_size: int = 1000
    max_list_items: int = 1000
    max_filter_depth: int = 8
    max_filter_values: int = 2000
    max_body_bytes: int = 1_048_576
    statement_timeout_ms: int = 5000
    request_timeout_ms: int = 30_000
    introspection: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GraphQLSettings:
        read = _Env(env)
        env_ = "HLSP_GRAPHQL_"
        return cls(
            max_depth=read.integer(env_ + "MAX_DEPTH", cls.max_depth, 2, 100),
            max_tokens=read.integer(env_ + "MAX_TOKENS", cls.max_tokens, 50, 1_000_000),
            max_aliases=read.integer(env_ + "MAX_ALIASES", cls.max_aliases, 0, 10_000),
            max_nodes=read.integer(env_ + "MAX_NODES", cls.max_nodes, 1, 100_000_000),
            max_result_fields=read.integer(
                env_ + "MAX_RESULT_FIELDS", cls.max_result_fields, 1, 100_000_000
            ),
            max_query_chars=read.integer(
                env_ + "MAX_QUERY_CHARS", cls.max_query_chars, 100, 10_000_000
            ),
            max_page_size=read.integer(env_ + "MAX_PAGE_SIZE", cls.max_page_size, 1, 100_000),
            max_list_items=read.integer(env_ + "MAX_LIST_ITEMS", cls.max_list_items, 1, 100_000),
            max_filter_depth=read.integer(env_ + "MAX_FILTER_DEPTH", cls.max_filter_depth, 1, 64),
            max_filter_values=read.integer(
                env_ + "MAX_FILTER_VALUES", cls.max_filter_values, 1, 50_000
            ),
            max_body_bytes=read.integer(env_ + "MAX_BODY_BYTES", cls.max_body_bytes, 1024, 1 << 30),
            statement_timeout_ms=read.integer(
                env_ + "STATEMENT_TIMEOUT", cls.statement_timeout_ms, 1, 3_600_000
            ),
            request_timeout_ms=read.integer(
                env_ + "REQUEST_TIMEOUT", cls.request_timeout_ms, 100, 3_600_000
            ),
            introspection=read.switch(env_ + "INTROSPECTION", cls.introspection),
        )


@dataclass(frozen=True)
class BulkSettings:
    """Bulk retrieval (``HLSP_BULK_*``; :mod:`catalog.delivery.bulk`).

    ``max_bytes``: the catalogued bytes one archive may hold (checked before it streams; past
    it the answer points to the download script); ``max_files``: the IDs one request may name
    (script or archive); ``max_body_bytes``: a POSTed list of IDs, form or TAP result;
    ``archives``: archives one server process streams at once (past it, 503).
    """

    max_bytes: int = 10_000_000_000
    max_files: int = 10_000
    max_body_bytes: int = 20_000_000
    archives: int = 4

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BulkSettings:
        read = _Env(env)
        env_ = "HLSP_BULK_"
        return cls(
            max_bytes=read.integer(env_ + "MAX_BYTES", cls.max_bytes, 1, 1 << 50),
            max_files=read.integer(env_ + "MAX_FILES", cls.max_files, 1, 100_000),
            max_body_bytes=read.integer(env_ + "MAX_BODY_BYTES", cls.max_body_bytes, 1024, 1 << 30),
            archives=read.integer(env_ + "ARCHIVES", cls.archives, 1, 256),
        )


@dataclass(frozen=True)
class EmbeddedSettings:
    """The embedded cluster: ``pg_bindir``, the PostgreSQL server binaries to use (None: found
    automatically); ``pg_user``, the account the cluster runs as when ``hlsp`` is root (None:
    ``postgres``, else a ``hlsp-postgres`` system account created on first use)."""

    pg_bindir: Path | None = None
    pg_user: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EmbeddedSettings:
        read = _Env(env)
        bindir = read.text("HLSP_PG_BINDIR")
        return cls(
            pg_bindir=Path(bindir) if bindir else None,
            pg_user=read.text("HLSP_PG_USER"),
        )


@dataclass(frozen=True)
class HarvestSettings:
    """The harvester: ``native``, whether the compiled (mypyc) modules may be used when they
    match their sources (``HLSP_NO_NATIVE`` set to anything but 0 turns them off)."""

    native: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HarvestSettings:
        return cls(native=_Env(env).text("HLSP_NO_NATIVE") in {None, "0"})


@dataclass(frozen=True)
class PreviewSettings:
    """Previews and thumbnails (``HLSP_PREVIEW_*``): ``directory``, where drawn previews are
    cached (None: ``previews/`` in the data directory), shared by the server processes and
    ``hlsp previews``; ``cache_bytes``, the cache's bound (least recently used previews go
    first); ``timeout``, seconds one drawing may take; ``memory``, bytes one drawing may use
    beyond its process's libraries; ``workers``, drawings at once per server process (each
    in a child process of its own)."""

    directory: str | None = None
    cache_bytes: int = 1 << 30
    timeout: float = 20.0
    memory: int = 1 << 30
    workers: int = 2

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PreviewSettings:
        read = _Env(env)
        env_ = "HLSP_PREVIEW_"
        return cls(
            directory=read.text(env_ + "DIR"),
            cache_bytes=read.integer(env_ + "CACHE_BYTES", cls.cache_bytes, 1 << 20, 1 << 44),
            timeout=read.number(env_ + "TIMEOUT", cls.timeout, 0.1, 3600),
            memory=read.integer(env_ + "MEMORY", cls.memory, 64 << 20, 1 << 40),
            workers=read.integer(env_ + "WORKERS", cls.workers, 1, 64),
        )

    def cache_dir(self, data_dir: Path) -> Path:
        """Where the previews are cached: ``directory``, else ``previews/`` in ``data_dir``."""
        return Path(self.directory).expanduser() if self.directory else data_dir / "previews"


@dataclass(frozen=True)
class SodaSettings:
    """SODA cutouts (``HLSP_SODA_*``): ``max_bytes``, the size a cutout may have (a larger one
    is refused with a UsageError before any pixel is read); ``slots``, cuts made at once per
    server process (past them a request gets 503 with Retry-After); ``timeout``, seconds one
    cut may take before its client is answered 503."""

    max_bytes: int = 256 * 1024 * 1024
    slots: int = 2
    timeout: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SodaSettings:
        read = _Env(env)
        return cls(
            max_bytes=read.integer("HLSP_SODA_MAX_BYTES", cls.max_bytes, 1 << 16, 1 << 40),
            slots=read.integer("HLSP_SODA_SLOTS", cls.slots, 1, 64),
            timeout=read.number("HLSP_SODA_TIMEOUT", cls.timeout, 1, 3600),
        )


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
    The sections: ``serving`` (processes, admission, slow clients), ``tap`` (TAP limits),
    ``tap_uploads``, ``graphql`` (GraphQL limits), ``embedded_cluster`` (the private cluster),
    ``harvest``, ``previews`` (the previews' cache and drawing budget), ``soda`` (SODA
    cutouts), ``bulk`` (bulk retrieval).
    """

    database_url: str | None = None
    read_database_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path.cwd() / ".hlsp")
    ivoa_authority: str = DEFAULT_AUTHORITY
    public_url: str | None = None
    serving: ServingSettings = field(default_factory=ServingSettings)
    tap: TapSettings = field(default_factory=TapSettings)
    tap_uploads: TapUploadSettings = field(default_factory=TapUploadSettings)
    graphql: GraphQLSettings = field(default_factory=GraphQLSettings)
    embedded_cluster: EmbeddedSettings = field(default_factory=EmbeddedSettings)
    harvest: HarvestSettings = field(default_factory=HarvestSettings)
    previews: PreviewSettings = field(default_factory=PreviewSettings)
    soda: SodaSettings = field(default_factory=SodaSettings)
    bulk: BulkSettings = field(default_factory=BulkSettings)
    cors_origins: tuple[str, ...] = ("*",)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Every setting from ``env`` (the process's environment by default), checked."""
        read = _Env(env)
        data_dir = read.text("HLSP_DATA_DIR")
        settings = cls(
            database_url=read.text("HLSP_DATABASE_URL"),
            read_database_url=read.text("HLSP_READ_DATABASE_URL"),
            data_dir=Path(data_dir).expanduser().absolute() if data_dir else Path.cwd() / ".hlsp",
            ivoa_authority=read.text("HLSP_IVOA_AUTHORITY") or DEFAULT_AUTHORITY,
            public_url=read.text("HLSP_PUBLIC_URL"),
            serving=ServingSettings.from_env(env),
            tap=TapSettings.from_env(env),
            tap_uploads=TapUploadSettings.from_env(env),
            graphql=GraphQLSettings.from_env(env),
            embedded_cluster=EmbeddedSettings.from_env(env),
            harvest=HarvestSettings.from_env(env),
            previews=PreviewSettings.from_env(env),
            soda=SodaSettings.from_env(env),
            bulk=BulkSettings.from_env(env),
            cors_origins=_origins(read.text("HLSP_CORS_ORIGINS")),
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


def unknown_variable_warnings(env: Mapping[str, str] | None = None) -> list[str]:
    """One warning per ``HLSP_*`` variable of ``env`` that is no setting (a typo, most
    likely: ``HLSP_DATABSE_URL`` would otherwise silently leave the embedded cluster in use),
    naming the closest real one."""
    env = os.environ if env is None else env
    warnings = []
    for name in sorted(n for n in env if n.startswith(PREFIX) and n not in KNOWN):
        close = difflib.get_close_matches(name, sorted(KNOWN), n=1, cutoff=0.6)
        guess = f"did you mean {close[0]}? " if close else ""
        warnings.append(
            f"warning: {name} is not a setting of hlsp and is ignored ({guess}the README's "
            "Settings section lists them)"
        )
    return warnings


def export_to_environment(
    settings: Settings, environ: MutableMapping[str, str] | None = None
) -> None:
    """Write the command line's choices (data directory, database URL) into the environment,
    for the processes that read their settings from it (the server's worker processes)."""
    environ = os.environ if environ is None else environ
    environ["HLSP_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url:
        environ["HLSP_DATABASE_URL"] = settings.database_url
