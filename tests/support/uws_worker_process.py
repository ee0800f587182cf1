"""A server process's job side alone: ``python -m tests.uws_worker_process DATABASE_URL``.

Starts a UWS service with one worker on that database, prints ``ready`` and runs until
killed. The tests kill it with SIGKILL to play a crashed server.
"""

from __future__ import annotations

import sys
import threading

from catalog.db import create_engine
from tests.support.uws import make_service


def main() -> None:
    engine = create_engine(sys.argv[1])
    svc = make_service(engine, workers=1)
    svc.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
