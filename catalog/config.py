"""Settings, read from the environment (``HLSP_*``) once, with command-line overrides."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from catalog.errors import ConfigError

DEFAULT_AUTHORITY = "ivo://hlsp.example/catalog"
_ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")
_AUTHORITY_RE = re.compile(r"^ivo://[A-Za-z0-9][A-Za-z0-9._~\-]{2,}(/[A-Za-z0-9._~\-/]*)?$")


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


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
