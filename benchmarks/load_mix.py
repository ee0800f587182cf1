"""The request mix of benchmarks/load.py: four kinds in equal shares, with varying
parameters drawn from what the served catalog holds (seeded).

  cone     TAP sync ``SELECT * FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec),
           CIRCLE('ICRS', ra, dec, r)) = 1``: the centre a product's position moved by up to
           ~0.1°, r uniform in [0.05°, 0.5°]; default format (VOTable BINARY2)
  count    TAP sync ``SELECT COUNT(*) FROM ivoa.ObsCore WHERE …``: one of seven predicates
           (product type, instrument, collection, start time after, wavelength below, a
           declination band, a facility and exposure), values from the catalog
  top100   TAP sync ``SELECT TOP 100 * FROM ivoa.ObsCore`` in table order or ordered by one
           of five columns (ascending or descending)
  graphql  POST /graphql of graphql/operations/portal_search.graphql (20 products with
           collection and targets) under one of seven filters (none, product types, an
           instrument, two collections, a cone, a time window, a verdict and an instrument)

The requests are made (as bytes) before a level starts, :data:`VARIANTS` of each kind; a
client draws the kind, then the variant, from its own seeded random stream.
"""

from __future__ import annotations

import csv
import io
import json
import random
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from benchmarks.load_client import Request

KINDS = ("cone", "count", "top100", "graphql")
VARIANTS = 1000
PORTAL = (
    Path(__file__).resolve().parents[1] / "graphql/operations/portal_search.graphql"
).read_text()
TAP_ERROR = b'name="QUERY_STATUS" value="ERROR"'
GRAPHQL_ERROR = b'"errors"'


@dataclass(frozen=True)
class Facts:
    """What the served catalog holds, read over TAP before the levels."""

    products: int
    positions: list[tuple[float, float]]
    types: list[str]
    instruments: list[str]
    collections: list[str]
    facilities: list[str]
    t_range: tuple[float, float]
    em_range: tuple[float, float]


def tap_csv(base: str, adql: str, timeout: float = 120) -> list[list[str]]:
    """Rows (without the header) of a TAP sync query answered as CSV."""
    body = urllib.parse.urlencode(
        {"REQUEST": "doQuery", "LANG": "ADQL", "FORMAT": "csv", "MAXREC": "1000000", "QUERY": adql}
    ).encode()
    with urllib.request.urlopen(base + "/tap/sync", data=body, timeout=timeout) as answer:
        text = answer.read().decode()
    return list(csv.reader(io.StringIO(text)))[1:]


def read_facts(base: str) -> Facts:
    def values(column: str) -> list[str]:
        rows = tap_csv(
            base, f"SELECT DISTINCT {column} FROM ivoa.ObsCore WHERE {column} IS NOT NULL"
        )
        return sorted(r[0] for r in rows if r and r[0])

    count = int(tap_csv(base, "SELECT COUNT(*) FROM ivoa.ObsCore")[0][0])
    rows = tap_csv(base, "SELECT s_ra, s_dec FROM ivoa.ObsCore WHERE s_ra IS NOT NULL")
    positions = [(float(r[0]), float(r[1])) for r in rows if r and r[0] and r[1]]
    t_lo, t_hi, e_lo, e_hi = tap_csv(
        base, "SELECT MIN(t_min), MAX(t_min), MIN(em_min), MAX(em_min) FROM ivoa.ObsCore"
    )[0]
    return Facts(
        products=count,
        positions=positions,
        types=values("dataproduct_type"),
        instruments=values("instrument_name"),
        collections=values("provenance_name"),
        facilities=values("facility_name"),
        t_range=(float(t_lo), float(t_hi)),
        em_range=(float(e_lo), float(e_hi)),
    )


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class Mix:
    """The prepared requests, by kind, for a server at ``host:port`` under ``prefix``."""

    def __init__(self, facts: Facts, host: str, port: int, prefix: str, seed: int) -> None:
        if not facts.positions or not facts.types:
            raise ValueError("the catalog is empty: harvest the corpus first")
        self.facts = facts
        self.host = f"{host}:{port}"
        self.prefix = prefix
        rng = random.Random(seed)
        self.requests: dict[str, list[Request]] = {
            "cone": [self._tap("cone", self.cone(rng)) for _ in range(VARIANTS)],
            "count": [self._tap("count", self.count(rng)) for _ in range(VARIANTS)],
            "top100": [self._tap("top100", self.top100(rng)) for _ in range(VARIANTS)],
            "graphql": [self._graphql(self.portal_filter(rng)) for _ in range(VARIANTS)],
        }

    def pick(self, rng: random.Random) -> Request:
        return rng.choice(self.requests[rng.choice(KINDS)])

    # -- the kinds ---------------------------------------------------------------------------

    def _centre(self, rng: random.Random) -> tuple[float, float]:
        ra, dec = rng.choice(self.facts.positions)
        dec = max(-89.9, min(89.9, dec + rng.gauss(0, 0.05)))
        return (ra + rng.gauss(0, 0.05)) % 360, dec

    def cone(self, rng: random.Random) -> str:
        ra, dec = self._centre(rng)
        radius = rng.uniform(0.05, 0.5)
        return (
            "SELECT * FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), "
            f"CIRCLE('ICRS', {ra:.5f}, {dec:.5f}, {radius:.3f})) = 1"
        )

    def count(self, rng: random.Random) -> str:
        f = self.facts
        t = rng.uniform(*f.t_range)
        em = rng.uniform(*f.em_range)
        dec = rng.uniform(-80, 70)
        predicates = [
            f"dataproduct_type = {_quote(rng.choice(f.types))}",
            f"instrument_name = {_quote(rng.choice(f.instruments))}",
            f"provenance_name = {_quote(rng.choice(f.collections))}",
            f"t_min > {t:.3f}",
            f"em_min < {em:.4g}",
            f"s_dec BETWEEN {dec:.2f} AND {dec + rng.uniform(1, 20):.2f}",
            f"facility_name = {_quote(rng.choice(f.facilities))} AND t_exptime > "
            f"{rng.uniform(10, 2000):.0f}",
        ]
        return f"SELECT COUNT(*) FROM ivoa.ObsCore WHERE {rng.choice(predicates)}"

    def top100(self, rng: random.Random) -> str:
        order = rng.choice(["", "t_min", "s_ra", "obs_id", "em_min", "access_estsize"])
        if not order:
            return "SELECT TOP 100 * FROM ivoa.ObsCore"
        return f"SELECT TOP 100 * FROM ivoa.ObsCore ORDER BY {order}{rng.choice(['', ' DESC'])}"

    def portal_filter(self, rng: random.Random) -> dict[str, object] | None:
        f = self.facts
        ra, dec = self._centre(rng)
        t = rng.uniform(*f.t_range)
        choices: list[dict[str, object] | None] = [
            None,
            {
                "dataproductType": {
                    "in": [v.upper() for v in rng.sample(f.types, min(2, len(f.types)))]
                }
            },
            {"instrument": {"eq": rng.choice(f.instruments)}},
            {
                "collection": {
                    "hlspId": {"in": rng.sample(f.collections, min(2, len(f.collections)))}
                }
            },
            {
                "cone": {
                    "raDeg": round(ra, 5),
                    "decDeg": round(dec, 5),
                    "radiusDeg": round(rng.uniform(0.1, 2.0), 3),
                }
            },
            {"time": {"startMjd": round(t, 3), "endMjd": round(t + rng.uniform(30, 1000), 3)}},
            {
                "verdict": {"eq": rng.choice(["PASS", "NEEDS_REVIEW", "FAIL"])},
                "instrument": {"eq": rng.choice(f.instruments)},
            },
        ]
        return rng.choice(choices)

    # -- bytes on the wire -------------------------------------------------------------------

    def _post(self, path: str, content_type: str, body: bytes) -> bytes:
        head = (
            f"POST {self.prefix}{path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"User-Agent: hlsp-load/1\r\nAccept: */*\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    def _tap(self, kind: str, adql: str) -> Request:
        body = urllib.parse.urlencode({"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql})
        wire = self._post("/tap/sync", "application/x-www-form-urlencoded", body.encode())
        return Request(kind, wire, TAP_ERROR)

    def _graphql(self, filter_: dict[str, object] | None) -> Request:
        body = json.dumps({"query": PORTAL, "variables": {"filter": filter_, "first": 20}})
        wire = self._post("/graphql", "application/json", body.encode())
        return Request("graphql", wire, GRAPHQL_ERROR)
