"""Drawing in budgeted child processes: a drawing past its time is killed, one past its memory
fails with a clear error, a child killed from outside does not hang its caller, the renderer
works on afterwards, callers beyond the slots and the queue are told to come back, and
closing kills every child."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from catalog.corpus import Corpus
from catalog.delivery.previews.budget import Renderer
from catalog.delivery.previews.errors import PreviewBudgetExceeded, PreviewBusy, PreviewError
from catalog.delivery.previews.kinds import Kind
from catalog.delivery.previews.render import PREVIEW_SIZE, THUMBNAIL_SIZE
from tests.support.delivery import picture

MB = 1 << 20


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def a_lightcurve(corpus: Corpus) -> Path:
    return next(f.path for f in corpus.intact if f.kind == "lightcurve")


def an_image(corpus: Corpus) -> Path:
    return next(f.path for f in corpus.intact if f.kind == "image")


def under_way(renderer: Renderer, drawings: int) -> None:
    """Wait until ``drawings`` drawings hold their slots."""
    deadline = time.monotonic() + 30
    while renderer.drawing < drawings:
        assert time.monotonic() < deadline, "the drawing did not start"
        time.sleep(0.01)


def test_a_drawing_past_its_time_is_killed_and_the_renderer_works_on(
    corpus: Corpus, large_image: Path
) -> None:
    # 1 s: a 16 x 16 image takes milliseconds, the 8000 x 8000 one seconds.
    with Renderer(workers=1, timeout=1.0, memory=2048 * MB) as renderer:
        picture(renderer.render_blocking(an_image(corpus), Kind.IMAGE, THUMBNAIL_SIZE))
        first = renderer.pids()
        with pytest.raises(PreviewBudgetExceeded, match=r"longer than the 1 s .*TIMEOUT") as info:
            renderer.render_blocking(large_image, Kind.IMAGE, PREVIEW_SIZE)
        assert info.value.code == "HLSP-051"
        assert renderer.pids() == [] and not any(alive(p) for p in first)
        # A new child draws the next one.
        picture(renderer.render_blocking(an_image(corpus), Kind.IMAGE, THUMBNAIL_SIZE))


def test_a_drawing_past_its_memory_fails_clearly(corpus: Corpus, large_image: Path) -> None:
    with Renderer(workers=1, timeout=60, memory=64 * MB) as renderer:
        with pytest.raises(PreviewBudgetExceeded, match=r"more than the 64 MB .*MEMORY"):
            renderer.render_blocking(large_image, Kind.IMAGE, PREVIEW_SIZE)
        picture(renderer.render_blocking(a_lightcurve(corpus), Kind.LIGHTCURVE, PREVIEW_SIZE))


def test_a_child_killed_from_outside_fails_its_drawing_without_a_hang(
    corpus: Corpus, large_image: Path
) -> None:
    with Renderer(workers=1, timeout=120, memory=2048 * MB) as renderer:
        picture(renderer.render_blocking(a_lightcurve(corpus), Kind.LIGHTCURVE, THUMBNAIL_SIZE))
        (pid,) = renderer.pids()
        outcome: list[BaseException | bytes] = []

        def draw() -> None:
            try:
                outcome.append(renderer.render_blocking(large_image, Kind.IMAGE, PREVIEW_SIZE))
            except BaseException as error:  # recorded for the test
                outcome.append(error)

        thread = threading.Thread(target=draw)
        thread.start()
        under_way(renderer, 1)  # the drawing takes seconds
        os.kill(pid, signal.SIGKILL)  # as the kernel's OOM killer would
        thread.join(timeout=60)
        assert not thread.is_alive()
        (error,) = outcome
        assert isinstance(error, PreviewError) and "ended abruptly" in error.message
        picture(renderer.render_blocking(a_lightcurve(corpus), Kind.LIGHTCURVE, THUMBNAIL_SIZE))


def test_damaged_files_fail_in_the_child_with_their_reason(corpus: Corpus) -> None:
    damaged = {f.damage: f.path for f in corpus.damaged}
    with Renderer(workers=1) as renderer:
        with pytest.raises(PreviewError, match="truncated") as info:
            renderer.render_blocking(damaged["truncated-data"], Kind.SPECTRUM, PREVIEW_SIZE)
        assert type(info.value) is PreviewError
        with pytest.raises(PreviewError, match="not a PNG, JPEG or GIF"):
            renderer.thumbnail_blocking(damaged["not-fits"], THUMBNAIL_SIZE)
        assert len(renderer.pids()) == 1  # the same child served both


def test_callers_beyond_the_slots_and_the_queue_are_told_to_come_back(
    corpus: Corpus, large_image: Path
) -> None:
    with Renderer(workers=1, timeout=60, memory=2048 * MB, queue=0) as renderer:
        renderer.render_blocking(a_lightcurve(corpus), Kind.LIGHTCURVE, THUMBNAIL_SIZE)
        busy = threading.Thread(
            target=renderer.render_blocking, args=(large_image, Kind.IMAGE, PREVIEW_SIZE)
        )
        busy.start()
        under_way(renderer, 1)
        with pytest.raises(PreviewBusy, match="try again") as info:
            renderer.render_blocking(a_lightcurve(corpus), Kind.LIGHTCURVE, THUMBNAIL_SIZE)
        assert info.value.code == "HLSP-052"
        busy.join(timeout=60)
    with Renderer(workers=1, timeout=60, memory=2048 * MB, queue=1, queue_wait=0.2) as renderer:
        busy = threading.Thread(
            target=renderer.render_blocking, args=(large_image, Kind.IMAGE, PREVIEW_SIZE)
        )
        busy.start()
        under_way(renderer, 1)
        with pytest.raises(PreviewBusy, match=r"within 0.2 s"):
            renderer.render_blocking(a_lightcurve(corpus), Kind.LIGHTCURVE, THUMBNAIL_SIZE)
        busy.join(timeout=60)


def test_started_ahead_the_async_calls_and_closing_kill_every_child(corpus: Corpus) -> None:
    renderer = Renderer(workers=2)

    async def both() -> list[bytes]:
        return list(
            await asyncio.gather(
                renderer.render(a_lightcurve(corpus), Kind.LIGHTCURVE, PREVIEW_SIZE),
                renderer.render(a_lightcurve(corpus), None, THUMBNAIL_SIZE),
            )
        )

    renderer.prestart()
    started = renderer.pids()
    assert len(started) == 2
    sizes = [picture(png).size for png in asyncio.run(both())]
    assert sizes == [(PREVIEW_SIZE, PREVIEW_SIZE * 3 // 4), (THUMBNAIL_SIZE, 192)]
    pids = renderer.pids()
    assert pids == started  # the started processes drew them
    renderer.close()
    assert renderer.pids() == [] and not any(alive(p) for p in pids)
    with pytest.raises(PreviewBusy, match="shutting down"):
        renderer.render_blocking(a_lightcurve(corpus), Kind.LIGHTCURVE, PREVIEW_SIZE)


@pytest.mark.parametrize(
    ("workers", "timeout", "memory"), [(0, 1.0, 1 << 30), (1, 0.0, 1 << 30), (1, 1.0, 1024)]
)
def test_a_renderer_needs_sensible_bounds(workers: int, timeout: float, memory: int) -> None:
    with pytest.raises(ValueError, match="workers >= 1"):
        Renderer(workers=workers, timeout=timeout, memory=memory)
