"""The figures of benchmarks/load.py: a level's summary, the tables printed, the targets."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from benchmarks.load_client import NOT_ERRORS, OUTCOMES, SHED, Recorder, percentile
from benchmarks.load_mix import KINDS


@dataclass
class Level:
    loop: str  # "closed" or "open"
    load: float  # clients, or requests per second
    result: dict[str, Any] = field(default_factory=dict)


def summarise(recorder: Recorder, duration: float) -> dict[str, Any]:
    kinds: dict[str, Any] = {}
    every: list[float] = []
    totals: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
    for kind in KINDS:
        counts = recorder.outcomes.get(kind) or Counter()
        latencies = sorted(recorder.latencies.get(kind, []))
        every.extend(latencies)
        for outcome, n in counts.items():
            totals[outcome] += n
        kinds[kind] = {
            "requests": sum(counts.values()),
            "ok_in_window": len(latencies),
            **latency_figures(latencies),
            "outcomes": {o: counts.get(o, 0) for o in OUTCOMES if counts.get(o, 0)},
        }
    every.sort()
    return {
        "duration_s": duration,
        "requests": sum(totals.values()),
        "throughput_ok_per_s": recorder.ok_in_window / duration,
        "errors": sum(n for o, n in totals.items() if o not in NOT_ERRORS),
        "outcomes": totals,
        "ended_after_window": dict(recorder.after_window),
        "all": latency_figures(every),
        "kinds": kinds,
        "ok_per_second": recorder.per_second[: int(duration)],
        "connections_opened": recorder.connections_opened,
        "stale_connection_resends": recorder.stale_retries,
        "late_starts": recorder.late_starts,
        "max_start_lag_ms": recorder.max_start_lag * 1e3,
    }


def latency_figures(ordered: list[float]) -> dict[str, float | None]:
    if not ordered:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "p50_ms": percentile(ordered, 0.50) * 1e3,
        "p95_ms": percentile(ordered, 0.95) * 1e3,
        "p99_ms": percentile(ordered, 0.99) * 1e3,
        "max_ms": ordered[-1] * 1e3,
    }


def level_name(level: Level) -> str:
    if level.loop == "closed":
        return f"closed loop, {int(level.load):,} clients"
    return f"open loop, {level.load:g} req/s"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def print_level(level: Level) -> None:
    r = level.result
    la, lb = r["load_average_before"], r["load_average_after"]
    print(f"\n== {level_name(level)}, {r['duration_s']:g} s (took {r['wall_s']:.1f} s) ==")
    if r.get("server_restarted_before"):
        print("(the server was restarted before this level: it had not recovered from the last)")
    print("| kind | requests | ok | p50 ms | p95 ms | p99 ms | max ms | p99/p50 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind, k in [
        *r["kinds"].items(),
        (
            "all",
            {
                **r["all"],
                "requests": r["requests"],
                "ok_in_window": sum(x["ok_in_window"] for x in r["kinds"].values()),
            },
        ),
    ]:
        ratio = k["p99_ms"] / k["p50_ms"] if k["p50_ms"] else None
        print(
            f"| {kind} | {k['requests']:,} | {k['ok_in_window']:,} | {ms(k['p50_ms'])} | "
            f"{ms(k['p95_ms'])} | {ms(k['p99_ms'])} | {ms(k['max_ms'])} | "
            f"{'-' if ratio is None else f'{ratio:.1f}'} |"
        )
    outcomes = ", ".join(f"{o} {n:,}" for o, n in r["outcomes"].items() if n) or "none"
    print(
        f"throughput {r['throughput_ok_per_s']:.1f} ok req/s; errors {r['errors']:,}; "
        f"outcomes: {outcomes}"
    )
    if r["ended_after_window"]:
        print(f"ended after the window (not in throughput): {r['ended_after_window']}")
    zero = sum(1 for n in r["ok_per_second"] if n == 0)
    print(
        f"seconds with no successful answer: {zero} of {len(r['ok_per_second'])}; "
        f"connections opened {r['connections_opened']:,}, stale-connection resends "
        f"{r['stale_connection_resends']}"
    )
    if level.loop == "open":
        print(
            f"open loop: {r['late_starts']} requests left > 10 ms after their time "
            f"(max lag {r['max_start_lag_ms']:.1f} ms)"
        )
    by_state = ", ".join(f"{s} {n}" for s, n in sorted(r["db_connections_max_by_state"].items()))
    rss = "-" if r["rss_max_mb"] is None else f"{r['rss_max_mb']:.0f} MB"
    print(
        f"server RSS max {rss}; database connections max {r['db_connections_max'] or '-'} "
        f"(max by state: {by_state or '-'}); client CPU {r['client_loop_cpu_s']:.1f} s in the "
        f"event loop, {r['client_process_cpu_s']:.1f} s in all "
        f"({r['client_process_cpu_s'] / r['wall_s']:.2f} cores)"
    )
    if r["sampling_problem"]:
        print(f"sampling: {r['sampling_problem']}")
    if r["server_log"]:
        print(f"server log during the level: {r['server_log']}")
    recovered = r["recovered_after_s"]
    print(
        "after the level, the server answered /health and a count within 1 s again "
        + (f"after {recovered:.1f} s" if recovered is not None else "NOT within the settle limit")
    )
    print(
        f"load average before {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}, after {lb[0]:.2f} "
        f"{lb[1]:.2f} {lb[2]:.2f}",
        flush=True,
    )


def print_summary(levels: list[Level]) -> None:
    print(
        "\n| loop | load | ok req/s | errors | 503 deliberate | p50 ms | p95 ms | p99 ms | "
        "worst p99/p50 (kind) | server RSS MB | DB connections | client CPU s | "
        "load avg before → after |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|")
    for level in levels:
        r = level.result
        ratio, kind = worst_ratio(r)
        rss = "-" if r["rss_max_mb"] is None else f"{r['rss_max_mb']:.0f}"
        note = " (restarted)" if r["server_restarted_before"] else ""
        print(
            f"| {level.loop} | {level.load:g}{note} | {r['throughput_ok_per_s']:.1f} | "
            f"{r['errors']:,} | {r['outcomes'][SHED]:,} | {ms(r['all']['p50_ms'])} | "
            f"{ms(r['all']['p95_ms'])} | {ms(r['all']['p99_ms'])} | "
            f"{ratio:.1f} ({kind}) | {rss} | "
            f"{r['db_connections_max'] or '-'} | {r['client_process_cpu_s']:.1f} | "
            f"{r['load_average_before'][0]:.2f} → {r['load_average_after'][0]:.2f} |"
        )


def worst_ratio(r: dict[str, Any]) -> tuple[float, str]:
    """The largest p99/p50 over the kinds (infinite when a kind had no admitted request)."""
    worst: tuple[float, str] = (0.0, "-")
    for kind, k in r["kinds"].items():
        ratio = k["p99_ms"] / k["p50_ms"] if k["p50_ms"] else float("inf")
        if ratio > worst[0]:
            worst = (ratio, kind)
    return worst


def check_targets(levels: list[Level]) -> list[dict[str, Any]]:
    closed = [lv for lv in levels if lv.loop == "closed"]
    opened = [lv for lv in levels if lv.loop == "open"]
    out = []
    bad = [f"{level_name(lv)}: {lv.result['errors']:,}" for lv in levels if lv.result["errors"]]
    out.append(
        {
            "target": "0 errors other than deliberate 503s, every level",
            "pass": not bad,
            "detail": "; ".join(bad) or "none",
        }
    )
    if len(closed) >= 2:
        low, high = min(closed, key=lambda x: x.load), max(closed, key=lambda x: x.load)
        a, b = low.result["throughput_ok_per_s"], high.result["throughput_ok_per_s"]
        out.append(
            {
                "target": f"throughput at {high.load:g} clients ≥ at {low.load:g}",
                "pass": b >= a and b > 0,
                "detail": f"{b:.1f} vs {a:.1f} ok req/s",
            }
        )
    tails = [(level_name(lv), *worst_ratio(lv.result)) for lv in closed + opened]
    failing = [f"{name}: {kind} {ratio:.1f}" for name, ratio, kind in tails if ratio > 5]
    out.append(
        {
            "target": "p99 ≤ 5 × p50 of admitted requests, every kind and level",
            "pass": not failing,
            "detail": "; ".join(failing) or "all within",
        }
    )
    for lv in opened:
        p99 = lv.result["all"]["p99_ms"]
        admitted = sum(k["ok_in_window"] for k in lv.result["kinds"].values())
        label = "open loop at 100 req/s" if lv.load == 100 else f"open loop at {lv.load:g} req/s "
        label += "(the target is set at 100 req/s)" if lv.load != 100 else ""
        out.append(
            {
                "target": f"{label}: p99 ≤ 100 ms",
                "pass": p99 is not None and p99 <= 100,
                "detail": f"p99 {ms(p99)} ms over {admitted:,} admitted requests",
            }
        )
    return out
