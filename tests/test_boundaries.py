"""The package boundaries: which code may import what (design: "Dependency arrows point one way").

- ``tap`` never imports ``catalog``: it knows table metadata and a connection, nothing else;
- ``catalog.graphql`` imports nothing from ``catalog.harvest``;
- the checker (``catalog.harvest.rules``, the ``hlsp check`` run and its report) and the
  header reader (``catalog.harvest.fits``) load no database library (psycopg, SQLAlchemy,
  alembic), directly or through the ``catalog`` modules they import (``catalog.db``, the
  model's tables, ...).

Each rule is checked twice: statically, over every import statement of every module
(function-local ones included; ``if TYPE_CHECKING:`` blocks excluded, they never run), and
at run time, by importing the modules in a fresh interpreter and looking at ``sys.modules``.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATABASE_LIBRARIES = ("psycopg", "psycopg_pool", "sqlalchemy", "alembic")
CHECKER = (
    "catalog.harvest.rules",
    "catalog.harvest.checkrun",
    "catalog.harvest.report",
    "catalog.harvest.fits",
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: str) -> list[str]:
    """Every module of a package (a folder of the repository), the package itself included."""
    base = ROOT / Path(*package.split("."))
    if base.with_suffix(".py").is_file():
        return [package]
    found = sorted(module_name(p) for p in base.rglob("*.py") if "_native" not in p.parts)
    assert found, f"no module {package} in {ROOT}"
    return found


def source(name: str) -> Path | None:
    base = ROOT / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node that runs: ``if TYPE_CHECKING:`` bodies are left out (their else kept)."""
    found: list[ast.AST] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        found.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))
    return found


@cache
def imports(name: str) -> frozenset[str]:
    """The modules ``name`` imports, anywhere in its source (function bodies included),
    relative imports resolved, ``from package import module`` counted as the module."""
    path = source(name)
    if path is None:
        return frozenset()
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _nodes(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            for alias in node.names:
                if source(f"{base}.{alias.name}") is not None:
                    found.add(f"{base}.{alias.name}")
    return frozenset(found)


def loaded_with(name: str) -> frozenset[str]:
    """Every repository module that importing ``name`` can load: its imports, theirs, and
    the packages on the way to each (importing ``a.b.c`` runs ``a`` and ``a.b`` first)."""
    seen: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        parts = current.split(".")
        for end in range(1, len(parts) + 1):
            prefix = ".".join(parts[:end])
            if prefix not in seen and source(prefix) is not None:
                seen.add(prefix)
                pending.extend(imports(prefix))
    return frozenset(seen)


def is_under(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


# -- static: the import statements ----------------------------------------------------------


def test_tap_never_imports_catalog() -> None:
    offenders = {
        f"{module} imports {imported}"
        for module in modules("tap")
        for imported in imports(module)
        if is_under(imported, "catalog")
    }
    assert not offenders, sorted(offenders)


def test_graphql_imports_nothing_from_the_harvester() -> None:
    offenders = {
        f"{module} loads {loaded}"
        for module in modules("catalog.graphql")
        for loaded in loaded_with(module)
        if is_under(loaded, "catalog.harvest")
    }
    assert not offenders, sorted(offenders)


@pytest.mark.parametrize("package", CHECKER)
def test_the_checker_and_the_header_reader_import_no_database_library(package: str) -> None:
    offenders = {
        f"{module} loads {loaded}, which imports {imported}"
        for module in modules(package)
        for loaded in loaded_with(module)
        for imported in imports(loaded)
        if is_under(imported, *DATABASE_LIBRARIES)
    }
    assert not offenders, sorted(offenders)


def test_the_import_walk_sees_what_it_must() -> None:
    """The walk itself: local imports, relative imports, packages on the way, TYPE_CHECKING."""
    assert "catalog.harvest.perfile" in imports("catalog.harvest.loadpool")
    assert "catalog.harvest.run" in imports("catalog.cli")  # imported inside a command
    assert "sqlalchemy" in imports("catalog.db")
    assert "catalog.harvest" in loaded_with("catalog.harvest.fits.reader")
    assert not any(is_under(m, "sqlalchemy") for m in imports("catalog.model"))
    assert "catalog.model.products" in loaded_with("catalog.model.products")


# -- at run time: a fresh interpreter -------------------------------------------------------

PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_at_run_time(*names: str) -> list[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *names],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    result: list[str] = json.loads(done.stdout)
    return result


def test_importing_the_checker_loads_no_database_library() -> None:
    names = [m for package in CHECKER for m in modules(package)]
    loaded = loaded_at_run_time(*names)
    assert [m for m in loaded if is_under(m, *DATABASE_LIBRARIES, "catalog.db")] == []


def test_importing_the_graphql_api_loads_no_harvest_module() -> None:
    loaded = loaded_at_run_time(*modules("catalog.graphql"))
    assert [m for m in loaded if is_under(m, "catalog.harvest")] == []


def test_importing_tap_loads_no_catalog_module() -> None:
    loaded = loaded_at_run_time(*modules("tap"))
    assert [m for m in loaded if is_under(m, "catalog")] == []


CHECK_PROBE = """
import json, sys
from catalog.cli import main
try:
    main(["check", sys.argv[1], "--format", "json", "--jobs", "1"], standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def test_the_check_command_loads_no_database_library(tmp_path: Path) -> None:
    """``hlsp check`` end to end (the command line, a real file): no database library loads."""
    from astropy.io import fits

    fits.PrimaryHDU().writeto(tmp_path / "hlsp_demo_hst_acs_m31_f814w_v1_drz.fits")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", CHECK_PROBE, str(tmp_path)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "hlsp_demo_hst_acs_m31_f814w_v1_drz.fits" in done.stdout, done.stdout + done.stderr
    loaded: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    assert [m for m in loaded if is_under(m, *DATABASE_LIBRARIES, "catalog.db")] == []
