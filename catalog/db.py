"""Engines, the database a command uses, and bringing its schema up to date.

``Database.from_settings`` resolves where the catalog lives: ``HLSP_DATABASE_URL`` when set,
else the embedded cluster in the data directory. ``ensure_ready()`` is what every command
that needs the database calls: start the embedded cluster if needed, create the database,
apply migrations, and sync the settings SQL needs (the IVOA authority).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Engine, make_url

from catalog.config import Settings
from catalog.embedded import DATABASE, EmbeddedCluster
from catalog.errors import DatabaseUnavailable, MigrationError, PgSphereNotInstalled

POOL_OVERFLOW = 2
"""Connections a server pool may open beyond its size (the odd request outside the gates)."""

READER_ROLE = "hlsp_reader"
# The database's own bounds on every session of the query login, under the server's: read
# only; no query writes more than this much to temporary files (sorts and hashes that spill,
# an accidental cartesian product); a transaction left idle (its client gone) ends by itself.
QUERY_LOGIN_SETTINGS = (
    ("default_transaction_read_only", "on"),
    ("temp_file_limit", "1GB"),
    ("idle_in_transaction_session_timeout", "5min"),
)
QUERY_POOL = 5  # connections for query traffic when no server sized them
# The embedded default's login for query traffic: not a superuser, member of READER_ROLE
# only. A superuser session that merely SET ROLE could switch back (set_config('role', ...)).
QUERY_LOGIN = "hlsp_query"


def sqlalchemy_url(url: str) -> str:
    """``postgresql://`` (libpq form) -> the SQLAlchemy psycopg 3 form."""
    return re.sub(r"^postgres(?:ql)?(?:\+\w+)?://", "postgresql+psycopg://", url)


def libpq_url(url: str) -> str:
    return re.sub(r"^postgres(?:ql)?(?:\+\w+)?://", "postgresql://", url)


def migrations_dir() -> Path:
    """The alembic scripts: ``migrations/`` in a checkout, ``catalog/_migrations`` installed."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "migrations", here / "_migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise MigrationError("The migration scripts are missing from this installation.")


def alembic_config(connection: sa.Connection | None = None, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    cfg.attributes["connection"] = connection
    return cfg


def create_engine(url: str, **kwargs: Any) -> Engine:
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(sqlalchemy_url(url), **kwargs)


def _describe(url: str) -> str:
    return make_url(sqlalchemy_url(url)).render_as_string(hide_password=True)


@cache
def head_revision() -> str:
    """The newest migration of this installation (read from its scripts once: /health asks
    for it on every call, and parsing the scripts costs ~15 ms)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationError("The migration scripts have no head revision.")
    return head


@dataclass
class SchemaStatus:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


class Database:
    """One catalog database: its URL, engines, and schema state."""

    def __init__(
        self,
        url: str,
        *,
        cluster: EmbeddedCluster | None = None,
        read_url: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.url = libpq_url(url)
        self.read_url = libpq_url(read_url) if read_url else self.url
        self.cluster = cluster
        self.settings = settings or Settings()
        self.query_pool = QUERY_POOL

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        if settings.database_url:
            return cls(
                settings.database_url, read_url=settings.read_database_url, settings=settings
            )
        cluster = EmbeddedCluster(settings.data_dir, embedded_settings=settings.embedded_cluster)
        read_url = settings.read_database_url or cluster.url(user=QUERY_LOGIN)
        return cls(cluster.url(), cluster=cluster, read_url=read_url, settings=settings)

    @cached_property
    def engine(self) -> Engine:
        if self.read_url == self.url:  # query traffic shares this engine
            return create_engine(self.url, **self._query_pool_options())
        return create_engine(self.url)

    @cached_property
    def read_engine(self) -> Engine:
        if self.read_url == self.url:
            return self.engine
        return create_engine(self.read_url, **self._query_pool_options())

    def _query_pool_options(self) -> dict[str, Any]:
        # max_overflow: a little room for the odd request outside the gates (the landing
        # page's TAP tables, tests); pool_timeout: a short wait, then "unavailable" (503).
        return {"pool_size": self.query_pool, "max_overflow": POOL_OVERFLOW, "pool_timeout": 10}

    def size_query_pool(self, connections: int) -> None:
        """Hold ``connections`` for query traffic (the server's gates' sum); engines already
        made with another size are disposed of and made again when next used."""
        if connections != self.query_pool:
            self.query_pool = connections
            self.dispose()

    def dispose(self) -> None:
        for name in ("engine", "read_engine"):
            engine = self.__dict__.pop(name, None)
            if engine is not None:
                engine.dispose()

    def check_connection(self) -> str:
        """The server version, or DatabaseUnavailable with the reason."""
        try:
            with self.engine.connect() as conn:
                return str(conn.execute(sa.text("SHOW server_version")).scalar_one())
        except sa.exc.OperationalError as exc:
            raise DatabaseUnavailable(
                f"Cannot connect to {_describe(self.url)}: {str(exc.orig).strip()}",
                hint="Start it with 'hlsp db start' (embedded) or check HLSP_DATABASE_URL.",
            ) from exc

    def _create_database_if_missing(self) -> None:
        url = make_url(sqlalchemy_url(self.url))
        name = url.database or DATABASE
        admin = create_engine(
            url.set(database="postgres").render_as_string(hide_password=False),
            isolation_level="AUTOCOMMIT",
            poolclass=sa.pool.NullPool,
        )
        try:
            with admin.connect() as conn:
                exists = conn.execute(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                ).first()
                if not exists:
                    quoted = conn.dialect.identifier_preparer.quote(name)
                    conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
        finally:
            admin.dispose()

    def start(self) -> bool:
        """Start the embedded cluster (no-op for a URL). True if it was started now."""
        if self.cluster is None:
            return False
        started = self.cluster.start()
        self._create_database_if_missing()
        return started

    def schema_status(self) -> SchemaStatus:
        head = head_revision()
        with self.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        return SchemaStatus(current, head)

    def migrate(self, revision: str = "head") -> None:
        """Upgrade (or downgrade, for a lower revision) the schema, in one transaction."""
        try:
            with self.engine.begin() as conn:
                cfg = alembic_config(conn)
                current = MigrationContext.configure(conn).get_current_revision()
                script = ScriptDirectory.from_config(cfg)
                target = script.get_revision(revision) if revision not in ("head", "base") else None
                if revision == "base" or (
                    target is not None
                    and current is not None
                    and target.revision != current
                    and target.revision
                    in {r.revision for r in script.iterate_revisions(current, "base")}
                ):
                    command.downgrade(cfg, revision)
                else:
                    command.upgrade(cfg, revision)
                if revision != "base":
                    self._sync_settings(conn)
        except CommandError as exc:
            raise MigrationError(
                f"Cannot migrate to {revision!r}: {exc}",
                hint="Use 'head', 'base' or a revision id from migrations/versions.",
            ) from exc
        except sa.exc.DBAPIError as exc:
            if "pg_sphere" in str(exc.orig) and "not available" in str(exc.orig):
                raise PgSphereNotInstalled(
                    f"The server at {_describe(self.url)} does not have the pg_sphere extension.",
                    hint="On a Debian/Ubuntu server: apt-get install -y postgresql-<major>-"
                    "pgsphere (e.g. postgresql-15-pgsphere), then migrate again.",
                ) from exc
            raise MigrationError(
                f"Migrating {_describe(self.url)} to {revision} failed: {str(exc.orig).strip()}",
                hint="The transaction was rolled back; nothing was changed.",
            ) from exc

    def _sync_settings(self, conn: sa.Connection) -> None:
        has_table = conn.execute(sa.text("SELECT to_regclass('hlsp.setting')")).scalar()
        if has_table is None:
            return
        conn.execute(
            sa.text(
                "INSERT INTO hlsp.setting (name, setting_value) VALUES ('ivoa_authority', :v) "
                "ON CONFLICT (name) DO UPDATE SET setting_value = EXCLUDED.setting_value"
            ),
            {"v": self.settings.ivoa_authority},
        )
        # The public URL of access URLs when no server sets one per transaction (psql, and
        # replicas read by other tools); the server sets its own (catalog.delivery.urls).
        if self.settings.public_url:
            conn.execute(
                sa.text(
                    "INSERT INTO hlsp.setting (name, setting_value) VALUES ('public_url', :v) "
                    "ON CONFLICT (name) DO UPDATE SET setting_value = EXCLUDED.setting_value"
                ),
                {"v": self.settings.public_url.rstrip("/")},
            )
        else:
            conn.execute(sa.text("DELETE FROM hlsp.setting WHERE name = 'public_url'"))

    def ensure_query_login(self) -> None:
        """Embedded default: create the unprivileged login that query traffic uses."""
        if self.cluster is None:
            return
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(f"""
                DO $$ BEGIN
                  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{QUERY_LOGIN}') THEN
                    CREATE ROLE {QUERY_LOGIN} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
                      IN ROLE {READER_ROLE};
                  END IF;
                END $$""")
            )
            for name, value in QUERY_LOGIN_SETTINGS:
                conn.execute(sa.text(f"ALTER ROLE {QUERY_LOGIN} SET {name} = '{value}'"))

    def ensure_ready(self) -> None:
        """Everything a command needs: the server up, the database there, the schema current."""
        self.start()
        self.check_connection()
        self.migrate()
        self.ensure_query_login()
