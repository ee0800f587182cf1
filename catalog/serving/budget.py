"""What one server process may run at once, and the pools and threads that follow from it.

Every kind of work that needs the database has a gate (:mod:`tap.admission`): TAP
synchronous queries, GraphQL requests, async-job requests, and the availability checks
(``/health``, the landing page's counts, ``/tap/availability``), and the delivery look-ups
(a catalog key to a file); downloads have slots of their own, without connections. The query
pool holds a connection for every slot of the gates that use it, plus one per async-job
executor thread; the job-store pool one per slot of the job gate plus the job service's own
threads (its listener, reaper and executors). So an admitted request never waits for a
connection, and requests that are not admitted hold none.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.config import ServingSettings
from catalog.db import POOL_OVERFLOW
from tap import Gate, GateLimits

# /async requests are short (a row of the job table), availability checks shorter.
JOB_SLOTS = 4
META_SLOTS = 2
# Delivery look-ups (a catalog key to a file: one short statement each) and, apart from them,
# the downloads a process streams at once (no database connection: a descriptor and a
# 1 MiB buffer each; past the bound, 503 at once).
DELIVERY_SLOTS = 4
DOWNLOAD_SLOTS = 256
# tap.uws's executor threads per process (each holds a query connection while a job runs)
# and its other threads that use the job store (listener, reaper, and the executors' writes).
UWS_EXECUTORS = 2
UWS_STORE_THREADS = 4
UWS_LISTENER = 1  # LISTEN for job changes: a connection of its own, outside the pools


@dataclass(frozen=True)
class Budget:
    """The gates' limits for one process, from the serving settings."""

    tap_sync: GateLimits
    tap_jobs: GateLimits
    meta: GateLimits
    graphql: GateLimits
    delivery: GateLimits
    downloads: GateLimits

    @classmethod
    def from_settings(cls, serving: ServingSettings) -> Budget:
        def limits(slots: int, queue: int) -> GateLimits:
            return GateLimits(slots, queue, serving.queue_wait)

        return cls(
            tap_sync=limits(serving.tap_slots, serving.queue),
            tap_jobs=limits(JOB_SLOTS, max(serving.queue, 2 * JOB_SLOTS)),
            meta=limits(META_SLOTS, max(serving.queue, 2 * META_SLOTS)),
            graphql=limits(serving.graphql_slots, serving.queue),
            delivery=limits(DELIVERY_SLOTS, max(serving.queue, 2 * DELIVERY_SLOTS)),
            downloads=GateLimits(DOWNLOAD_SLOTS, 0, 0.0),
        )

    @property
    def query_connections(self) -> int:
        """Connections of the query (reader) pool."""
        return (
            self.tap_sync.limit
            + self.graphql.limit
            + self.meta.limit
            + self.delivery.limit
            + UWS_EXECUTORS
        )

    @property
    def store_connections(self) -> int:
        """Connections of the job store's (writer) pool."""
        return self.tap_jobs.limit + UWS_STORE_THREADS

    @property
    def most_connections(self) -> int:
        """The most one process may hold: both pools with their overflow, the schema look-ups
        of the availability checks (on the catalog's own engine), and the job listener's own
        connection (tap.uws.notify)."""
        pools = self.query_connections + self.store_connections + 2 * POOL_OVERFLOW
        return pools + self.meta.limit + UWS_LISTENER


@dataclass(frozen=True)
class Gates:
    """The gates of one server process."""

    tap_sync: Gate
    tap_jobs: Gate
    meta: Gate
    graphql: Gate
    delivery: Gate
    downloads: Gate

    @classmethod
    def from_budget(cls, budget: Budget) -> Gates:
        return cls(
            tap_sync=Gate("sync", budget.tap_sync),
            tap_jobs=Gate("async", budget.tap_jobs),
            meta=Gate("availability", budget.meta),
            graphql=Gate("graphql", budget.graphql),
            delivery=Gate("delivery", budget.delivery),
            downloads=Gate("downloads", budget.downloads),
        )

    def status(self) -> dict[str, dict[str, int]]:
        gates = (
            self.tap_sync,
            self.tap_jobs,
            self.meta,
            self.graphql,
            self.delivery,
            self.downloads,
        )
        return {g.name: g.status() for g in gates}
