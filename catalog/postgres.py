"""Finding the installed PostgreSQL server and pg_sphere, and saying how to install them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from catalog.errors import PgSphereNotInstalled, PostgresNotInstalled

MIN_MAJOR = 15
# Debian/Ubuntu release codename -> the PostgreSQL major it ships.
_DISTRO_MAJOR = {"bookworm": 15, "trixie": 17, "noble": 16, "oracular": 16, "plucky": 17}


@dataclass(frozen=True)
class PostgresInstall:
    bindir: Path
    sharedir: Path
    major: int

    def bin(self, name: str) -> str:
        return str(self.bindir / name)

    @property
    def has_pgsphere(self) -> bool:
        return (self.sharedir / "extension" / "pg_sphere.control").is_file()


def _distro_major() -> int:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return MIN_MAJOR
    match = re.search(r"^VERSION_CODENAME=(\w+)", text, re.MULTILINE)
    return _DISTRO_MAJOR.get(match.group(1), MIN_MAJOR) if match else MIN_MAJOR


def install_command(packages: list[str]) -> str:
    prefix = "" if os.geteuid() == 0 else "sudo "
    return f"{prefix}apt-get install -y {' '.join(packages)}"


def _major_of(bindir: Path) -> int | None:
    postgres = bindir / "postgres"
    if not postgres.is_file():
        return None
    try:
        out = subprocess.run(
            [str(postgres), "--version"], capture_output=True, text=True, check=True, timeout=20
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else None


def _sharedir(bindir: Path, major: int) -> Path:
    pg_config = bindir / "pg_config"
    if pg_config.is_file():
        try:
            out = subprocess.run(
                [str(pg_config), "--sharedir"],
                capture_output=True,
                text=True,
                check=True,
                timeout=20,
            ).stdout.strip()
            if out:
                return Path(out)
        except (OSError, subprocess.SubprocessError):
            pass
    return Path(f"/usr/share/postgresql/{major}")


def _candidate_bindirs(override: Path | None = None) -> list[Path]:
    candidates: list[Path] = []
    if override is not None:
        return [override]
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=20
            ).stdout.strip()
            candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(debian)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    seen: list[Path] = []
    for c in candidates:
        if c not in seen:
            seen.append(c)
    return seen


def find_postgres(*, require_pgsphere: bool = True, bindir: Path | None = None) -> PostgresInstall:
    """The newest usable PostgreSQL (>= 15) server install, preferring one with pg_sphere
    (only the binaries in ``bindir`` when given: ``HLSP_PG_BINDIR``)."""
    found: list[PostgresInstall] = []
    for candidate in _candidate_bindirs(bindir):
        if not (candidate / "initdb").is_file() or not (candidate / "pg_ctl").is_file():
            continue
        major = _major_of(candidate)
        if major is None or major < MIN_MAJOR:
            continue
        found.append(PostgresInstall(candidate, _sharedir(candidate, major), major))
    if not found:
        major = _distro_major()
        raise PostgresNotInstalled(
            f"No PostgreSQL server >= {MIN_MAJOR} is installed (looked for initdb and pg_ctl "
            "via pg_config, /usr/lib/postgresql/*/bin and PATH).",
            hint="Install it with:\n  "
            + install_command([f"postgresql-{major}", f"postgresql-{major}-pgsphere"])
            + "\nor point HLSP_DATABASE_URL at an existing server with pg_sphere.",
        )
    found.sort(key=lambda f: f.major, reverse=True)
    with_sphere = [f for f in found if f.has_pgsphere]
    if with_sphere:
        return with_sphere[0]
    if require_pgsphere:
        best = found[0]
        raise PgSphereNotInstalled(
            f"PostgreSQL {best.major} is installed but the pg_sphere extension is not "
            f"(no {best.sharedir / 'extension' / 'pg_sphere.control'}).",
            hint="Install it with:\n  " + install_command([f"postgresql-{best.major}-pgsphere"]),
        )
    return found[0]
