"""Every Markdown document the code cites is in the repository.

The code cites the IVOA and MAST documents by name and section, and the project's own pages
by path (``docs/hlsp-rules.md §4``); a cited path that is not in the checkout (a note kept
elsewhere, a renamed page) is a reference nobody can follow.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITING = ("catalog", "tap", "scripts", "benchmarks")  # tests name README files as data
SOURCES = {".py", ".sh", ".toml", ".sql", ".md", ".txt"}
# A Markdown path as prose cites it: not a piece of a longer name or of an f-string.
CITED = re.compile(r"(?<![\w./{}<>-])((?:[\w-]+/)*\w[\w.-]*\.md)\b")


def _cited() -> dict[str, set[str]]:
    """Cited path -> the files citing it."""
    found: dict[str, set[str]] = {}
    for folder in CITING:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in SOURCES or not path.is_file():
                continue
            for cited in CITED.findall(path.read_text(encoding="utf-8")):
                found.setdefault(cited, set()).add(str(path.relative_to(ROOT)))
    return found


def _exists(cited: str, citing: str) -> bool:
    """A path from the checkout's root, from the citing file's folder, or a page of docs/."""
    return any((base / cited).is_file() for base in (ROOT, (ROOT / citing).parent, ROOT / "docs"))


def test_every_cited_markdown_document_is_in_the_repository() -> None:
    cited = _cited()
    assert "docs/findings.md" in cited  # the scan sees what there is
    missing = sorted(
        f"{path} (cited in {citing})"
        for path, files in cited.items()
        for citing in sorted(files)
        if not _exists(path, citing)
    )
    assert not missing, f"cited documents not in the repository: {missing}"


def test_the_scan_finds_a_bare_name_and_skips_file_name_patterns() -> None:
    text = 'see vo-tap.md §2.3 and docs/bands.md; f"hlsp_{x}_readme.md" or .md; RESULTS.md.'
    assert CITED.findall(text) == ["vo-tap.md", "docs/bands.md", "RESULTS.md"]
