"""``tap``'s public face: what ``tap.__all__`` declares exists, is documented and costs nothing
until used, and ``catalog`` imports ``tap`` through it only (``from tap import X``)."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import tap
from tests.support.db import REPO

ROOT = REPO


def test_all_is_sorted_and_unique() -> None:
    assert len(set(tap.__all__)) == len(tap.__all__)
    assert sorted(tap.__all__, key=lambda n: (not n.isupper(), n)) == tap.__all__


@pytest.mark.parametrize("name", tap.__all__)
def test_every_exported_member_exists_and_is_documented(name: str) -> None:
    member = getattr(tap, name)
    assert f"``{name}``" in (tap.__doc__ or ""), f"the docstring of tap does not name {name}"
    if inspect.isclass(member) or inspect.isfunction(member):
        assert member.__module__.startswith("tap."), member.__module__
        doc = inspect.getdoc(member) or ""
        # a dataclass without a docstring gets its signature as one
        assert doc and not doc.startswith(f"{name}("), f"{name} has no docstring"
    namespace: dict[str, object] = {}
    exec(f"from tap import {name}", namespace)
    assert namespace[name] is member


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        tap.nothing  # noqa: B018


def test_importing_tap_imports_none_of_its_modules() -> None:
    code = "import sys, tap; print(sorted(m for m in sys.modules if m.startswith('tap.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _tap_submodule_imports(path: Path) -> list[str]:
    """``import tap.x``, ``from tap.x import y`` and ``from tap import name`` for a name that
    is not in ``tap.__all__`` (a submodule), in the module at ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.startswith("tap.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "tap":
            names = [f"tap.{a.name}" for a in node.names if a.name not in tap.__all__]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module.startswith("tap.") else []
        else:
            continue
        found += [f"{path.relative_to(ROOT)}:{node.lineno}: {name}" for name in names]
    return found


def test_catalog_imports_tap_only_through_its_face() -> None:
    paths = sorted((ROOT / "catalog").rglob("*.py"))
    assert len(paths) > 50, f"catalog/ not found under {ROOT}"
    found = [hit for path in paths for hit in _tap_submodule_imports(path)]
    assert found == [], (
        "import these from tap itself (and export them in tap.__all__):\n" + "\n".join(found)
    )
