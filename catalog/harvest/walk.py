"""Finding the files of a contribution: FITS files to read, the others, and manifests.

The walk is deterministic (sorted), skips hidden files and directories, and stats each file
once (the stat is what the no-change re-run compares with the catalog). Files that are not
FITS by name (README, previews, CSV) are reported as ``other_files`` for the collection
checks; they are not harvested (nor opened).

Symbolic links (the harvest reads only what lies inside the harvested roots):

- a link whose target leaves every harvested root (``/etc/passwd``, another contribution)
  is not followed and its target never opened: a FITS-named file link or a directory link
  is a recorded failure naming the link (HLSP-R113);
- a FITS-named file link whose target stays inside a root is followed when the target is
  not harvested on its own (a hidden store, as git-annex and DataLad keep: the link is the
  file's only visible name; the product takes the link's name and path and the target's
  bytes); a link to a file the walk reaches anyway (``latest.fits -> v2.fits``) is skipped,
  so one file is one product;
- directory links are never followed: inside a root, the directory is walked where it is;
- a link given as a root is followed: naming it is the choice.

What a task names is read without following links (``O_NOFOLLOW``): a file swapped for a
link between the walk and the read is a failure, not a way out of the tree.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from catalog.harvest.findings import Rule, Severity, rule
from catalog.harvest.manifest import MANIFEST_NAME, Manifest
from catalog.harvest.records import FileFailure, FileTask
from catalog.harvest.rules.collection import is_readme
from catalog.model.names import hlsp_id

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz")
GRAPHIC_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")
# Media types of the files collections ship besides FITS (the standard library's table
# lacks some and varies with the system's mime.types).
MEDIA_TYPES = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".rst": "text/x-rst",
    ".csv": "text/csv",
    ".ecsv": "text/plain",
    ".dat": "text/plain",
    ".html": "text/html",
    ".xml": "application/xml",
    ".json": "application/json",
    ".yaml": "application/yaml",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".asdf": "application/asdf",
    ".h5": "application/x-hdf5",
    ".tar": "application/x-tar",
    ".zip": "application/zip",
    ".gz": "application/gzip",
}

BAD_MANIFEST = rule(
    "HLSP-R110",
    Severity.ERROR,
    "Unreadable collection manifest",
    f"Fix {MANIFEST_NAME}: TOML with string keys hlsp_id, title, lead, doi, description, "
    "reference, landing_url, license and a release_date (YYYY-MM-DD).",
)
UNREADABLE_DIRECTORY = rule(
    "HLSP-R111",
    Severity.ERROR,
    "Unreadable directory or path",
    "Check that the path exists and that the harvesting account may list it.",
)


BAD_NAME = rule(
    "HLSP-R112",
    Severity.ERROR,
    "File name the catalog cannot hold",
    "Rename the file: names must be UTF-8, hold no control characters and not start with '.'.",
)
OUTSIDE_LINK = rule(
    "HLSP-R113",
    Severity.ERROR,
    "Link out of the harvested tree",
    "Links are followed only within the harvested directories: copy the file (or the "
    "directory) into the contribution, or harvest the place the link points to.",
)


def printable(path: str) -> str:
    """A path as text that any output can hold (undecodable bytes shown as \\xNN)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


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
    seen: set[str] = field(default_factory=set)  # paths of the FITS files found
    real_roots: list[str] = field(default_factory=list)  # the directory roots, links resolved

    def tasks(self) -> Iterator[FileTask]:
        """The FITS files under every root, in a stable order, each once (roots may overlap);
        their paths accumulate in :attr:`seen`."""
        for task in self._tasks():
            if task.path not in self.seen:
                self.seen.add(task.path)
                yield task

    def _tasks(self) -> Iterator[FileTask]:
        complete = True
        roots: list[tuple[Path, os.stat_result]] = []
        for root in self.roots:
            absolute = Path(os.path.abspath(root))  # noqa: PTH100 - normalises '..' too
            try:
                roots.append((absolute, absolute.stat()))
            except OSError as error:
                complete = False
                self._fail(absolute, UNREADABLE_DIRECTORY, f"cannot read {root}: {error.strerror}")
        self.real_roots = [
            os.path.realpath(absolute) for absolute, info in roots if stat.S_ISDIR(info.st_mode)
        ]
        for absolute, info in roots:
            if stat.S_ISDIR(info.st_mode):
                complete &= yield from self._directory(absolute)
            elif is_fits_name(absolute.name):
                manifest = (
                    self._manifest(absolute.parent)
                    if (absolute.parent / MANIFEST_NAME).is_file()
                    else None
                )
                source = os.path.realpath(absolute) if absolute.is_symlink() else None
                task = self._make_task(
                    str(absolute), info, hlsp_id(absolute.parent.name), manifest, source
                )
                if task is not None:
                    yield task
            else:
                self.other_files.setdefault(absolute.parent.name, []).append(str(absolute))
        self.complete = complete

    def _directory(self, root: Path) -> Generator[FileTask, None, bool]:
        """Top-down walk with scandir; each directory inherits its parent's manifest."""
        ok = True
        base = str(root)
        inherited: dict[str, Manifest | None] = {}
        stack = [base]
        while stack:
            current = stack.pop()
            entries = self._entries(current)
            if entries is None:
                ok = False
                continue
            manifest = inherited.pop(current, None)
            if any(e.name == MANIFEST_NAME for e in entries):
                manifest = self._manifest(Path(current)) or manifest
            relative = current[len(base) + 1 :] if current != base else ""
            group = relative.split(os.sep, 1)[0] if relative else root.name
            directory_id = hlsp_id(group)
            subdirs = []
            for entry in entries:
                name = entry.name
                if name.startswith(".") or name == MANIFEST_NAME:
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        subdirs.append(entry.path)
                        continue
                    if entry.is_symlink():
                        task = self._link(entry.path, group, directory_id, manifest)
                    elif is_fits_name(name):
                        info = entry.stat()
                        task = (
                            self._make_task(entry.path, info, directory_id, manifest)
                            if stat.S_ISREG(info.st_mode)
                            else None
                        )
                    else:
                        self._other(entry, group)
                        continue
                except OSError as error:
                    self._fail(
                        Path(entry.path), UNREADABLE_DIRECTORY, f"cannot stat: {error.strerror}"
                    )
                    continue
                if task is not None:
                    yield task
            for subdir in reversed(subdirs):  # popped in sorted order
                inherited[subdir] = manifest
                stack.append(subdir)
        return ok

    def _entries(self, directory: str) -> list[os.DirEntry[str]] | None:
        """The directory's entries sorted by name; None (and a failure) when unlistable."""
        try:
            with os.scandir(directory) as scan:
                return sorted(scan, key=lambda e: e.name)
        except OSError as error:
            self._fail(
                Path(directory), UNREADABLE_DIRECTORY, f"cannot list {directory}: {error.strerror}"
            )
            return None

    def _other(self, entry: os.DirEntry[str], group: str) -> None:
        """A file that is not FITS by name (README, preview, CSV): known by name, not read."""
        if entry.is_file(follow_symlinks=False):
            self.other_files.setdefault(group, []).append(entry.path)

    def _link(
        self, link: str, group: str, directory_id: str | None, manifest: Manifest | None
    ) -> FileTask | None:
        """A symbolic link met in a directory (see the module docstring): the task that
        reads its target, or None. The target is resolved and stat'ed, never opened; an
        OSError is the caller's to record, as for any file it cannot stat."""
        target = os.path.realpath(link)
        fits = is_fits_name(link)
        inside = self._inside(target)
        if fits and not inside:
            self._outside(link, "file")
            return None
        try:
            info = Path(target).stat()
        except OSError:
            if fits:
                raise  # a dangling link where a FITS file should be
            return None
        if stat.S_ISDIR(info.st_mode):
            if not inside:
                self._outside(link, "directory")
        elif not fits and stat.S_ISREG(info.st_mode):  # a README: known by name, never read
            self.other_files.setdefault(group, []).append(link)
        elif fits and stat.S_ISREG(info.st_mode) and not self._walked(target):
            return self._make_task(link, info, directory_id, manifest, target)
        return None  # (a file the walk reaches itself: one file, one product)

    def _inside(self, target: str) -> bool:
        return any(target == root or target.startswith(root + "/") for root in self.real_roots)

    def _walked(self, target: str) -> bool:
        """Whether the walk reaches this file (links resolved) under its own name."""
        if not is_fits_name(target):
            return False
        for root in self.real_roots:
            if target.startswith(root + "/"):
                parts = target[len(root) + 1 :].split("/")
                if not any(part.startswith(".") for part in parts):
                    return True
        return False

    def _outside(self, link: str, kind: str) -> None:
        try:
            points_to = str(Path(link).readlink())
        except OSError:
            points_to = "?"
        self._fail(
            Path(link),
            OUTSIDE_LINK,
            f"points outside the harvested tree (to {printable(points_to)}): a link "
            f"to a {kind}, not followed",
        )

    def _manifest(self, directory: Path) -> Manifest | None:
        try:
            return Manifest.read(directory / MANIFEST_NAME)
        except ValueError as error:
            self._fail(directory / MANIFEST_NAME, BAD_MANIFEST, str(error))
            return None

    def _make_task(
        self,
        path: str,
        info: os.stat_result,
        directory_id: str | None,
        manifest: Manifest | None,
        source: str | None = None,
    ) -> FileTask | None:
        name = path.rsplit("/", 1)[-1]
        try:
            path.isascii() or path.encode("utf-8")  # (an ASCII path is UTF-8: no copy made)
        except UnicodeEncodeError:
            self._fail(Path(path), BAD_NAME, "the file name is not valid UTF-8")
            return None
        if name.startswith("."):
            self._fail(
                Path(path), BAD_NAME, "hidden files (names starting with '.') are not products"
            )
            return None
        if has_control(name):
            self._fail(
                Path(path),
                BAD_NAME,
                "the file name holds control characters (tab, newline...): it cannot be "
                "served or shown safely",
            )
            return None
        if manifest is not None:
            if manifest.hlsp_id:
                directory_id = hlsp_id(manifest.hlsp_id) or directory_id
            if directory_id and directory_id not in self.manifests:
                self.manifests[directory_id] = manifest
        return FileTask(path, info.st_size, info.st_mtime_ns, self.collection, directory_id, source)

    def _fail(self, path: Path, kind: Rule, reason: str) -> None:
        self.failures.append(FileFailure(printable(str(path)), kind.code, kind(reason).message))


def companion_role(name: str) -> str:
    """What a collection's non-FITS file is: ``readme``, ``graphic`` (a preview) or
    ``auxiliary`` (text, CSV, anything else shipped beside the products)."""
    if is_readme(name):
        return "readme"
    if name.lower().endswith(GRAPHIC_SUFFIXES):
        return "graphic"
    return "auxiliary"


def media_type(name: str) -> str:
    """The media type of a file from its name (``application/octet-stream`` when unknown)."""
    lower = name.lower()
    for suffix, media in MEDIA_TYPES.items():
        if lower.endswith(suffix):
            return media
    return "application/octet-stream"


def has_control(name: str) -> bool:
    """Whether a file name holds a control character (C0, DEL or C1)."""
    return any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name)
