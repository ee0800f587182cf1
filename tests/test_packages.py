"""The packages say what they hold: each ``__init__`` docstring names every module and
subpackage beside it, and no folder of code holds more than 20 modules."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.support.db import REPO

NOT_CODE = {"static", "_native", "__pycache__", "vocabulary"}
MOST_MODULES = 20  # besides __init__


def packages() -> list[Path]:
    found = [
        init.parent
        for top in ("catalog", "tap")
        for init in sorted((REPO / top).rglob("__init__.py"))
        if not NOT_CODE & set(init.parent.relative_to(REPO).parts)
    ]
    assert len(found) > 10, f"packages not found under {REPO}"
    return found


def members(package: Path) -> list[str]:
    modules = [p.stem for p in package.glob("*.py") if p.stem != "__init__"]
    subpackages = [
        d.name
        for d in package.iterdir()
        if (d / "__init__.py").is_file() and d.name not in NOT_CODE
    ]
    return sorted(modules + subpackages)


@pytest.mark.parametrize("package", packages(), ids=lambda p: str(p.relative_to(REPO)))
def test_the_package_docstring_names_every_module(package: Path) -> None:
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8")))
    assert doc, f"{package.relative_to(REPO)}/__init__.py has no docstring"
    missing = [m for m in members(package) if not re.search(rf"(?<![\w.]){re.escape(m)}\b", doc)]
    assert not missing, f"{package.relative_to(REPO)}/__init__.py does not name {missing}"


@pytest.mark.parametrize("package", packages(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_folder_holds_more_than_twenty_modules(package: Path) -> None:
    modules = [p for p in package.glob("*.py") if p.stem != "__init__"]
    assert len(modules) <= MOST_MODULES, (
        f"{package.relative_to(REPO)} holds {len(modules)} modules: group them in subpackages"
    )
