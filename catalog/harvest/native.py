"""Compiled (mypyc) builds of the harvester's hot modules, used only when they match the sources.

``scripts/setup.sh`` compiles the modules of :data:`COMPILED` with mypyc (see
:mod:`catalog.harvest.nativebuild`) into ``catalog/harvest/_native/``, beside a manifest of
the SHA-256 of every source the build read: the compiled modules and every ``catalog``
module they import, directly or not (mypyc may inline their constants and trusts their
types). The compiled modules are never on ``sys.path``; :func:`activate` (run when
``catalog.harvest`` is imported) puts a finder on ``sys.meta_path`` that serves them **only
when every recorded hash matches the source on disk**, for this very Python. Otherwise the
pure-Python modules load as usual, so an edited source can never run as stale machine code:
it runs as Python until the next ``./run setup`` rebuilds the extension modules.

All or nothing: compiled modules call each other directly, so serving some compiled and
some pure would mix old and new code. ``HLSP_NO_NATIVE=1`` turns the compiled modules off.

Writing code for the compiled modules (mypyc compiles the same typed Python; where it differs):
- a class whose instances may be pickled defines ``__reduce__`` (the compiled class pickles
  through attribute writes that frozen dataclasses refuse, and without calling ``__init__``);
- ``frozenset & x`` wants ``x`` to be a frozenset when compiled: write ``x & a_frozenset``;
- code outside the compiled set that patches a compiled function (tests) does not reach the
  compiled callers: patch the caller's module (``loadpool``, which calls
  ``perfile.process_file`` per file), which stays Python.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

from catalog.config import HarvestSettings

# The modules compiled, as paths relative to the directory that holds the ``catalog`` package.
COMPILED = (
    "catalog/harvest/copytext.py",
    "catalog/harvest/extract.py",
    "catalog/harvest/fits/cards.py",
    "catalog/harvest/fits/reader.py",
    "catalog/harvest/fits/skywcs.py",
    "catalog/harvest/rules/nomenclature.py",
    "catalog/harvest/perfile.py",
    "catalog/harvest/rules/check.py",
    "catalog/harvest/rules/classify.py",
    "catalog/harvest/rules/codes.py",
    "catalog/harvest/rules/collection.py",
    "catalog/harvest/rules/keywords.py",
    "catalog/harvest/rules/provenance.py",
    "catalog/harvest/rules/tables.py",
    "catalog/harvest/rules/values.py",
    "catalog/harvest/rules/view.py",
    "catalog/harvest/rules/wcs.py",
)
MANIFEST_FORMAT = 1
SOURCE_ROOT = Path(__file__).resolve().parents[2]  # holds catalog/
NATIVE_DIR = Path(__file__).resolve().with_name("_native")
MANIFEST_NAME = "manifest.json"
DISABLE_VARIABLE = "HLSP_NO_NATIVE"


@dataclass(frozen=True)
class NativeStatus:
    """Whether the compiled modules are in use, and if not, why."""

    active: bool
    reason: str
    modules: tuple[str, ...] = ()


def python_tag() -> str:
    """What an extension module must have been built for to load in this interpreter: its
    ABI, and its exact version (mypyc's C uses CPython internals, which a patch release may
    change)."""
    version = ".".join(str(n) for n in sys.version_info[:3])
    return f"{sys.implementation.cache_tag}{importlib.machinery.EXTENSION_SUFFIXES[0]} {version}"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def module_name(relative: str) -> str:
    """``catalog/harvest/extract.py`` -> ``catalog.harvest.extract``."""
    parts = relative.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


class _Mismatch(Exception):
    """The build does not match the sources or this interpreter (the message says how)."""


def _manifest(directory: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((directory / MANIFEST_NAME).read_text())
    except FileNotFoundError:
        raise _Mismatch(f"no compiled build in {directory} (./run setup builds it)") from None
    except (OSError, ValueError) as error:
        raise _Mismatch(f"unreadable manifest in {directory}: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise _Mismatch("manifest of another format: rebuild with ./run setup")
    if manifest.get("python") != python_tag():
        raise _Mismatch(f"built for {manifest.get('python')}, this interpreter is {python_tag()}")
    return manifest


def _verified(directory: Path, root: Path) -> dict[str, Path]:
    manifest = _manifest(directory)
    modules: dict[str, str] = manifest.get("modules", {})
    compiled = sorted(name for name in modules if not name.endswith("__mypyc"))
    if compiled != sorted(module_name(p) for p in COMPILED):
        raise _Mismatch("the build compiled another set of modules: rebuild with ./run setup")
    for relative, expected in manifest.get("sources", {}).items():
        try:
            actual = digest(root / relative)
        except OSError:
            raise _Mismatch(
                f"{relative} is gone since the build: rebuild with ./run setup"
            ) from None
        if actual != expected:
            raise _Mismatch(f"{relative} changed since the build: rebuild with ./run setup")
    files = {name: directory / file for name, file in modules.items()}
    missing = [str(f) for f in files.values() if not f.is_file()]
    if missing:
        raise _Mismatch(f"compiled files missing: {', '.join(missing)}")
    return files


def verify(directory: Path = NATIVE_DIR, root: Path = SOURCE_ROOT) -> tuple[dict[str, Path], str]:
    """(module name -> extension file) of a build that matches the sources, or ({}, why not)."""
    try:
        return _verified(directory, root), "compiled modules match their sources"
    except _Mismatch as mismatch:
        return {}, str(mismatch)


class NativeFinder:
    """A meta-path finder that serves the verified extension modules, and nothing else."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        file = self.files.get(fullname)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(file))
        return importlib.util.spec_from_file_location(fullname, file, loader=loader)


_status: NativeStatus | None = None


def activate() -> NativeStatus:
    """Serve the compiled modules if they match their sources (idempotent)."""
    global _status  # noqa: PLW0603 (one finder per process)
    if _status is not None:
        return _status
    if not HarvestSettings.from_env().native:
        _status = NativeStatus(False, f"{DISABLE_VARIABLE} is set")
        return _status
    files, reason = verify()
    already = sorted(name for name in files if name in sys.modules)
    if files and already:
        files, reason = {}, f"already imported as Python: {', '.join(already)}"
    if files:
        sys.meta_path.insert(0, NativeFinder(files))
    _status = NativeStatus(bool(files), reason, tuple(sorted(files)))
    return _status


def status() -> NativeStatus:
    """Whether this process runs the compiled modules."""
    return activate()
