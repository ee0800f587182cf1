"""The processes of a running server seen from outside, through /proc (Linux): which hold its
listening socket, which files they have open, their memory and CPU time."""

from __future__ import annotations

import os
from pathlib import Path


def listening_pids(port: int) -> set[int]:
    """The processes holding the listening TCP socket of ``port`` (the ``hlsp serve``
    workers share it)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with Path(table).open() as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                    inodes.add(f"socket:[{fields[9]}]")
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = {str(fd.readlink()) for fd in (entry / "fd").iterdir()}
        except OSError:
            continue
        if links & inodes:
            pids.add(int(entry.name))
    return pids


def open_files_under(pids: set[int], root: Path) -> int:
    """Descriptors the processes hold on files under ``root``."""
    count = 0
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if str(fd.readlink()).startswith(str(root) + os.sep):
                    count += 1
            except OSError:
                continue
    return count


def holding(pids: set[int], paths: set[str]) -> int:
    """Descriptors the processes hold on any of ``paths`` (exact paths)."""
    count = 0
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                count += str(fd.readlink()) in paths
            except OSError:
                continue
    return count


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident set) of a process, in kB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
