"""What reading one file produces: plain, picklable records that cross process boundaries.

A worker turns a file's bytes into a :class:`FileResult` (a :class:`ProductRecord`, or a
:class:`FileFailure`); the loader turns records into rows. Nothing here touches the
database, so a distributed executor can run the same function elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from catalog.harvest.findings import Finding, Severity, Verdict, rule
from catalog.sky import SkyCircle

REJECTED = rule(
    "HLSP-R102",
    Severity.ERROR,
    "Database rejected the product",
    "The values read from the headers break a catalog constraint; fix the header values.",
)
"""The loader's failure of a product (its FileFailure's code). Registered here, beside the
records, so that every finding code is known without loading the database side (``hlsp
check --list-codes``)."""


@dataclass(frozen=True, slots=True)
class FileTask:
    """One file to read: where it is, what the walk saw, and what the run decided."""

    path: str  # absolute
    file_bytes: int
    mtime_ns: int
    collection: str | None = None  # from --collection
    directory_collection: str | None = None  # fallback from the directory layout
    source: str | None = None  # what to read when ``path`` is a link (its target), else None


class TargetRef(NamedTuple):
    """A name a file gives its target, with the position the file gives (degrees, ICRS)."""

    name: str
    source: str  # keyword it came from (OBJECT, TICID, HLSPTARG, file name, ...)
    ra: float | None = None
    dec: float | None = None


class InputRef(NamedTuple):
    kind: str  # observation, file, dataset, program, product
    identifier: str
    source: str  # FILEID03, PROVENANCE[2].FILENAME, PROPOSID
    program_id: str | None = None
    telescope: str | None = None
    instrument: str | None = None
    t_min: float | None = None
    t_max: float | None = None


class SoftwareRef(NamedTuple):
    name: str
    version: str | None
    source: str


class CollectionFacts(NamedTuple):
    """Collection metadata one file's headers state (None where they are silent)."""

    hlspid: str | None = None
    hlspver: str | None = None
    title: str | None = None
    lead: str | None = None
    doi: str | None = None
    license: str | None = None
    license_url: str | None = None
    reference: str | None = None


@dataclass(slots=True)
class ProductRecord:
    """The values of one product row, and everything linked to it."""

    path: str
    file_name: str
    file_bytes: int
    mtime_ns: int
    file_format: str
    collection: str | None  # resolved hlsp id (lower case); None = no collection
    collection_source: str  # option, HLSPID, file name, directory
    hdu_count: int
    product_version: str | None = None
    product_type: str | None = None
    dataproduct_type: str | None = None
    kind: str = "other"
    observatory: str | None = None
    telescope: str | None = None
    instrument: str | None = None
    detector: str | None = None
    filter_name: str | None = None
    aperture: str | None = None
    disperser: str | None = None
    target_name: str | None = None
    ra: float | None = None
    dec: float | None = None
    footprint: list[tuple[float, float]] | None = None
    footprint_bound: SkyCircle | None = None  # a circle holding it: set by load.sanitize
    s_fov: float | None = None
    s_xel1: int | None = None
    s_xel2: int | None = None
    t_min: float | None = None
    t_max: float | None = None
    time_scale: str | None = None
    t_exptime: float | None = None
    t_xel: int | None = None
    em_min: float | None = None
    em_max: float | None = None
    em_xel: int | None = None
    simulated: bool = False
    headers: str = "[]"  # the raw headers as JSON text (extract.headers_json)
    verdict: Verdict = Verdict.PASS
    findings: list[Finding] = field(default_factory=list)
    targets: list[TargetRef] = field(default_factory=list)
    inputs: list[InputRef] = field(default_factory=list)
    software: list[SoftwareRef] = field(default_factory=list)
    facts: CollectionFacts = field(default_factory=CollectionFacts)
    name_proj_id: str | None = None
    name_version: str | None = None


REASON_LIMIT = 500
"""Characters a failure's reason keeps (the reasons quote only short excerpts of a file;
this bounds what an exception or the database may add)."""
_SPACES = {ord(c): " " for c in "\t\n\r\v\f"}
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))} | _SPACES


def terminal_safe(text: str) -> str:
    """Text with its control characters escaped (\\x1b, ...) and line breaks as spaces: a
    file name or a message that reaches a terminal or a log cannot drive it."""
    return text.translate(_CONTROLS) if not text.isprintable() else text


@dataclass(frozen=True, slots=True)
class FileFailure:
    """A file that could not be read or has no collection: recorded, never dropped.

    The reason is one line of at most :data:`REASON_LIMIT` characters, control characters
    escaped, whatever produced it."""

    path: str
    code: str
    reason: str
    file_bytes: int | None = None
    mtime_ns: int | None = None

    def __post_init__(self) -> None:
        reason = terminal_safe(self.reason)
        if len(reason) > REASON_LIMIT:
            reason = reason[: REASON_LIMIT - 3] + "..."
        if reason is not self.reason:
            object.__setattr__(self, "reason", reason)


FileResult = ProductRecord | FileFailure
