"""The compiled (mypyc) harvest modules: in use when built, never stale, same results as Python."""

from __future__ import annotations

import importlib
import importlib.machinery
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import catalog
from catalog.corpus import generate_corpus
from catalog.harvest import extract, native
from catalog.harvest.nativebuild import sources_read
from catalog.harvest.perfile import process_file
from catalog.harvest.records import FileTask

PACKAGE = Path(catalog.__file__).resolve().parent
DISABLED = os.environ.get(native.DISABLE_VARIABLE, "") not in {"", "0"}
BUILT = bool(native.verify()[0])
needs_build = pytest.mark.skipif(not BUILT, reason="no compiled build matches the sources")

PROBE = """
import json, sys
from catalog.harvest import native
import catalog.harvest.extract as extract, catalog.harvest.fits.reader as fitsio
status = native.status()
print(json.dumps({"active": status.active, "reason": status.reason,
                  "extract": extract.__file__, "fitsio": fitsio.__file__,
                  "edited": getattr(extract, "EDITED", False)}))
"""


def probe(root: Path, **env: str) -> dict[str, object]:
    """What a fresh interpreter importing the catalog package under ``root`` runs."""
    environment = {k: v for k, v in os.environ.items() if k != native.DISABLE_VARIABLE}
    environment.update(PYTHONPATH=str(root), **env)
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the catalog package with its compiled build, to edit."""
    shutil.copytree(PACKAGE, tmp_path / "catalog", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_suite_runs_the_compiled_modules() -> None:
    """What ships is the compiled build: ./run setup builds it and the suite runs it."""
    if DISABLED:
        pytest.skip(f"{native.DISABLE_VARIABLE} is set: the pure-Python modules are tested")
    status = native.status()
    assert status.active, f"compiled harvest modules not in use: {status.reason}"
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    for name in status.modules:
        module = importlib.import_module(name)
        assert module.__file__ is not None and module.__file__.endswith(suffixes), name
    assert extract.__file__.endswith(suffixes)


@needs_build
def test_a_matching_copy_loads_compiled(copy: Path) -> None:
    found = probe(copy)
    assert found["active"] is True, found["reason"]
    assert str(found["extract"]).startswith(str(copy / "catalog/harvest/_native"))
    assert str(found["fitsio"]).endswith(".so")


@needs_build
@pytest.mark.parametrize(
    "edited",
    ["catalog/harvest/extract.py", "catalog/harvest/findings.py"],
    ids=["compiled module", "module a compiled one imports"],
)
def test_an_edited_source_runs_as_python(copy: Path, edited: str) -> None:
    (copy / edited).write_text((copy / edited).read_text() + "\nEDITED = True\n")
    found = probe(copy)
    assert found["active"] is False
    assert f"{edited} changed since the build" in str(found["reason"])
    assert str(found["extract"]) == str(copy / "catalog/harvest/extract.py")
    assert str(found["fitsio"]) == str(copy / "catalog/harvest/fits/reader.py")
    assert found["edited"] is (edited.endswith("extract.py"))


@needs_build
def test_the_switch_turns_compiled_modules_off(copy: Path) -> None:
    found = probe(copy, **{native.DISABLE_VARIABLE: "1"})
    assert found["active"] is False
    assert found["reason"] == f"{native.DISABLE_VARIABLE} is set"
    assert str(found["extract"]).endswith("extract.py")


@needs_build
def test_verify_refuses_broken_builds(copy: Path) -> None:
    directory, root = copy / "catalog/harvest/_native", copy
    assert native.verify(directory, root)[0]
    manifest = json.loads((directory / native.MANIFEST_NAME).read_text())

    manifest["python"] = "cpython-39.cpython-39-x86_64-linux-gnu.so"
    (directory / native.MANIFEST_NAME).write_text(json.dumps(manifest))
    files, reason = native.verify(directory, root)
    assert not files and "this interpreter is" in reason

    manifest["python"] = native.python_tag()
    (directory / native.MANIFEST_NAME).write_text(json.dumps(manifest))
    (directory / manifest["modules"]["catalog.harvest.fits.skywcs"]).unlink()
    files, reason = native.verify(directory, root)
    assert not files and "compiled files missing" in reason

    (directory / native.MANIFEST_NAME).unlink()
    files, reason = native.verify(directory, root)
    assert not files and "./run setup" in reason
    assert probe(copy)["active"] is False


def test_the_manifest_covers_what_the_compiled_modules_import() -> None:
    read = sources_read()
    assert set(native.COMPILED) <= set(read)
    for dependency in (
        "catalog/harvest/findings.py",
        "catalog/harvest/records.py",
        "catalog/harvest/bands.py",
        "catalog/harvest/rules/__init__.py",
        "catalog/__init__.py",
    ):
        assert dependency in read
    for caller in ("catalog/harvest/loadpool.py", "catalog/harvest/run.py"):
        assert caller not in read  # they call the compiled modules and stay Python


@needs_build
def test_compiled_and_python_results_are_identical(tmp_path: Path) -> None:
    if DISABLED:
        pytest.skip(f"{native.DISABLE_VARIABLE} is set: nothing compiled to compare")
    corpus = generate_corpus(tmp_path / "corpus", files=120, seed=5, flaws=True, damage=True)
    tasks = []
    for file in corpus.files:
        stat = Path(file.path).stat()
        tasks.append(FileTask(str(file.path), stat.st_size, stat.st_mtime_ns))
    (tmp_path / "tasks.pickle").write_bytes(pickle.dumps(tasks))
    script = (
        "import pickle, sys\n"
        "from catalog.harvest import native\n"
        "from catalog.harvest.perfile import process_file\n"
        "assert not native.status().active\n"
        "tasks = pickle.load(open(sys.argv[1], 'rb'))\n"
        "sys.stdout.buffer.write(pickle.dumps([process_file(t) for t in tasks]))\n"
    )
    environment = {**os.environ, native.DISABLE_VARIABLE: "1"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "tasks.pickle")],
        env=environment,
        capture_output=True,
        check=True,
    )
    python = pickle.loads(done.stdout)
    compiled = [process_file(task) for task in tasks]
    assert native.status().active
    assert len(python) == len(compiled) == len(tasks)
    for left, right in zip(python, compiled, strict=True):
        assert left == right, left.path


def test_a_harvest_ships_no_info_findings(tmp_path: Path) -> None:
    """The catalog stores errors and warnings; the harvest's workers leave info out."""
    from catalog.harvest.findings import Severity
    from catalog.harvest.records import ProductRecord

    corpus = generate_corpus(tmp_path / "corpus", files=40, seed=3, flaws=True, damage=False)
    with_info = 0
    for file in corpus.files:
        stat = Path(file.path).stat()
        task = FileTask(str(file.path), stat.st_size, stat.st_mtime_ns)
        full, lean = process_file(task), process_file(task, keep_info=False)
        assert isinstance(full, ProductRecord) and isinstance(lean, ProductRecord)
        kept = [f for f in full.findings if f.severity != Severity.INFO]
        with_info += len(kept) < len(full.findings)
        assert lean.findings == kept
        assert lean.verdict == full.verdict
        lean.findings = full.findings
        assert lean == full
    assert with_info  # the corpus has info findings to leave out


def test_fewer_collections_restores_the_collector() -> None:
    import gc

    from catalog.harvest.perfile import GC_THRESHOLD
    from catalog.harvest.run import fewer_collections

    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] == GC_THRESHOLD
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
