"""Targets shared across collections: one row per object, whatever name each file gives it.

A name whose normalised key (``catalog.model.names.target_key``) is known links to that
target unless it lies far away (a generic name such as 'Field 1'); otherwise the nearest
target within MATCH_RADIUS_ARCSEC of the product's position, in the catalog or new in the
same batch; otherwise a new target. Every name a product gives becomes an alias of its target.
"""

from __future__ import annotations

import functools
from typing import Any

import psycopg

from catalog.harvest import copytext
from catalog.harvest.fits.skywcs import PositionGrid, angular_distance
from catalog.harvest.ids import Sequences
from catalog.harvest.records import ProductRecord, TargetRef
from catalog.model import names

target_key = functools.lru_cache(maxsize=1 << 16)(names.target_key)
"""``names.target_key``, remembered: resolving a batch asks for each name's key ~7 times."""

MATCH_RADIUS_ARCSEC = 3.0
"""Names that differ but sit within this distance resolve to one target."""
NAME_MATCH_LIMIT_ARCSEC = 60.0
"""A name match farther than this is a different object sharing a generic name ('Field 1')."""


def _aliases(
    refs: dict[int, list[TargetRef]],
    key_of: dict[str, str],
    resolved: dict[int, int],
    known: dict[str, int],
) -> dict[str, tuple[int, str]]:
    """name key -> (target, name as first seen) for every name that designates its target:
    each name a product gives becomes an alias of its target, unless it names another."""
    for product_id, targets in refs.items():
        for t in targets:
            known.setdefault(key_of[t.name], resolved[product_id])
    aliases: dict[str, tuple[int, str]] = {}
    for product_id, targets in refs.items():
        target_id = resolved[product_id]
        for t in targets:
            key = key_of[t.name]
            if key not in aliases and known.get(key) == target_id:
                aliases[key] = (target_id, t.name)
    return aliases


class TargetResolver:
    """Resolves the targets of a batch in a constant number of statements."""

    def __init__(self, conn: psycopg.Connection[Any], sequences: Sequences | None = None) -> None:
        self.conn = conn
        self.sequences = sequences or Sequences(conn)

    def resolve(self, ids: dict[int, ProductRecord]) -> set[tuple[int, int]]:
        """Link each product to its target, creating targets and aliases as needed.

        A name whose normalised key is known links to that target. A product's unknown
        names join the target one of its other names resolves to, else the nearest target
        within MATCH_RADIUS_ARCSEC of the product's position (in the catalog, or new in
        this batch), else a new target. A constant number of statements per batch.
        """
        refs = {pid: r.targets for pid, r in ids.items() if r.targets}
        # Each name's key, computed once (the resolution below asks for it ~7 times).
        key_of = {t.name: "" for ts in refs.values() for t in ts}
        for name in key_of:
            key_of[name] = target_key(name)
        keys = sorted(set(key_of.values()))
        if not keys:
            return set()
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT a.name_key, a.target_id, degrees(long(t.pos)), degrees(lat(t.pos)) "
                "FROM hlsp.target_alias a JOIN hlsp.target t USING (target_id) "
                "WHERE a.name_key = ANY(%s::text[])",
                (copytext.text_array(keys),),
            )
            rows = cur.fetchall()
        known: dict[str, int] = {k: int(t) for k, t, _, _ in rows}
        stored = set(known)  # the aliases the catalog holds (only this run adds any)
        where: dict[int, tuple[float, float]] = {
            int(t): (ra, dec) for _, t, ra, dec in rows if ra is not None
        }

        def by_name(targets: list[TargetRef]) -> int | None:
            """The target one of the names designates, unless it lies far from this one."""
            for t in targets:
                found = known.get(key_of[t.name])
                if found is None:
                    continue
                there = where.get(found)
                if (
                    there is None
                    or t.ra is None
                    or t.dec is None
                    or angular_distance(there, (t.ra, t.dec)) <= NAME_MATCH_LIMIT_ARCSEC / 3600
                ):
                    return found
            return None

        resolved: dict[int, int] = {}
        pending: list[int] = []
        for product_id, targets in refs.items():
            found = by_name(targets)
            if found is None:
                pending.append(product_id)
            else:
                resolved[product_id] = found
        new_targets: list[tuple[int, TargetRef]] = []
        if pending:
            nearby = self._nearby([refs[pid][0] for pid in pending])
            fresh = PositionGrid(MATCH_RADIUS_ARCSEC / 3600)
            ids_needed = [pid for pid, near in zip(pending, nearby, strict=True) if near is None]
            allocated = iter(self._allocate_target_ids(len(ids_needed)))
            for product_id, near in zip(pending, nearby, strict=True):
                first = refs[product_id][0]
                found = near
                if found is None:  # a name known since (earlier in this batch)?
                    found = by_name(refs[product_id])
                if found is None:
                    found = fresh.near(first.ra, first.dec)
                if found is None:
                    found = next(allocated)
                    new_targets.append((found, first))
                    fresh.add(first.ra, first.dec, found)
                    if first.ra is not None and first.dec is not None:
                        where[found] = (first.ra, first.dec)
                resolved[product_id] = found
                for t in refs[product_id]:
                    known.setdefault(key_of[t.name], found)
        self._write_targets(new_targets, _aliases(refs, key_of, resolved, known), stored)
        return set(resolved.items())

    def _allocate_target_ids(self, count: int) -> list[int]:
        return self.sequences.draw("hlsp.target", "target_id", count)

    def _write_targets(
        self,
        new_targets: list[tuple[int, TargetRef]],
        aliases: dict[str, tuple[int, str]],
        stored: set[str],
    ) -> None:
        """COPY the new targets, then the aliases not ``stored`` in the catalog yet."""
        with self.conn.cursor() as cur:
            if new_targets:
                with cur.copy("COPY hlsp.target (target_id, name, pos) FROM STDIN") as copy:
                    copy.write(copytext.target_lines(new_targets))
            missing = [(k, tid, name) for k, (tid, name) in aliases.items() if k not in stored]
            if missing:
                with cur.copy(
                    "COPY hlsp.target_alias (name_key, target_id, name) FROM STDIN"
                ) as copy:
                    copy.write(copytext.alias_lines(missing))

    def _nearby(self, refs: list[TargetRef]) -> list[int | None]:
        """Nearest existing target within the match radius of each reference's position."""
        ras = [t.ra for t in refs]
        decs = [t.dec for t in refs]
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT (SELECT t.target_id FROM hlsp.target t WHERE u.ra IS NOT NULL AND "
                "t.pos <@ scircle(spoint(radians(u.ra), radians(u.dec)), radians(%s / 3600.0)) "
                "ORDER BY t.pos <-> spoint(radians(u.ra), radians(u.dec)), t.target_id LIMIT 1) "
                "FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS u(ra, dec, n) "
                "ORDER BY u.n",
                (MATCH_RADIUS_ARCSEC, copytext.real_array(ras), copytext.real_array(decs)),
            )
            return [None if row[0] is None else int(row[0]) for row in cur.fetchall()]
