"""TAP service benchmarks. Sections (``--only NAME``, repeatable; default: all):

  adql   ADQL parse + translate per query over the IVOA lyonetia corpus (the queries marked
         valid), against invented tables of the corpus's names (tests/adql_corpus.py).
         Per query: the median of --repeat runs; reported: median and p95 over queries,
         for parse only and for parse + translate. Baseline in the same run, when importable:
         sqlglot parsing the same texts (``uv run --with sqlglot …``; not a dependency).

Usage:

    uv run python benchmarks/tap.py [--only adql] [--repeat 50]

Needs ../shared beside the checkout for the corpus.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for tests.adql_corpus

from tap.adql import parse, translate  # noqa: E402
from tap.errors import AdqlError  # noqa: E402
from tests.adql_corpus import CORPUS_UDFS, corpus_metadata, load_corpus  # noqa: E402

CORPUS = REPO.parent / "shared" / "data" / "adql" / "lyonetia" / "ivoa"


def per_query(texts: list[str], work: Callable[[str], object], repeat: int) -> list[float]:
    """Median seconds of ``work(text)`` over ``repeat`` runs, for each text."""
    out = []
    for text in texts:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            work(text)
            times.append(time.perf_counter() - start)
        out.append(statistics.median(times))
    return out


def summary(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"| {label} | {len(times)} | {statistics.median(times) * 1e6:.0f} | "
        f"{p95 * 1e6:.0f} | {max(times) * 1e6:.0f} |"
    )


def adql_section(repeat: int) -> None:
    if not CORPUS.is_dir():
        print(f"adql: skipped, no corpus at {CORPUS}")
        return
    metadata = corpus_metadata()
    valid = [q.text for q in load_corpus(CORPUS) if q.valid]
    translatable = []
    for text in valid:
        try:
            translate(text, metadata, row_limit=1001, udfs=CORPUS_UDFS)
        except AdqlError:
            continue
        translatable.append(text)

    def full(text: str) -> object:
        return translate(text, metadata, row_limit=1001, udfs=CORPUS_UDFS)

    print("## adql")
    print(
        f"{len(valid)} valid corpus queries, {len(translatable)} translate against the "
        f"invented tables; {repeat} runs per query; python {platform.python_version()}"
    )
    print()
    print("| work | queries | median µs | p95 µs | max µs |")
    print("|---|---:|---:|---:|---:|")
    print(summary("parse (all valid)", per_query(valid, parse, repeat)))
    print(summary("parse + translate (translatable)", per_query(translatable, full, repeat)))
    try:
        import sqlglot
    except ImportError:
        print("| sqlglot parse | not installed | | | |")
    else:

        def glot(text: str) -> object:
            try:
                return sqlglot.parse(text, read="postgres")
            except sqlglot.errors.SqlglotError:
                return None

        label = f"sqlglot {sqlglot.__version__} parse (all valid)"
        print(summary(label, per_query(valid, glot, repeat)))


SECTIONS = {"adql": adql_section}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(SECTIONS))
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    for name in args.only or list(SECTIONS):
        SECTIONS[name](args.repeat)


if __name__ == "__main__":
    main()
