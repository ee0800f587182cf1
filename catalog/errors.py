"""Exceptions of the ``catalog`` package.

Every error a user can cause or meet carries a stable machine ``code`` and a message that
says what went wrong and what to do about it. The CLI prints ``message`` (and ``hint``)
without a stack trace; programs match on the class or on ``code``.

    CatalogError                  base class, code HLSP-000
    ├── ConfigError               a setting is malformed (HLSP-001)
    ├── PostgresNotInstalled      no usable PostgreSQL server binaries (HLSP-010)
    ├── PgSphereNotInstalled      PostgreSQL found, the pg_sphere extension is not (HLSP-011)
    ├── EmbeddedClusterError      the private cluster failed to init/start/stop (HLSP-012)
    ├── DatabaseUnavailable       the database cannot be reached, or went away (HLSP-020)
    ├── MigrationError            the schema could not be brought up to date (HLSP-021)
    ├── DatabaseFailure           the database failed during the work: its files, its disk,
    │                             a read-only server, a privilege (HLSP-022)
    └── HarvestError              a harvest could not go on: a worker process died (HLSP-030)
        └── HarvestBusy           another harvest holds the catalog's harvest lock (HLSP-031)

Errors cross process boundaries (a harvest's pool workers raise them): they pickle with
their message and hint.
"""

from __future__ import annotations


class CatalogError(Exception):
    """Base class: an expected failure with a user-facing message."""

    code = "HLSP-000"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class ConfigError(CatalogError):
    code = "HLSP-001"


class PostgresNotInstalled(CatalogError):
    code = "HLSP-010"


class PgSphereNotInstalled(CatalogError):
    code = "HLSP-011"


class EmbeddedClusterError(CatalogError):
    code = "HLSP-012"


class DatabaseUnavailable(CatalogError):
    code = "HLSP-020"


class MigrationError(CatalogError):
    code = "HLSP-021"


class DatabaseFailure(CatalogError):
    code = "HLSP-022"


class HarvestError(CatalogError):
    code = "HLSP-030"


class HarvestBusy(HarvestError):
    code = "HLSP-031"
