"""Finding the files of a contribution: FITS files to read, the others, and manifests.

The walk is deterministic (sorted), skips hidden files and directories, does not follow
directory symlinks, and stats each file once (the stat is what the no-change re-run
compares with the catalog). Files that are not FITS by name (README, previews, CSV) are
reported as ``other_files`` for the collection checks; they are not harvested.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from catalog.harvest.findings import Severity, rule
from catalog.harvest.load import Manifest
from catalog.harvest.records import FileFailure, FileTask
from catalog.harvest.worker import hlsp_id

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz")
MANIFEST_NAME = "hlsp-collection.toml"

BAD_MANIFEST = rule(
    "HLSP-R110", Severity.ERROR, "Unreadable collection manifest",
    f"Fix {MANIFEST_NAME}: TOML with string keys hlsp_id, title, lead, doi, description, "
    "reference, landing_url, license and a release_date (YYYY-MM-DD).",
)  # fmt: skip
UNREADABLE_DIRECTORY = rule(
    "HLSP-R111", Severity.ERROR, "Unreadable directory or path",
    "Check that the path exists and that the harvesting account may list it.",
)  # fmt: skip


def is_fits_name(name: str) -> bool:
    return name.lower().endswith(FITS_SUFFIXES)


@dataclass
class Walk:
    """What a walk found, filled as :meth:`tasks` is consumed."""

    roots: list[Path]
    collection: str | None = None
    other_files: dict[str, list[str]] = field(default_factory=dict)  # collection dir -> paths
    manifests: dict[str, Manifest] = field(default_factory=dict)  # hlsp id -> manifest
    failures: list[FileFailure] = field(default_factory=list)
    complete: bool = False  # every root was listed to the end
    _dir_manifest: dict[Path, Manifest | None] = field(default_factory=dict)

    def tasks(self) -> Iterator[FileTask]:
        """The FITS files under every root, in a stable order."""
        complete = True
        for root in self.roots:
            absolute = Path(root).absolute()
            try:
                info = absolute.stat()
            except OSError as error:
                complete = False
                self._fail(absolute, UNREADABLE_DIRECTORY, f"cannot read {root}: {error.strerror}")
                continue
            if stat.S_ISDIR(info.st_mode):
                complete &= yield from self._directory(absolute)
            elif is_fits_name(absolute.name):
                yield self._task(absolute, absolute.parent, info)
            else:
                self.other_files.setdefault(absolute.parent.name, []).append(str(absolute))
        self.complete = complete

    def _directory(self, root: Path) -> Generator[FileTask, None, bool]:
        ok = True

        def on_error(error: OSError) -> None:
            nonlocal ok
            ok = False
            self._fail(Path(error.filename or root), UNREADABLE_DIRECTORY,
                       f"cannot list {error.filename}: {error.strerror}")  # fmt: skip

        for current, dirs, files in os.walk(root, onerror=on_error):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            here = Path(current)
            manifest = self._manifest(here) if MANIFEST_NAME in files else None
            for name in sorted(files):
                if name.startswith(".") or name == MANIFEST_NAME:
                    continue
                path = here / name
                if not is_fits_name(name):
                    self.other_files.setdefault(self._group(root, here), []).append(str(path))
                    continue
                try:
                    info = path.stat()
                except OSError as error:
                    self._fail(path, UNREADABLE_DIRECTORY, f"cannot stat: {error.strerror}")
                    continue
                if not stat.S_ISREG(info.st_mode):
                    continue
                yield self._task(path, root, info, manifest)
        return ok

    def _group(self, root: Path, directory: Path) -> str:
        """The collection directory a file belongs to: first level below the root."""
        relative = directory.relative_to(root).parts
        return relative[0] if relative else root.name

    def _manifest(self, directory: Path) -> Manifest | None:
        if directory not in self._dir_manifest:
            try:
                manifest: Manifest | None = Manifest.read(directory / "hlsp-collection.toml")
            except ValueError as error:
                self._fail(directory / MANIFEST_NAME, BAD_MANIFEST, str(error))
                manifest = None
            self._dir_manifest[directory] = manifest
        return self._dir_manifest[directory]

    def _nearest_manifest(self, directory: Path, root: Path) -> Manifest | None:
        for candidate in (directory, *directory.parents):
            if candidate in self._dir_manifest:
                return self._dir_manifest[candidate]
            if candidate == root or root not in candidate.parents:
                break
        return None

    def _task(
        self, path: Path, root: Path, info: os.stat_result, manifest: Manifest | None = None
    ) -> FileTask:
        manifest = manifest or self._nearest_manifest(path.parent, root)
        directory_id = hlsp_id(self._group(root, path.parent))
        if manifest is not None and manifest.hlsp_id:
            directory_id = hlsp_id(manifest.hlsp_id) or directory_id
            self.manifests.setdefault(hlsp_id(manifest.hlsp_id) or manifest.hlsp_id, manifest)
        elif manifest is not None and directory_id:
            self.manifests.setdefault(directory_id, manifest)
        return FileTask(str(path), info.st_size, info.st_mtime_ns, self.collection, directory_id)

    def _fail(self, path: Path, kind: object, reason: str) -> None:
        code = getattr(kind, "code", "HLSP-R111")
        fix = getattr(kind, "fix", "")
        self.failures.append(FileFailure(str(path), code, f"{reason}. {fix}".strip()))
