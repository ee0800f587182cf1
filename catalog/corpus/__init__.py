"""A generator of realistic HLSP corpora, for the demo, benchmarks and tests.

``generate_corpus(root, files=300, seed=0)`` writes eight collections under ``root``:

    nearby-jwst  JWST NIRCam mosaics + NIRSpec IFU cubes of nearby galaxies  (manifest)
    nearby-hst   HST ACS/WFC3 mosaics + multi-band catalogs of the same galaxies
    uv-stars     HST COS/STIS spectra, FILEIDnn or a PROVENANCE extension    (manifest)
    uv-atlas     GALEX FUV/NUV images of the galaxies and of AIS tiles
    mock-deep    simulated NIRCam deep fields, SIMULATD = T, 'sim-img'       (manifest)
    tess-ffilc   TESS FFI light curves, current style                        (manifest)
    ffi-gaia     TESS light curves in the legacy TGLC style (no HLSP keywords)
    k2phot       K2 light curves in the legacy K2SFF style

and returns a :class:`Corpus` saying what each file holds. Output is deterministic for a
seed: every file is built from its own random stream, so the same (seed, files) always
gives the same bytes. This is demo and test data, not harvesting: nothing in
:mod:`catalog.harvest` imports it.

Modules:
    __init__     generate_corpus, Corpus: the collections, their sizes, flaws and damage
    base         what a generated file records, collections, names, flaws, random streams
    imaging      JWST NIRCam mosaics and NIRSpec cubes, GALEX images, simulated fields
    hst          HST drizzled images, multi-band source catalogs, COS/STIS spectra
    timeseries   TESS and K2 light curves, current and legacy styles
    damage       damaged files: each kind of breakage a harvester must survive
    docs         the README and the optional hlsp-collection.toml of each collection
    fitswrite    write FITS files from cards (the corpus, test fixtures)
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from catalog.corpus.base import (
    FLAWS,
    Built,
    CollectionInfo,
    Family,
    GeneratedFile,
    Kind,
    Sky,
    stream,
)
from catalog.corpus.damage import DAMAGE_FAMILY, DAMAGES, damaged_bytes
from catalog.corpus.docs import write_documents
from catalog.corpus.fitswrite import write_atomic, write_fits
from catalog.corpus.hst import HstCatalogs, HstImaging, Spectra
from catalog.corpus.imaging import GalexImaging, JwstCubes, JwstImaging, SimulatedImaging
from catalog.corpus.timeseries import (
    K2LightCurves,
    LegacyTessLightCurves,
    TessLightCurves,
)
from catalog.harvest.manifest import MANIFEST_NAME

__all__ = [
    "DAMAGES",
    "FLAWS",
    "MANIFEST_NAME",
    "MIN_FILES",
    "CollectionInfo",
    "Corpus",
    "GeneratedFile",
    "Kind",
    "generate_corpus",
]

# Each family with its share of the files and how many files its first (shared) target has.
FAMILIES: tuple[tuple[type[Family], float, int], ...] = (
    (TessLightCurves, 0.26, 3),
    (LegacyTessLightCurves, 0.14, 3),
    (K2LightCurves, 0.12, 1),
    (JwstImaging, 0.13, 8),
    (JwstCubes, 0.02, 3),
    (HstImaging, 0.10, 5),
    (HstCatalogs, 0.02, 1),
    (Spectra, 0.09, 1),
    (GalexImaging, 0.08, 2),
    (SimulatedImaging, 0.04, 1),
)
MIN_PER_FAMILY = 3  # the first file of a family is never flawed
MIN_FILES = MIN_PER_FAMILY * len(FAMILIES)

# Which families may carry each flaw, in order of preference.
FLAW_FAMILIES = {
    "missing-doi": ("tess-lc", "hst-cat", "jwst-cube", "spectra"),
    "license-cc-by": ("galex-img", "sim-img", "tess-lc"),
    "equinox-with-icrs": ("spectra", "hst-img", "jwst-img", "galex-img", "jwst-cube"),
    "cd-and-pc": ("jwst-img", "hst-img"),
    "upper-case-name": ("hst-img", "galex-img", "tess-lc"),
    "bad-version": ("jwst-img",),
    "unknown-product-type": ("spectra",),
    "ra-out-of-range": ("tess-lc", "galex-img", "hst-img", "spectra"),
    "hlspver-mismatch": ("sim-img", "hst-cat", "jwst-img", "tess-lc"),
}


@dataclass(frozen=True)
class Corpus:
    """What :func:`generate_corpus` wrote."""

    root: Path
    seed: int
    files: tuple[GeneratedFile, ...]  # FITS files, damaged ones last
    collections: tuple[CollectionInfo, ...]
    readmes: tuple[Path, ...]
    manifests: tuple[Path, ...]
    seconds: float  # wall-clock generation time

    def collection(self, hlsp_id: str) -> CollectionInfo:
        return next(c for c in self.collections if c.hlsp_id == hlsp_id)

    def by_collection(self, hlsp_id: str) -> list[GeneratedFile]:
        return [f for f in self.files if f.hlsp_id == hlsp_id]

    @property
    def intact(self) -> list[GeneratedFile]:
        """Files that are valid FITS (flawed or not)."""
        return [f for f in self.files if f.damage is None]

    @property
    def flawed(self) -> list[GeneratedFile]:
        return [f for f in self.files if f.flaws]

    @property
    def damaged(self) -> list[GeneratedFile]:
        return [f for f in self.files if f.damage is not None]


def allocate(files: int, weights: list[float], minimum: int) -> list[int]:
    """Split ``files`` by ``weights`` (largest remainders), at least ``minimum`` each."""
    total = sum(weights)
    spare = files - minimum * len(weights)
    if spare < 0:
        raise ValueError(f"need at least {minimum * len(weights)} files, got {files}")
    shares = [spare * w / total for w in weights]
    counts = [int(s) for s in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: counts[i] - shares[i])
    for i in by_remainder[: spare - sum(counts)]:
        counts[i] += 1
    return [minimum + c for c in counts]


def assign_flaws(
    counts: dict[str, int], reserved: dict[str, int], seed: int
) -> dict[tuple[str, int], frozenset[str]]:
    """One file per flaw, in a family that can show it, never on a shared first target."""
    taken: dict[tuple[str, int], frozenset[str]] = {}
    for flaw in sorted(FLAWS, key=lambda f: (len(FLAW_FAMILIES[f]), FLAWS.index(f))):
        rng = stream(seed, "flaw", flaw)
        for key in FLAW_FAMILIES[flaw]:
            count = counts[key]
            low = reserved[key] if count > reserved[key] else 1
            free = [i for i in range(low, count) if (key, i) not in taken]
            if free:
                taken[(key, rng.choice(free))] = frozenset({flaw})
                break
        else:
            raise ValueError(f"no file left for the flaw {flaw!r}: generate more files")
    return taken


def generate_corpus(
    root: Path,
    *,
    files: int = 300,
    seed: int = 0,
    flaws: bool = True,
    damage: bool = False,
    gzip_fraction: float = 0.1,
    workers: int | None = None,
) -> Corpus:
    """Write a corpus of ``files`` FITS files (plus one file per damage kind if ``damage``,
    and a README per collection) under ``root``; deterministic for ``seed``.

    ``workers`` processes write the files (default: one below 5,000 files, else up to 4);
    the output does not depend on it.
    """
    started = time.perf_counter()
    counts = allocate(files, [w for _, w, _ in FAMILIES], MIN_PER_FAMILY)
    extras = Counter(DAMAGE_FAMILY.values()) if damage else Counter[str]()
    keys = [cls.key for cls, _, _ in FAMILIES]
    sizes = tuple(n + extras[key] for key, n in zip(keys, counts, strict=True))
    reserved = {cls.key: first for cls, _, first in FAMILIES}
    flawed = assign_flaws(dict(zip(keys, counts, strict=True)), reserved, seed) if flaws else {}
    jobs = [
        _Job(root, seed, sizes, gzip_fraction, position, start, min(start + _CHUNK, n), flawed)
        for position, n in enumerate(counts)
        for start in range(0, n, _CHUNK)
    ]
    if workers is None:
        workers = 1 if files < 5_000 else min(4, os.cpu_count() or 1)
    if workers > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            written = [f for chunk in pool.map(_run, jobs) for f in chunk]
    else:
        written = [f for job in jobs for f in _run(job)]
    if damage:
        written += _write_damaged(root, seed, sizes, counts)
    collections: list[CollectionInfo] = []
    readmes: list[Path] = []
    manifests: list[Path] = []
    for cls, _, _ in FAMILIES:
        info = cls.collection
        if info in collections:
            continue
        collections.append(info)
        readme, manifest = write_documents(
            root, info, [f for f in written if f.hlsp_id == info.hlsp_id]
        )
        readmes.append(readme)
        if manifest is not None:
            manifests.append(manifest)
    return Corpus(
        root=root,
        seed=seed,
        files=tuple(written),
        collections=tuple(collections),
        readmes=tuple(readmes),
        manifests=tuple(manifests),
        seconds=time.perf_counter() - started,
    )


_CHUNK = 2_000  # files per job


@dataclass(frozen=True)
class _Job:
    """Files start..stop-1 of one family (picklable, for worker processes)."""

    root: Path
    seed: int
    sizes: tuple[int, ...]  # files each family may build (damaged ones included)
    gzip_fraction: float
    family: int  # position in FAMILIES
    start: int
    stop: int
    flawed: dict[tuple[str, int], frozenset[str]]


@lru_cache(maxsize=2)
def _families(seed: int, sizes: tuple[int, ...]) -> tuple[Family, ...]:
    sky = Sky(seed)
    return tuple(cls(sky, n) for (cls, _, _), n in zip(FAMILIES, sizes, strict=True))


def _run(job: _Job) -> list[GeneratedFile]:
    family = _families(job.seed, job.sizes)[job.family]
    writer = _Writer(job.root)
    for index in range(job.start, job.stop):
        file_flaws = job.flawed.get((family.key, index), frozenset())
        rng = stream(job.seed, family.key, index)
        built = family.build(index, file_flaws, rng)
        writer.write(family, built, gzip=rng.random() < job.gzip_fraction, flaws=file_flaws)
    return writer.files


def _write_damaged(
    root: Path, seed: int, sizes: tuple[int, ...], counts: list[int]
) -> list[GeneratedFile]:
    """One file per damage kind, each made from the next unused file of a family."""
    families = {f.key: f for f in _families(seed, sizes)}
    next_index = {cls.key: n for (cls, _, _), n in zip(FAMILIES, counts, strict=True)}
    writer = _Writer(root)
    for kind in DAMAGES:
        family = families[DAMAGE_FAMILY[kind]]
        index = next_index[family.key]
        next_index[family.key] += 1
        built = family.build(index, frozenset(), stream(seed, family.key, index))
        writer.write_damaged(family, built, kind)
    return writer.files


class _Writer:
    """Writes built files, creating each directory once, and records them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: list[GeneratedFile] = []
        self._directories: set[str] = set()

    def _directory(self, relative: str) -> Path:
        path = self.root / relative
        if relative not in self._directories:
            path.mkdir(parents=True, exist_ok=True)
            self._directories.add(relative)
        return path

    def write(self, family: Family, built: Built, *, gzip: bool, flaws: frozenset[str]) -> None:
        name = built.name + ".gz" if gzip else built.name
        path = self._directory(built.directory) / name
        write_fits(path, built.hdus, gzip=gzip)
        self.files.append(_record(family, built, path, tuple(sorted(flaws)), None))

    def write_damaged(self, family: Family, built: Built, kind: str) -> None:
        name = built.name + ".gz" if kind == "bad-gzip" else built.name
        path = self._directory(built.directory) / name
        write_atomic(path, damaged_bytes(kind, built.hdus))
        if kind == "unreadable":
            path.chmod(0)
        self.files.append(_record(family, built, path, (), kind))


def _record(
    family: Family, built: Built, path: Path, flaws: tuple[str, ...], damage: str | None
) -> GeneratedFile:
    seen = built.observation
    return GeneratedFile(
        path=path,
        hlsp_id=family.collection.hlsp_id,
        kind=family.kind,
        simulated=family.simulated,
        target_name=seen.target,
        ra=seen.written_ra,
        dec=seen.dec,
        t_min_mjd=round(seen.start, 8),
        t_max_mjd=round(seen.end, 8),
        observatory=family.observatory,
        instrument=seen.instrument,
        filter=seen.filter,
        flaws=flaws,
        damage=damage,
    )
