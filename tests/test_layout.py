"""The tests' own layout: folders that mirror the packages, and no test module that imports
another (shared helpers live in tests/support/, fixtures in each folder's conftest.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.db import REPO

TESTS = REPO / "tests"
NOT_MIRRORS = {"support", "data", "__pycache__"}
MARKS = ("noqa: F401", "pytest_plugins")


def test_every_test_folder_mirrors_a_package() -> None:
    folders = [
        d.relative_to(TESTS)
        for d in sorted(TESTS.rglob("*"))
        if d.is_dir() and not NOT_MIRRORS & set(d.relative_to(TESTS).parts)
    ]
    assert folders, "no test folders"
    strays = [
        str(f)
        for f in folders
        if not (REPO / "catalog" / f / "__init__.py").is_file()
        and not (REPO / f / "__init__.py").is_file()
    ]
    assert not strays, f"test folders that mirror no package of catalog/ or tap/: {strays}"
    missing = [str(f) for f in folders if not (TESTS / f / "__init__.py").is_file()]
    assert not missing, f"test folders without __init__.py: {missing}"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_test_module_imports_another_or_a_conftest() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        for module in imported_modules(path):
            parts = module.split(".")
            if parts[0] != "tests":
                continue
            if any(p.startswith("test_") or p == "conftest" for p in parts[1:]):
                offenders.append(f"{path.relative_to(REPO)} imports {module}")
    assert not offenders, "\n".join(offenders)


def test_no_fixture_is_imported_by_name() -> None:
    """Fixtures come from conftest.py files, not from imports kept alive with noqa."""
    offenders = [
        str(path.relative_to(REPO))
        for path in sorted(TESTS.rglob("*.py"))
        if path != Path(__file__)
        and any(mark in path.read_text(encoding="utf-8") for mark in MARKS)
    ]
    assert not offenders, offenders
