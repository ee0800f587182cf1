"""What a test sees of a served catalog (the ``site`` fixtures of tests/delivery/): its URL,
its database and the directory its corpus was harvested from."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from catalog.db import Database


class Served(Protocol):
    @property
    def base(self) -> str: ...

    @property
    def db(self) -> Database: ...

    @property
    def root(self) -> Path: ...
