"""Download scripts: a bash script of ``curl`` commands for a list of files, as MAST's.

One ``curl --globoff --location --fail --create-dirs -C - -o <hlsp_id>/<file name> '<url>'``
per file: run again, it skips what is complete (the catalogued size is there) and resumes
what is partly there (``-C -``: a Range request). Every name and URL is quoted with
:func:`shlex.quote` (names never trusted: quotes, ``$(...)``, backticks, newlines stay
text); what the request named that the catalog does not have is listed in comments (escaped
onto one line each), never dropped silently. The script counts the failed downloads, says
which, and exits non-zero if any.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

COMMENT_CHARS = 300  # of one not-found ID in a comment


@dataclass(frozen=True)
class ScriptFile:
    """One file to fetch: its catalog key (``hlsp_id/file_name``), URL and size."""

    hlsp_id: str
    file_name: str
    url: str
    size: int


def script_path(hlsp_id: str, file_name: str) -> str:
    """Where the script writes a file: ``<hlsp_id>/<file_name>``; ValueError for a name that
    could leave that folder (``/``, ``.``, ``..``) or that a shell cannot carry (NUL)."""
    for part in (hlsp_id, file_name):
        if not part or part in {".", ".."} or "/" in part or "\0" in part:
            raise ValueError(f"not a plain name: {part!r}")
    return f"{hlsp_id}/{file_name}"


def comment(text: str) -> str:
    """``text`` as the body of one shell comment line: escaped to printable ASCII (a newline
    becomes ``\\n``, so nothing after it can run), cut to :data:`COMMENT_CHARS`."""
    escaped = text.encode("unicode_escape").decode("ascii")
    if len(escaped) > COMMENT_CHARS:
        escaped = escaped[: COMMENT_CHARS - 3] + "..."
    return escaped


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{n:,} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n:,} bytes"  # pragma: no cover (the loop returns)


def download_script(
    files: Sequence[ScriptFile],
    not_found: Sequence[tuple[str, str]],
    *,
    generated: datetime,
    source: str,
) -> str:
    """The script for ``files`` (in order); ``not_found``: (ID as given, why) listed in
    comments; ``source``: the server's URL, named in the header."""
    total = sum(f.size for f in files)
    lines = [
        "#!/bin/bash",
        f"# HLSP Catalog download script: {comment(source)}, {generated:%Y-%m-%d %H:%M:%S} UTC",
        f"# {len(files)} files, {human_bytes(total)} in all.",
        "# Run it with bash in the folder where the files should go: each goes to",
        "# <hlsp_id>/<file name>. Run it again to resume what is partial or failed.",
    ]
    if not_found:
        lines.append(f"# Not found in the catalog ({len(not_found)}), not downloaded:")
        lines += [f"#   {comment(given)}: {comment(why)}" for given, why in not_found]
    lines += [
        "",
        "set -u",
        "failed=()",
        'fail() { failed+=("$1"); }',
        "# a file already complete is skipped (curl -C - would ask past its end)",
        'have() { [ -f "$1" ] && [ "$(wc -c < "$1" | tr -d " ")" = "$2" ]; }',
        "",
    ]
    for file in files:
        path = shlex.quote(script_path(file.hlsp_id, file.file_name))
        lines.append(
            f"have {path} {file.size} || curl --globoff --location --fail --create-dirs -C - "
            f"-o {path} {shlex.quote(file.url)} || fail {path}"
        )
    lines += [
        "",
        'if [ "${#failed[@]}" -gt 0 ]; then',
        f'  echo "${{#failed[@]}} of {len(files)} files failed:" >&2',
        "  printf '  %s\\n' \"${failed[@]}\" >&2",
        '  echo "Run this script again to retry (complete files are skipped)." >&2',
        "  exit 1",
        "fi",
        f'echo "{len(files)} files downloaded."',
        "",
    ]
    return "\n".join(lines)
