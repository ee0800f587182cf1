"""Build the compiled harvest modules with mypyc (see :mod:`catalog.harvest.native`).

Run by ``scripts/setup.sh``; by hand:

    uv run python -m catalog.harvest.nativebuild           # build if a source changed
    uv run python -m catalog.harvest.nativebuild --check   # exit 1 if a build is needed
    uv run python -m catalog.harvest.nativebuild --force   # build anyway

Needs the dev dependencies (mypy, setuptools), a C compiler and the Python headers. The
build happens in a temporary directory; the result replaces ``catalog/harvest/_native/``
only when it is complete, with a manifest of the hashes of every source it read.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from catalog.harvest.native import (
    COMPILED,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    NATIVE_DIR,
    SOURCE_ROOT,
    digest,
    module_name,
    python_tag,
    verify,
)

GROUP_NAME = "hlsp_harvest_native"


class NativeBuildError(Exception):
    """The compiled modules could not be built (the pure-Python modules keep working)."""


def _module_file(root: Path, name: str) -> str | None:
    """The source of a ``catalog`` module, relative to ``root``, or None if not a module."""
    base = root / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate.relative_to(root).as_posix()
    return None


def _imports(root: Path, relative: str) -> set[str]:
    """The ``catalog`` modules a source imports (and the packages on the way to them)."""
    tree = ast.parse((root / relative).read_text(), filename=relative)
    package = module_name(relative)
    if not relative.endswith("__init__.py"):
        package = package.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    found: set[str] = set()
    for name in names:
        parts = name.split(".")
        if parts[0] != "catalog":
            continue
        for end in range(1, len(parts) + 1):  # every package on the way is imported too
            file = _module_file(root, ".".join(parts[:end]))
            if file is not None:
                found.add(file)
    return found


def sources_read(root: Path = SOURCE_ROOT) -> list[str]:
    """The compiled modules and every ``catalog`` module they import, transitively."""
    pending = list(COMPILED)
    seen: set[str] = set()
    while pending:
        relative = pending.pop()
        if relative in seen:
            continue
        seen.add(relative)
        pending.extend(_imports(root, relative) - seen)
    return sorted(seen)


def up_to_date(directory: Path = NATIVE_DIR, root: Path = SOURCE_ROOT) -> bool:
    files, _ = verify(directory, root)
    return bool(files)


def build(directory: Path = NATIVE_DIR, root: Path = SOURCE_ROOT, *, jobs: int = 2) -> Path:
    """Compile :data:`COMPILED` into ``directory`` (replaced whole); return its manifest."""
    try:
        from mypyc.build import mypycify
        from setuptools import Distribution  # type: ignore[import-untyped]
    except ImportError as error:
        raise NativeBuildError(
            f"mypyc or setuptools is missing ({error}); run `uv sync --all-groups` to install "
            "the dev dependencies"
        ) from None
    sources = sources_read(root)
    hashes = {relative: digest(root / relative) for relative in sources}
    directory.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="hlsp-native-"))
    staged = Path(tempfile.mkdtemp(prefix="_native-", dir=directory.parent))
    cwd = Path.cwd()
    try:
        os.chdir(root)  # mypy names modules from paths relative to here
        extensions = mypycify(
            ["--config-file", "pyproject.toml", *COMPILED],
            opt_level="3",
            target_dir=str(work / "c"),
            group_name=GROUP_NAME,
        )
        arguments = [
            "--quiet",
            "build_ext",
            "--build-lib",
            str(staged),
            "--build-temp",
            str(work / "o"),
            "--parallel",
            str(jobs),
        ]
        distribution = Distribution(
            {"ext_modules": extensions, "script_name": "nativebuild", "script_args": arguments}
        )
        distribution.parse_command_line()
        distribution.run_commands()
        command = distribution.get_command_obj("build_ext")
        modules = {ext.name: command.get_ext_filename(ext.name) for ext in extensions}
    except (Exception, SystemExit) as error:
        shutil.rmtree(staged, ignore_errors=True)
        raise NativeBuildError(f"mypyc build failed: {error}") from error
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)
    # The sources must not have changed while they were compiled.
    if any(digest(root / relative) != expected for relative, expected in hashes.items()):
        shutil.rmtree(staged, ignore_errors=True)
        raise NativeBuildError("a source changed during the build; run it again")
    manifest = {
        "format": MANIFEST_FORMAT,
        "python": python_tag(),
        "modules": modules,
        "sources": hashes,
    }
    (staged / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    staged.chmod(0o755)
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        directory.rename(old)
    staged.rename(directory)
    shutil.rmtree(old, ignore_errors=True)
    return directory / MANIFEST_NAME


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a build is needed")
    parser.add_argument("--force", action="store_true", help="build even if up to date")
    args = parser.parse_args(argv)
    current, reason = verify()
    if args.check:
        print(reason, file=sys.stderr)
        return 0 if current else 1
    if current and not args.force:
        return 0
    try:
        manifest = build()
    except NativeBuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"compiled {len(COMPILED)} harvest modules with mypyc ({manifest})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
