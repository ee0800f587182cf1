"""The embedded default: a private PostgreSQL cluster owned by the project.

With no ``HLSP_DATABASE_URL``, ``hlsp`` runs its own cluster from the installed PostgreSQL
binaries. Layout inside the data directory (``HLSP_DATA_DIR``, default ``./.hlsp``)::

    pgdata/        the cluster (initdb), owned by the user PostgreSQL runs as
    run/           the Unix socket; no TCP port is opened, so nothing clashes
    log/           the server log

PostgreSQL refuses to run as root. When ``hlsp`` runs as root, the cluster runs as an
unprivileged system user (``postgres`` when it exists, else a ``hlsp-postgres`` system user
created on first use): files are chowned and the server commands run under that user.
When that user cannot reach the data directory (e.g. it lives under a 0700 ``/root``), the
cluster is kept in ``/var/lib/hlsp-catalog/<hash>`` instead and ``pgdata`` points there.

``start`` is idempotent; a stale pid file (a crashed server, a reboot) is removed and
PostgreSQL's own crash recovery runs on the next start; ``stop`` is a clean fast shutdown.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from catalog.config import EmbeddedSettings
from catalog.errors import EmbeddedClusterError
from catalog.postgres import PostgresInstall, find_postgres

SUPERUSER = "hlsp_admin"  # not "hlsp": "$user" in search_path would resolve to our schema
DATABASE = "hlsp"
PORT = 5432
MAX_CONNECTIONS = 250
"""The cluster's connection limit: ``hlsp serve``'s processes (at most 8, each holding at most
``Budget.most_connections``, 23 by default) with room for the harvest and the command line."""
FALLBACK_ROOT = Path("/var/lib/hlsp-catalog")
SERVICE_USER = "hlsp-postgres"
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; leave room for ".s.PGSQL.5432"


@dataclass(frozen=True)
class RunAs:
    """The account the server runs as (None fields: the current user)."""

    uid: int
    gid: int
    name: str
    home: str

    @classmethod
    def current(cls) -> RunAs:
        entry = pwd.getpwuid(os.geteuid())
        return cls(entry.pw_uid, entry.pw_gid, entry.pw_name, entry.pw_dir)


@dataclass(frozen=True)
class ClusterStatus:
    running: bool
    pid: int | None
    data_dir: Path
    pgdata: Path
    socket_dir: Path
    initialised: bool
    major: int


def _service_account(wanted: str | None) -> RunAs:
    """The unprivileged account to run PostgreSQL as when we are root (``wanted``, the
    setting ``HLSP_PG_USER``, else ``postgres``, else our own system account)."""
    for name in [wanted] if wanted else ["postgres", SERVICE_USER]:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        if entry.pw_uid == 0:
            raise EmbeddedClusterError(f"HLSP_PG_USER={name} is root; PostgreSQL refuses root.")
        return RunAs(entry.pw_uid, entry.pw_gid, entry.pw_name, entry.pw_dir or "/")
    if wanted:
        raise EmbeddedClusterError(f"HLSP_PG_USER={wanted} does not exist.")
    try:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                "--user-group",
                SERVICE_USER,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise EmbeddedClusterError(
            "Running as root, the embedded PostgreSQL needs an unprivileged account, and "
            f"creating '{SERVICE_USER}' failed: {exc}",
            hint="Create one (useradd --system hlsp-postgres) or set HLSP_PG_USER.",
        ) from exc
    entry = pwd.getpwnam(SERVICE_USER)
    return RunAs(entry.pw_uid, entry.pw_gid, entry.pw_name, "/")


def _conf_string(value: str) -> str:
    """A postgresql.conf string literal; a comma would split unix_socket_directories."""
    if "," in value or "\n" in value:
        raise EmbeddedClusterError(
            f"Cannot use {value!r} for the socket: it contains ',' or a newline."
        )
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _reachable_by(path: Path, account: RunAs) -> bool:
    """Can ``account`` traverse every directory down to ``path`` (which must exist)?"""
    groups = {account.gid} | {g.gr_gid for g in grp.getgrall() if account.name in g.gr_mem}
    for directory in [path, *path.parents]:
        st = directory.stat()
        if st.st_uid == account.uid:
            ok = bool(st.st_mode & stat.S_IXUSR)
        elif st.st_gid in groups:
            ok = bool(st.st_mode & stat.S_IXGRP)
        else:
            ok = bool(st.st_mode & stat.S_IXOTH)
        if not ok:
            return False
    return True


class EmbeddedCluster:
    """A private PostgreSQL cluster under ``data_dir``; ``embedded_settings`` says which PostgreSQL
    binaries and which account (when root) it uses, those of the environment when None."""

    def __init__(
        self,
        data_dir: Path,
        *,
        install: PostgresInstall | None = None,
        durable: bool = True,
        extra_settings: Mapping[str, str] | None = None,
        embedded_settings: EmbeddedSettings | None = None,
    ) -> None:
        self.data_dir = data_dir.absolute()
        self.embedded_settings = embedded_settings or EmbeddedSettings.from_env()
        self._install = install
        self.durable = durable
        self.extra_settings = dict(extra_settings or {})
        self._account: RunAs | None = None

    # -- where things live ------------------------------------------------------------
    @property
    def install(self) -> PostgresInstall:
        if self._install is None:
            self._install = find_postgres(bindir=self.embedded_settings.pg_bindir)
        return self._install

    @property
    def account(self) -> RunAs:
        if self._account is None:
            self._account = (
                _service_account(self.embedded_settings.pg_user)
                if os.geteuid() == 0
                else RunAs.current()
            )
        return self._account

    @property
    def _root(self) -> Path:
        """Where pgdata/run/log live: the data dir, or the fallback when unreachable."""
        pointer = self.data_dir / "cluster-location"
        if pointer.is_file():
            return Path(pointer.read_text().strip())
        return self.data_dir

    @property
    def pgdata(self) -> Path:
        return self._root / "pgdata"

    @property
    def socket_dir(self) -> Path:
        run = self._root / "run"
        if len(str(run / f".s.PGSQL.{PORT}")) <= _SOCKET_PATH_MAX:
            return run
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path("/tmp") / f"hlsp-{digest}"  # noqa: S108 - sun_path is too short otherwise

    @property
    def log_file(self) -> Path:
        return self._root / "log" / "postgresql.log"

    def url(self, database: str = DATABASE, user: str = SUPERUSER) -> str:
        """A libpq URL (psql, psycopg, SQLAlchemy) for the socket of this cluster."""
        host = quote(str(self.socket_dir), safe="")
        return f"postgresql://{user}@/{database}?host={host}&port={PORT}"

    # -- running commands as the service account ------------------------------------
    def _run(
        self, args: list[str], *, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        account = self.account
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": account.home,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PGTZ": "UTC",
        }
        kwargs: dict[str, object] = {}
        if os.geteuid() == 0:
            kwargs = {"user": account.uid, "group": account.gid, "extra_groups": []}
        try:
            result = subprocess.run(
                args,
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout,
                cwd="/",
                check=False,
                **kwargs,  # type: ignore[call-overload]
            )
        except subprocess.TimeoutExpired as exc:
            raise EmbeddedClusterError(
                f"{Path(args[0]).name} did not finish within {timeout:.0f} s" + self._log_tail()
            ) from exc
        if check and result.returncode != 0:
            raise EmbeddedClusterError(
                f"{Path(args[0]).name} failed (exit {result.returncode}): "
                f"{(result.stderr or result.stdout).strip()}" + self._log_tail()
            )
        return result  # type: ignore[no-any-return]

    def _log_tail(self, lines: int = 15) -> str:
        try:
            tail = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "\nLast lines of " + str(self.log_file) + ":\n  " + "\n  ".join(tail)

    def _own(self, path: Path, mode: int) -> None:
        """Create ``path`` for the service account, refusing a squatted or symlinked one."""
        path.mkdir(parents=True, exist_ok=True)
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode) or st.st_uid not in (self.account.uid, os.geteuid()):
            raise EmbeddedClusterError(
                f"{path} exists but belongs to uid {st.st_uid} (or is a link); refusing to use "
                "it for the database. Remove it or set HLSP_DATA_DIR elsewhere."
            )
        if os.geteuid() == 0:
            os.chown(path, self.account.uid, self.account.gid)
        path.chmod(mode)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One hlsp process at a time initialises, starts or stops this cluster."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with (self.data_dir / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").is_file()

    def _prepare_directories(self) -> None:
        created = not self.data_dir.exists()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            if created:  # our own directory: the service account must be able to traverse it
                self.data_dir.chmod(0o755)
            unreachable = not _reachable_by(self.data_dir, self.account)
            if self._root == self.data_dir and unreachable and self.initialised:
                raise EmbeddedClusterError(
                    f"The cluster in {self.pgdata} can no longer be reached by the "
                    f"'{self.account.name}' account PostgreSQL runs as (a parent directory "
                    "lost its x permission).",
                    hint=f"Restore access (chmod o+x on the parents of {self.data_dir}).",
                )
            if self._root == self.data_dir and unreachable:
                digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:16]
                fallback = FALLBACK_ROOT / digest
                fallback.mkdir(parents=True, exist_ok=True)
                FALLBACK_ROOT.chmod(0o755)
                fallback.chmod(0o755)
                (self.data_dir / "cluster-location").write_text(str(fallback) + "\n")
        self._own(self.socket_dir, 0o700)
        self._own(self.log_file.parent, 0o700)

    def initdb(self) -> None:
        """Create the cluster if there is none (atomically: into a temp dir, then renamed)."""
        self._prepare_directories()
        if self.initialised:
            return
        staging = self.pgdata.with_name("pgdata.initdb")
        if staging.exists():
            shutil.rmtree(staging)
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise EmbeddedClusterError(
                f"{self.pgdata} exists and is not a PostgreSQL cluster (no PG_VERSION); "
                "refusing to touch it.",
                hint="Move it away, or set HLSP_DATA_DIR to another directory.",
            )
        if self.pgdata.exists():
            self.pgdata.rmdir()
        self._own(staging, 0o700)
        self._run(
            [
                self.install.bin("initdb"),
                "-D",
                str(staging),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            ]
            + ([] if self.durable else ["--no-sync"]),
            timeout=300,
        )
        with (staging / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'hlsp.conf'\n")
        staging.rename(self.pgdata)

    def _write_settings(self) -> None:
        settings = {
            "listen_addresses": "''",
            "port": str(PORT),
            "unix_socket_directories": _conf_string(str(self.socket_dir)),
            "unix_socket_permissions": "0700",
            "timezone": "'UTC'",
            "log_timezone": "'UTC'",
            "max_connections": str(MAX_CONNECTIONS),
            "shared_buffers": "'256MB'",
            "work_mem": "'16MB'",
            "maintenance_work_mem": "'256MB'",
            "jit": "off",
        }
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        settings |= self.extra_settings
        text = "# Written by hlsp on every start; edit HLSP settings, not this file.\n"
        text += "".join(f"{k} = {v}\n" for k, v in settings.items())
        target = self.pgdata / "hlsp.conf"
        target.write_text(text)
        if os.geteuid() == 0:
            os.chown(target, self.account.uid, self.account.gid)

    def _pid(self) -> int | None:
        try:
            first = (self.pgdata / "postmaster.pid").read_text().splitlines()[0]
            return int(first.strip())
        except (OSError, IndexError, ValueError):
            return None

    def _is_postgres(self, pid: int) -> bool:
        """Is ``pid`` the postmaster of *this* cluster (not a reused pid, not another cluster)?"""
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            cwd = Path(f"/proc/{pid}/cwd").readlink()
        except OSError:
            return False
        return comm in ("postgres", "postmaster") and cwd == self.pgdata.resolve()

    def is_running(self) -> bool:
        if not self.initialised:
            return False
        result = self._run(
            [self.install.bin("pg_ctl"), "status", "-D", str(self.pgdata)], check=False
        )
        pid = self._pid()
        return result.returncode == 0 and pid is not None and self._is_postgres(pid)

    def _clear_stale_lock(self) -> None:
        """Remove a postmaster.pid whose process is gone or is not PostgreSQL (pid reuse)."""
        pid = self._pid()
        lock = self.pgdata / "postmaster.pid"
        if lock.exists() and (pid is None or not self._is_postgres(pid)):
            lock.unlink(missing_ok=True)
            for leftover in self.socket_dir.glob(".s.PGSQL.*"):
                leftover.unlink(missing_ok=True)

    def start(self, *, timeout: float = 120) -> bool:
        """Start the cluster (creating it first if needed). False if it was already up."""
        with self._locked():
            return self._start(timeout)

    def _start(self, timeout: float) -> bool:
        self.initdb()
        self._write_settings()
        if self.is_running():
            return False
        self._clear_stale_lock()
        self._run(
            [
                self.install.bin("pg_ctl"),
                "start",
                "-D",
                str(self.pgdata),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                str(int(timeout)),
                "-s",
            ],
            timeout=timeout + 30,
        )
        return True

    def stop(self, *, timeout: float = 60) -> bool:
        """Stop the cluster cleanly. False if it was not running."""
        with self._locked():
            return self._stop(timeout)

    def _stop(self, timeout: float) -> bool:
        if not self.is_running():
            self._clear_stale_lock()
            return False
        self._run(
            [
                self.install.bin("pg_ctl"),
                "stop",
                "-D",
                str(self.pgdata),
                "-m",
                "fast",
                "-w",
                "-t",
                str(int(timeout)),
                "-s",
            ],
            timeout=timeout + 30,
        )
        return True

    def kill(self) -> None:
        """Kill the postmaster with SIGKILL, as a crash would (for tests of recovery)."""
        pid = self._pid()
        if pid is not None and self._is_postgres(pid):
            os.kill(pid, 9)
            deadline = time.monotonic() + 30
            while self._is_postgres(pid) and time.monotonic() < deadline:
                time.sleep(0.05)

    def status(self) -> ClusterStatus:
        running = self.is_running()
        return ClusterStatus(
            running=running,
            pid=self._pid() if running else None,
            data_dir=self.data_dir,
            pgdata=self.pgdata,
            socket_dir=self.socket_dir,
            initialised=self.initialised,
            major=self.install.major,
        )

    def destroy(self) -> None:
        """Stop the cluster and delete its files (tests, ``hlsp db destroy``)."""
        with contextlib.suppress(EmbeddedClusterError):
            self.stop()
        root = self._root
        for path in (
            self.pgdata,
            self.pgdata.with_name("pgdata.initdb"),
            root / "run",
            root / "log",
            self.socket_dir,
        ):
            shutil.rmtree(path, ignore_errors=True)
        if root != self.data_dir:
            shutil.rmtree(root, ignore_errors=True)
        (self.data_dir / "cluster-location").unlink(missing_ok=True)
        (self.data_dir / ".lock").unlink(missing_ok=True)
