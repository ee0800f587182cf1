"""The on-disk cache: one drawing for many simultaneous requests (threads, and processes as
the server's workers are), a new preview for a changed file, a size bound, damaged entries
drawn again rather than served, failures remembered for a while."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalog.corpus import Corpus
from catalog.delivery.previews.cache import PreviewCache, is_png
from catalog.delivery.previews.errors import PreviewBusy, PreviewError
from catalog.delivery.previews.render import THUMBNAIL_SIZE, render
from tests.support.delivery import picture

IDENTITY = ("tess-ffilc", "star_lc.fits", "thumbnail", str(THUMBNAIL_SIZE))


def a_file(corpus: Corpus, kind: str = "lightcurve") -> Path:
    return next(f.path for f in corpus.intact if f.kind == kind)


def drawing(source: Path, marker: Path, hold: float = 0.0) -> Callable[[], bytes]:
    """A real drawing of ``source`` that appends a line to ``marker`` each time it runs (how
    the tests count drawings across threads and processes) and holds on ``hold`` seconds
    (so that the other requests arrive while it draws)."""

    def make() -> bytes:
        with marker.open("a") as file:
            file.write(f"{os.getpid()} {threading.get_ident()}\n")
        time.sleep(hold)
        return render(source, None, size=THUMBNAIL_SIZE)

    return make


def drawings(marker: Path) -> int:
    return len(marker.read_text().splitlines()) if marker.exists() else 0


def test_simultaneous_requests_from_threads_draw_once(corpus: Corpus, tmp_path: Path) -> None:
    cache = PreviewCache(tmp_path / "cache", max_bytes=1 << 30)
    source, marker = a_file(corpus), tmp_path / "drawn"
    results: list[Path] = []
    barrier = threading.Barrier(8)

    def ask() -> None:
        barrier.wait()
        results.append(cache.get(IDENTITY, source, drawing(source, marker, hold=0.5)))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert drawings(marker) == 1
    assert len(results) == 8 and len(set(results)) == 1
    assert cache.stats.made == 1 and cache.stats.hits == 7
    assert picture(results[0]).size[0] == THUMBNAIL_SIZE


def _ask_in_a_process(directory: str, source: str, marker: str, barrier: Any, out: Any) -> None:
    cache = PreviewCache(Path(directory), max_bytes=1 << 30)
    barrier.wait()
    out.put(str(cache.get(IDENTITY, Path(source), drawing(Path(source), Path(marker), 1.0))))


def test_simultaneous_requests_from_two_processes_draw_once(corpus: Corpus, tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier, out = context.Barrier(2), context.Queue()
    marker = tmp_path / "drawn"
    args = (str(tmp_path / "cache"), str(a_file(corpus)), str(marker), barrier, out)
    processes = [context.Process(target=_ask_in_a_process, args=args) for _ in range(2)]
    for process in processes:
        process.start()
    paths = {out.get(timeout=120), out.get(timeout=120)}
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert drawings(marker) == 1
    (path,) = paths
    assert is_png(Path(path))


def test_a_changed_file_gets_a_new_preview(corpus: Corpus, tmp_path: Path) -> None:
    cache = PreviewCache(tmp_path / "cache", max_bytes=1 << 30)
    source = tmp_path / "copy_lc.fits"
    source.write_bytes(a_file(corpus).read_bytes())
    marker = tmp_path / "drawn"
    first = cache.get(IDENTITY, source, drawing(source, marker))
    assert cache.get(IDENTITY, source, drawing(source, marker)) == first
    assert drawings(marker) == 1
    state = source.stat()
    os.utime(source, ns=(state.st_atime_ns, state.st_mtime_ns + 1))  # touched
    touched = cache.get(IDENTITY, source, drawing(source, marker))
    assert touched != first and drawings(marker) == 2
    source.write_bytes(a_file(corpus, "spectrum").read_bytes())  # rewritten
    rewritten = cache.get(IDENTITY, source, drawing(source, marker))
    assert rewritten not in {first, touched} and drawings(marker) == 3
    assert rewritten.read_bytes() != first.read_bytes()  # a spectrum now, drawn as one
    source.unlink()
    with pytest.raises(PreviewError, match="missing from the server's disk"):
        cache.get(IDENTITY, source, drawing(source, marker))


def test_the_size_bound_evicts_the_least_recently_used(corpus: Corpus, tmp_path: Path) -> None:
    source, marker = a_file(corpus), tmp_path / "drawn"
    one = len(render(source, None, size=THUMBNAIL_SIZE))
    cache = PreviewCache(tmp_path / "cache", max_bytes=3 * one + one // 2, grace=0)
    paths = []
    for n in range(6):
        paths.append(cache.get((*IDENTITY, str(n)), source, drawing(source, marker)))
        time.sleep(0.02)  # distinct modification times: the order of use
    total, entries = cache.size()
    assert total <= cache.max_bytes and len(entries) <= 3
    assert cache.stats.evicted >= 3
    assert paths[-1].exists() and not paths[0].exists()  # the oldest went first
    again = cache.get((*IDENTITY, "0"), source, drawing(source, marker))  # drawn again
    assert again == paths[0] and drawings(marker) == 7


def test_a_damaged_entry_is_drawn_again_not_served(corpus: Corpus, tmp_path: Path) -> None:
    cache = PreviewCache(tmp_path / "cache", max_bytes=1 << 30)
    source, marker = a_file(corpus), tmp_path / "drawn"
    path = cache.get(IDENTITY, source, drawing(source, marker))
    whole = path.read_bytes()
    for damaged in (whole[: len(whole) // 2], b"", b"<html>not a png</html>" + whole[20:]):
        path.write_bytes(damaged)
        assert not is_png(path)
        assert cache.get(IDENTITY, source, drawing(source, marker)) == path
        assert path.read_bytes() == whole
    assert drawings(marker) == 4


def test_a_failure_is_remembered_for_a_while(corpus: Corpus, tmp_path: Path) -> None:
    damaged = next(f.path for f in corpus.damaged if f.damage == "truncated-data")
    marker = tmp_path / "drawn"
    cache = PreviewCache(tmp_path / "cache", max_bytes=1 << 30, failure_seconds=300)
    for _ in range(3):
        with pytest.raises(PreviewError, match="truncated"):
            cache.get(IDENTITY, damaged, drawing(damaged, marker))
    assert drawings(marker) == 1 and cache.stats.failures == 2
    with pytest.raises(PreviewError, match="truncated"):
        cache.get(IDENTITY, damaged, drawing(damaged, marker), force=True)
    assert drawings(marker) == 2
    brief = PreviewCache(tmp_path / "cache", max_bytes=1 << 30, failure_seconds=0)
    with pytest.raises(PreviewError, match="truncated"):
        brief.get(IDENTITY, damaged, drawing(damaged, marker))
    assert drawings(marker) == 3


def test_busy_is_not_remembered_and_a_held_lock_is_waited_for_boundedly(
    corpus: Corpus, tmp_path: Path
) -> None:
    source, marker = a_file(corpus), tmp_path / "drawn"
    cache = PreviewCache(tmp_path / "cache", max_bytes=1 << 30, wait=0.2)

    def busy() -> bytes:
        raise PreviewBusy("no slot")

    with pytest.raises(PreviewBusy):
        cache.get(IDENTITY, source, busy)
    assert is_png(cache.get(IDENTITY, source, drawing(source, marker)))  # not remembered
    other = (*IDENTITY, "other")
    started = threading.Event()

    def slow() -> bytes:
        started.set()
        time.sleep(1.5)
        return render(source, None, size=THUMBNAIL_SIZE)

    holder = threading.Thread(target=cache.get, args=(other, source, slow))
    holder.start()
    started.wait(timeout=30)
    with pytest.raises(PreviewBusy, match="another request"):
        cache.get(other, source, drawing(source, marker))
    holder.join(timeout=30)
    assert is_png(cache.get(other, source, drawing(source, marker)))
    assert drawings(marker) == 1
