"""Starting the server: uvicorn with the guarded protocol, one or several processes.

``serve(settings, host=…, port=…)`` runs ``settings.serving.workers`` processes on one
listening socket (uvicorn's supervisor restarts a process that dies); each builds its app
with :func:`worker_app` from the environment, so the command line's choices (data
directory, database URL) are put into the environment first. Async jobs are shared through
PostgreSQL, so any process may answer for any job.
"""

from __future__ import annotations

import logging
import resource
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.supervisors import Multiprocess

from catalog.config import Settings, export_to_environment
from catalog.serving.protocol import DEFAULT_HEAD_LIMIT, GuardedHttpToolsProtocol

log = logging.getLogger(__name__)

# uvicorn's own ceiling on open connections and tasks per process, far above what the gates
# admit: beyond it uvicorn answers 503 itself (without Retry-After).
MAX_CONNECTIONS = 8192


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration plus the request-head bounds the protocol reads."""

    def __init__(self, *args: Any, head_timeout: float, head_limit: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout = head_timeout
        self.head_limit = head_limit


def raise_open_files_limit() -> int:
    """Raise the soft limit of open files to the hard one (a connection is a file)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def worker_app() -> ASGIApp:
    """The app of one server process, from the environment (uvicorn's factory)."""
    from catalog.app import create_app
    from catalog.db import Database

    settings = Settings.from_env()
    return create_app(Database.from_settings(settings))


def serve(settings: Settings, *, host: str, port: int, access_log: bool = True) -> None:
    export_to_environment(settings)
    raise_open_files_limit()
    serving = settings.serving
    config = ServerConfig(
        "catalog.serving.launch:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=serving.workers,
        http=GuardedHttpToolsProtocol,
        log_level="info",
        access_log=access_log,
        server_header=False,  # the app names itself (VO clients look for a software token)
        limit_concurrency=MAX_CONNECTIONS,
        backlog=4096,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
        head_timeout=serving.client_timeout,
        head_limit=DEFAULT_HEAD_LIMIT,
    )
    if serving.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config).run()
