"""Gates (tap.admission) and result spools (tap.spool), in one process, without a server."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path

import pytest

from tap.admission import ByteBudget, Gate, GateLimits, Overloaded
from tap.spool import ClientGone, ResultSpool, SpoolOverrun


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_a_gate_admits_its_limit_queues_in_order_and_refuses_beyond() -> None:
    async def scenario() -> list[str]:
        gate = Gate("g", GateLimits(limit=2, queue=2, max_wait=5))
        first, second = await gate.acquire(), await gate.acquire()
        order: list[str] = []

        async def waiter(name: str) -> None:
            slot = await gate.acquire()
            order.append(name)
            slot.release()

        gate.check()  # slots are full, the queue is not: a request would wait
        third = asyncio.create_task(waiter("third"))
        fourth = asyncio.create_task(waiter("fourth"))
        await asyncio.sleep(0)
        assert gate.waiting == 2
        with pytest.raises(Overloaded):
            gate.check()
        with pytest.raises(Overloaded) as refused:
            await gate.acquire()
        assert refused.value.retry_after >= 1
        assert "waiting" in refused.value.message
        first.release()
        first.release()  # a second release changes nothing
        await third
        second.release()
        await fourth
        assert gate.active == 0
        assert gate.status()["refused"] == 2
        return order

    assert run(scenario()) == ["third", "fourth"]


def test_a_wait_that_runs_out_is_refused_and_leaves_the_queue() -> None:
    async def scenario() -> None:
        gate = Gate("g", GateLimits(limit=1, queue=5, max_wait=0.05))
        slot = await gate.acquire()
        with pytest.raises(Overloaded, match="no capacity within"):
            await gate.acquire()
        assert gate.waiting == 0
        slot.release()
        assert gate.active == 0
        (await gate.acquire()).release()

    run(scenario())


def test_a_cancelled_waiter_passes_its_slot_on() -> None:
    """A request that goes away while queued (or just as it is handed a slot) does not keep
    the slot: the next waiter gets it."""

    async def scenario() -> None:
        gate = Gate("g", GateLimits(limit=1, queue=5, max_wait=5))
        slot = await gate.acquire()
        early = asyncio.create_task(gate.acquire())  # leaves the queue before its turn
        await asyncio.sleep(0)
        early.cancel()
        with pytest.raises(asyncio.CancelledError):
            await early
        assert gate.waiting == 0
        gone = asyncio.create_task(gate.acquire())
        await asyncio.sleep(0)
        nxt = asyncio.create_task(gate.acquire())
        await asyncio.sleep(0)
        slot.release()  # handed to `gone`, which is cancelled before it runs
        gone.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            (await gone).release()  # Python 3.11's wait_for may return the slot instead
        (await asyncio.wait_for(nxt, 1)).release()
        assert gate.active == 0
        assert gate.waiting == 0

    run(scenario())


def test_a_slot_may_be_released_from_another_thread() -> None:
    async def scenario() -> None:
        gate = Gate("g", GateLimits(limit=1, queue=1, max_wait=5))
        slot = await gate.acquire()
        waiting = asyncio.create_task(gate.acquire())
        await asyncio.sleep(0)
        threading.Thread(target=slot.release).start()
        (await asyncio.wait_for(waiting, 5)).release()
        assert gate.active == 0

    run(scenario())


def produce(spool: ResultSpool, chunks: list[bytes]) -> threading.Thread:
    def work() -> None:
        try:
            for chunk in chunks:
                spool.write(chunk)
        except BaseException as exc:
            spool.finish(exc)
        else:
            spool.finish()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


async def drain(spool: ResultSpool) -> bytes:
    out = bytearray()
    while (chunk := await spool.read()) is not None:
        out += chunk
    return bytes(out)


def test_a_spool_delivers_every_byte_in_order_through_memory_and_disk(tmp_path: Path) -> None:
    chunks = [bytes([i % 251]) * (1000 + i * 37) for i in range(400)]

    async def scenario() -> bytes:
        budget = ByteBudget(1 << 30)
        spool = ResultSpool(budget=budget, memory=10_000, directory=str(tmp_path / "spool"))
        spool.bind(asyncio.get_running_loop())
        thread = produce(spool, chunks)
        await asyncio.sleep(0.2)  # the producer runs ahead: most of it goes to disk
        data = await drain(spool)
        thread.join()
        assert budget.used == 0
        return data

    assert run(scenario()) == b"".join(chunks)
    assert not list((tmp_path / "spool").iterdir())  # the file is unlinked


def test_a_full_spool_makes_the_producer_wait_then_give_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = ResultSpool(
            budget=ByteBudget(1 << 30),
            memory=100,
            max_bytes=1000,
            hold=0.3,
            directory=str(tmp_path),
        )
        spool.bind(asyncio.get_running_loop())
        thread = produce(spool, [b"x" * 400] * 10)
        thread.join(10)
        assert not thread.is_alive()
        with pytest.raises(SpoolOverrun):
            await drain(spool)

    run(scenario())


def test_the_process_budget_bounds_all_spools_together(tmp_path: Path) -> None:
    budget = ByteBudget(1500)

    async def scenario() -> None:
        a = ResultSpool(
            budget=budget, memory=0, max_bytes=10_000, hold=0.3, directory=str(tmp_path)
        )
        a.bind(asyncio.get_running_loop())
        a.write(b"a" * 1000)
        assert budget.used == 1000
        b = ResultSpool(
            budget=budget, memory=0, max_bytes=10_000, hold=0.3, directory=str(tmp_path)
        )
        b.bind(asyncio.get_running_loop())
        with pytest.raises(SpoolOverrun):
            b.write(b"b" * 1000)  # only 500 bytes left in the budget
        assert await a.read() == b"a" * 1000
        a.finish()
        assert await a.read() is None
        assert budget.used == 0

    run(scenario())


def test_an_abandoned_spool_stops_its_producer(tmp_path: Path) -> None:
    async def scenario() -> None:
        budget = ByteBudget(1 << 30)
        spool = ResultSpool(
            budget=budget, memory=10, max_bytes=100, hold=60, directory=str(tmp_path)
        )
        spool.bind(asyncio.get_running_loop())
        failures: list[BaseException] = []

        def work() -> None:
            try:
                while True:
                    spool.write(b"y" * 50)  # blocks when full, until abandoned
            except ClientGone as exc:
                failures.append(exc)

        thread = threading.Thread(target=work)
        thread.start()
        await asyncio.sleep(0.2)
        spool.abandon()
        thread.join(5)
        assert not thread.is_alive()
        assert failures
        assert budget.used == 0
        with pytest.raises(ClientGone):
            await spool.read()

    run(scenario())


def test_a_job_request_refused_by_its_gate_is_a_503_with_retry_after() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from tap.uws.routes import _guarded

    async def full(request: Request) -> Response:
        raise Overloaded("async", 3, "too many requests are waiting")

    app = Starlette(routes=[Route("/async", _guarded(full))])
    with TestClient(app) as client:
        answer = client.get("/async")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "3"
    assert "busy" in answer.text


def test_a_spill_that_fails_gives_its_reservation_back(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("x")
    budget = ByteBudget(1 << 20)

    async def scenario() -> None:
        spool = ResultSpool(budget=budget, memory=0, directory=str(not_a_directory / "spool"))
        spool.bind(asyncio.get_running_loop())
        with pytest.raises(OSError):
            spool.write(b"z" * 1000)
        spool.abandon()

    run(scenario())
    assert budget.used == 0


def test_the_intake_budget_is_given_back_once_the_answer_starts() -> None:
    """Two requests whose bodies do not fit the budget together: the second is served while
    the first is still being delivered (its body is done with)."""
    import httpx
    import uvicorn
    from starlette.types import Receive, Scope, Send

    from catalog.serving.guard import RequestGuard
    from tests.support.server import free_port

    release = threading.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        while scope["path"] == "/slow" and not release.is_set():
            await asyncio.sleep(0.05)
        await send({"type": "http.response.body", "body": body, "more_body": False})

    guarded = RequestGuard(app, default_limit=10_000, intake_budget=ByteBudget(1500))
    port = free_port()
    config = uvicorn.Config(guarded, port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    try:
        base = f"http://127.0.0.1:{port}"
        with (
            httpx.Client(timeout=30) as first,
            httpx.Client(timeout=30) as second,
            first.stream("POST", base + "/slow", content=b"a" * 1000) as streamed,
        ):
            assert next(streamed.iter_raw()) == b"first"
            answer = second.post(base + "/quick", content=b"b" * 1000)
            assert answer.status_code == 200, answer.text
            release.set()
    finally:
        release.set()
        server.should_exit = True
        thread.join(10)


def test_the_most_processes_fit_in_the_embedded_clusters_connections() -> None:
    """Eight processes (the most ``hlsp serve`` starts by default) at their default budget,
    every pool full with its overflow, leave room for a harvest and the command line."""
    from catalog.config import ServingSettings, default_workers
    from catalog.embedded import MAX_CONNECTIONS
    from catalog.serving.budget import Budget

    budget = Budget.from_settings(ServingSettings())
    assert budget.most_connections == 27  # as config.py and the README say
    assert default_workers(64) * budget.most_connections + 30 <= MAX_CONNECTIONS
