"""Shared parts of the corpus generator: what a generated file records, collections, names,
targets on the sky, and the card groups every family of products writes."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from random import Random
from typing import Literal

from catalog.corpus.fitswrite import HDU, CardBlock, CardSpec, HeaderItem, card_block

Kind = Literal["image", "spectrum", "lightcurve", "catalog", "cube"]

FLAWS = (
    "missing-doi",  # no DOI card
    "license-cc-by",  # LICENSE = 'CC-BY' instead of 'CC BY 4.0'
    "equinox-with-icrs",  # EQUINOX next to RADESYS = 'ICRS'
    "cd-and-pc",  # CDi_j and PCi_j both present
    "upper-case-name",  # upper-case target field in the file name
    "bad-version",  # version 'dr0.5' in the name and HLSPVER
    "unknown-product-type",  # product type outside MAST's vocabulary
    "ra-out-of-range",  # RA_TARG >= 360
    "hlspver-mismatch",  # HLSPVER differs from the version in the name
)
"""Deliberate guideline violations, one file each when ``flaws=True``."""

LICENSE = "CC BY 4.0"
LICENSE_URL = "https://creativecommons.org/licenses/by/4.0/"
BAD_VERSION = "dr0.5"
_MJD_EPOCH = datetime(1858, 11, 17)


def stream(*parts: object) -> Random:
    """The random stream named by ``parts`` (reproducible test data, never for secrets)."""
    return Random("/".join(map(str, parts)))  # noqa: S311


@dataclass(frozen=True, slots=True)
class GeneratedFile:
    """One file the generator wrote, with the facts a harvester should extract from it.

    Values mirror the headers as written: ``ra``/``dec`` are RA_TARG/DEC_TARG (RA_OBJ/DEC_OBJ
    in legacy files, so a flawed RA is recorded out of range), ``t_min_mjd``/``t_max_mjd``
    the start and end in MJD, ``filter`` FILTER (or the disperser of spectra; None if absent).
    """

    path: Path
    hlsp_id: str
    kind: Kind
    simulated: bool
    target_name: str
    ra: float | None
    dec: float | None
    t_min_mjd: float | None
    t_max_mjd: float | None
    observatory: str
    instrument: str
    filter: str | None
    flaws: tuple[str, ...] = ()
    damage: str | None = None


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    """A collection's identity, as its README and manifest describe it."""

    hlsp_id: str  # lower case, as in file names
    title: str
    lead: str
    doi: str | None
    description: str
    release_date: str  # ISO date
    reference: str  # bibcode of the describing paper
    legacy: bool  # pre-2017 style: no HLSP keywords, old file-name patterns
    manifest: bool  # ships an hlsp-collection.toml

    @property
    def landing_url(self) -> str:
        return f"https://archive.stsci.edu/hlsp/{self.hlsp_id}"

    @property
    def readme_name(self) -> str:
        return f"hlsp_{self.hlsp_id}_readme.md"


@dataclass(frozen=True, slots=True)
class Name:
    """Seven of the eight fields of an HLSP file name: all but the collection's HLSP id."""

    observatory: str
    instrument: str
    target: str
    opt_elem: str
    version: str
    product: str

    def render(self, hlsp_id: str, flaws: frozenset[str], odd_product: str) -> str:
        """The file name, ending in .fits, with the flaws that touch names applied."""
        target = self.target.upper() if "upper-case-name" in flaws else self.target
        version = BAD_VERSION if "bad-version" in flaws else self.version
        product = odd_product if "unknown-product-type" in flaws else self.product
        return (
            f"hlsp_{hlsp_id}_{self.observatory}_{self.instrument}_{target}_"
            f"{self.opt_elem}_{version}_{product}.fits"
        )


@dataclass(frozen=True, slots=True)
class Observation:
    """What one file says it observed (target, position, time span in MJD, instrument and
    filter) and the flaws it is written with; :class:`GeneratedFile` records the same."""

    target: str
    ra: float  # as measured: the 'ra-out-of-range' flaw changes only what is written
    dec: float
    start: float
    end: float
    instrument: str
    filter: str | None
    flaws: frozenset[str] = frozenset()

    @property
    def written_ra(self) -> float:
        """The RA the headers give, out of range with the 'ra-out-of-range' flaw."""
        return self.ra + 360.0 if "ra-out-of-range" in self.flaws else self.ra

    def position(self, *, hlsptarg: bool = True) -> list[CardSpec]:
        """HLSPTARG (unless ``hlsptarg`` is false), RA_TARG and DEC_TARG."""
        head: list[CardSpec] = [("HLSPTARG", self.target, "designation of the target")]
        return [
            *(head if hlsptarg else []),
            ("RA_TARG", self.written_ra, "[deg] right ascension of the target"),
            ("DEC_TARG", self.dec, "[deg] declination of the target"),
        ]

    def times(self, xposure: float, timesys: str = "UTC") -> list[CardSpec]:
        """The time keywords of the span, see :func:`time_cards`."""
        return time_cards(self.start, self.end, xposure, timesys)


@dataclass(frozen=True, slots=True)
class Built:
    """One file as a family builds it, before it is written."""

    directory: str  # relative to the corpus root, '/'-separated
    name: str  # ends in .fits (the writer may add .gz)
    hdus: list[HDU]
    observation: Observation


class Family(ABC):
    """A kind of product in one collection: plans its targets, builds each file.

    Current-style families also set ``hlspver`` and ``software`` for their HLSP keywords,
    whose TELESCOP and OBSERVAT are the ``observatory``.
    """

    key: str  # unique, e.g. 'jwst-img'
    collection: CollectionInfo
    kind: Kind
    observatory: str  # as recorded, e.g. 'JWST'
    simulated: bool = False
    hlspver: str
    software: Software
    eligible_flaws: frozenset[str] = frozenset()
    odd_product: str = "stamp"  # the product type of the 'unknown-product-type' flaw

    def __init__(self, sky: Sky, count: int) -> None:
        self.sky = sky
        self.count = count  # files this family may be asked for (indexes 0..count-1)

    @abstractmethod
    def build(self, index: int, flaws: frozenset[str], rng: Random) -> Built:
        """The ``index``-th file; deterministic for (seed, index, flaws)."""

    def hlsp(self, seen: Observation) -> CardBlock:
        """The collection keywords of a file (see :func:`hlsp_block`)."""
        return hlsp_block(
            self.collection,
            hlspver=self.hlspver,
            telescope=self.observatory,
            instrument=seen.instrument,
            software=self.software,
            flaws=seen.flaws,
        )

    def built(self, seen: Observation, directory: str, name: Name, hdus: list[HDU]) -> Built:
        """A file in ``directory`` of the collection's folder, ``name`` rendered with its flaws."""
        hlsp_id = self.collection.hlsp_id
        rendered = name.render(hlsp_id, seen.flaws, self.odd_product)
        return Built(f"{hlsp_id}/{directory}", rendered, hdus, seen)


# ---------------------------------------------------------------------------- sky


@dataclass(frozen=True, slots=True)
class Galaxy:
    name: str  # as in headers: 'NGC 1385'
    slug: str  # as in file names: 'ngc1385'
    ra: float
    dec: float


@dataclass(frozen=True, slots=True)
class Star:
    tic: int
    ra: float
    dec: float
    tmag: float
    sectors: tuple[int, ...]


# Nearby galaxies (approximate J2000 centres); the first is observed by HST, JWST and GALEX.
_GALAXIES = (
    ("NGC 1385", 54.36900, -24.50120),
    ("NGC 628", 24.17390, 15.78360),
    ("NGC 1365", 53.40160, -36.14040),
    ("NGC 1433", 55.50620, -47.22190),
    ("NGC 1512", 60.97560, -43.34880),
    ("NGC 1566", 65.00170, -54.93800),
    ("NGC 1672", 71.42710, -59.24740),
    ("NGC 2835", 139.47040, -22.35480),
    ("NGC 3351", 160.99060, 11.70370),
    ("NGC 3627", 170.06250, 12.99150),
    ("NGC 4254", 184.70670, 14.41650),
    ("NGC 4303", 185.47890, 4.47370),
    ("NGC 4321", 185.72890, 15.82230),
    ("NGC 4535", 188.58460, 8.19790),
    ("NGC 5068", 199.72810, -21.03910),
    ("NGC 7496", 347.44700, -43.42780),
    ("IC 5332", 353.61450, -36.10110),
    ("NGC 1087", 41.60490, -0.49880),
    ("NGC 1300", 49.92080, -19.41120),
    ("NGC 4571", 189.23500, 14.21730),
)
SHARED_STAR_TIC = 25155310
_SPREAD = 2_654_435_761  # odd, not a multiple of 5: index * _SPREAD % 10**k is a bijection
_SHARED_STAR: tuple[float, float, float, tuple[int, ...]] = (63.37315, -69.22598, 10.52, (1, 2, 3))


class Sky:
    """Deterministic targets: the same index always gives the same galaxy or star."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._galaxies: dict[int, Galaxy] = {}
        self._stars: dict[int, Star] = {}

    def galaxy(self, index: int) -> Galaxy:
        found = self._galaxies.get(index)
        if found is None:
            if index < len(_GALAXIES):
                name, ra, dec = _GALAXIES[index]
            else:
                rng = stream(self.seed, "galaxy", index)
                pgc = 1_000_000 + index * 97 + rng.randrange(97)
                name = f"PGC {pgc}"
                ra, dec = random_position(rng)
            found = Galaxy(name, name.replace(" ", "").lower(), ra, dec)
            self._galaxies[index] = found
        return found

    def star(self, index: int) -> Star:
        found = self._stars.get(index)
        if found is None:
            if index == 0:
                ra, dec, tmag, sectors = _SHARED_STAR
                found = Star(SHARED_STAR_TIC, ra, dec, tmag, sectors)
            else:
                rng = stream(self.seed, "star", index)
                tic = 1_000_000 + (index + self.seed * 7_919) * _SPREAD % 400_000_000  # bijective
                if tic == SHARED_STAR_TIC:
                    tic += 400_000_000
                ra, dec = random_position(rng)
                first = rng.randint(1, 69)
                sectors = tuple(range(first, min(first + rng.choice((1, 1, 2, 2, 3)), 70)))
                found = Star(tic, ra, dec, round(rng.uniform(6.0, 15.5), 3), sectors)
            self._stars[index] = found
        return found


def random_position(rng: Random) -> tuple[float, float]:
    """A position uniform on the sphere, rounded to ~0.04 arcsec."""
    ra = rng.uniform(0.0, 360.0)
    dec = math.degrees(math.asin(rng.uniform(-1.0, 1.0)))
    return round(ra, 6) % 360.0, round(dec, 6)


def nudge(ra: float, dec: float, rng: Random, arcsec: float) -> tuple[float, float]:
    """(ra, dec) moved by at most ``arcsec`` (another survey's measurement of the same target)."""
    step = arcsec / 3600.0 / math.sqrt(2.0)
    dra = rng.uniform(-step, step) / max(math.cos(math.radians(dec)), 1e-3)
    return round((ra + dra) % 360.0, 7), round(dec + rng.uniform(-step, step), 7)


def sexagesimal_name(ra: float, dec: float) -> tuple[str, str]:
    """('J152447.75+041919.8', 'j152447.75-p041919.8'): header and file-name designations."""
    hours = ra / 15.0
    h, m = int(hours), int(hours * 60) % 60
    s = (hours * 3600) % 60
    sign = "+" if dec >= 0 else "-"
    d = abs(dec)
    dd, dm = int(d), int(d * 60) % 60
    ds = (d * 3600) % 60
    ra_text = f"{h:02d}{m:02d}{math.floor(s * 100) / 100:05.2f}"
    dec_text = f"{dd:02d}{dm:02d}{math.floor(ds * 10) / 10:04.1f}"
    return f"J{ra_text}{sign}{dec_text}", f"j{ra_text}-{'p' if sign == '+' else 'm'}{dec_text}"


# ---------------------------------------------------------------------------- cards


def iso(mjd: float) -> str:
    """ISO-8601 date and time (milliseconds) of an MJD."""
    return (_MJD_EPOCH + timedelta(days=mjd)).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class Software:
    """Who made a collection's files and with what (ORIGIN, CREATOR and version keywords)."""

    origin: str
    creator: str
    procver: str
    extra: tuple[CardSpec, ...] = field(default=())  # CAL_VER, CRDS_CTX, ...


@lru_cache(maxsize=512)
def hlsp_block(
    info: CollectionInfo,
    *,
    hlspver: str,
    telescope: str,
    instrument: str,
    software: Software,
    flaws: frozenset[str],
) -> CardBlock:
    """The common keywords (docs/hlsp-rules.md §4), formatted once per collection, instrument
    and flaws."""
    cards: list[CardSpec] = [
        ("DATE", info.release_date, "date this file was written"),
        ("ORIGIN", software.origin, "institution responsible for creating this file"),
        ("CREATOR", software.creator, "software that created this file"),
        ("PROCVER", software.procver, "version of the HLSP processing software"),
        *software.extra,
        ("TELESCOP", telescope, "telescope used to acquire the data"),
        ("OBSERVAT", telescope, "observatory used to obtain this observation"),
        ("INSTRUME", instrument, "instrument used to acquire the data"),
        ("HLSPID", info.hlsp_id.upper(), "identifier of this HLSP collection"),
        ("HLSPNAME", info.title, "title of this HLSP collection"),
        ("HLSPLEAD", info.lead, "full name of HLSP project lead"),
    ]
    version = hlspver
    if "bad-version" in flaws:
        version = BAD_VERSION
    elif "hlspver-mismatch" in flaws:
        version = "v9.9"
    cards.append(("HLSPVER", version, "version identifier of this HLSP product"))
    if "missing-doi" not in flaws:
        cards.append(("DOI", info.doi, "Digital Object Identifier of the HLSP collection"))
    license_value = "CC-BY" if "license-cc-by" in flaws else LICENSE
    cards += [
        ("LICENSE", license_value, "license for use of these data"),
        ("LICENURL", LICENSE_URL, "data license URL"),
        ("REFERENC", info.reference, "bibliographic identifier"),
    ]
    return card_block(cards)


def time_cards(
    mjd_beg: float, mjd_end: float, xposure: float, timesys: str = "UTC"
) -> list[CardSpec]:
    """DATE-BEG/END, MJD-BEG/END/MID, TIMESYS, XPOSURE and TELAPSE (seconds)."""
    return [
        ("DATE-BEG", iso(mjd_beg), "date-time of observation start"),
        ("DATE-END", iso(mjd_end), "date-time of observation end"),
        ("MJD-BEG", round(mjd_beg, 8), "[d] MJD of observation start"),
        ("MJD-END", round(mjd_end, 8), "[d] MJD of observation end"),
        ("MJD-MID", round((mjd_beg + mjd_end) / 2, 8), "[d] MJD of observation midpoint"),
        ("TIMESYS", timesys, "time scale of time-related keywords"),
        ("XPOSURE", round(xposure, 3), "[s] effective exposure time"),
        ("TELAPSE", round((mjd_end - mjd_beg) * 86400.0, 3), "[s] elapsed time"),
    ]


_ICRS = card_block([("RADESYS", "ICRS", "celestial coordinate reference system")])
_ICRS_EQUINOX = card_block(
    [
        ("RADESYS", "ICRS", "celestial coordinate reference system"),
        ("EQUINOX", 2000.0, "equinox of celestial coordinate system"),
    ]
)


def radesys(flaws: frozenset[str]) -> CardBlock:
    return _ICRS_EQUINOX if "equinox-with-icrs" in flaws else _ICRS


def tan_wcs(
    seen: Observation,
    *,
    npix: int,
    scale: float,
    rotation: float,
    matrix: Literal["pc", "cd", "cdelt"],
    axes: int = 2,
) -> list[HeaderItem]:
    """A celestial TAN WCS centred on the target: PC + CDELT, a CD matrix, or CDELT alone.

    ``scale`` in deg/pixel, ``rotation`` in degrees; the 'cd-and-pc' flaw writes both
    matrices. ``axes`` > 2 leaves the cards of the other axes to the caller.
    """
    ra, dec, flaws = seen.ra, seen.dec, seen.flaws
    centre = (npix + 1) / 2
    cos, sin = math.cos(math.radians(rotation)), math.sin(math.radians(rotation))
    cards: list[HeaderItem] = [
        ("WCSAXES", axes, "number of World Coordinate System axes"),
        ("CRPIX1", centre, "axis 1 coordinate of the reference pixel"),
        ("CRPIX2", centre, "axis 2 coordinate of the reference pixel"),
        ("CRVAL1", ra, "[deg] first axis value at the reference pixel"),
        ("CRVAL2", dec, "[deg] second axis value at the reference pixel"),
        _TAN,
    ]
    pc = [round(cos, 12), round(-sin, 12), round(sin, 12), round(cos, 12)]
    if matrix in ("pc", "cdelt") or "cd-and-pc" in flaws:
        cards += [
            ("CDELT1", -scale, "[deg] first axis increment per pixel"),
            ("CDELT2", scale, "[deg] second axis increment per pixel"),
        ]
    if matrix == "pc" or "cd-and-pc" in flaws:
        cards += [
            (f"PC{k}", v, "linear transformation matrix element")
            for k, v in zip(_IJ, pc, strict=True)
        ]
    if matrix == "cd" or "cd-and-pc" in flaws:
        cd = [-scale * pc[0], -scale * pc[1], scale * pc[2], scale * pc[3]]
        cards += [
            (f"CD{k}", round(v, 15), "partial of coordinate wrt pixel")
            for k, v in zip(_IJ, cd, strict=True)
        ]
    return cards


_IJ = ("1_1", "1_2", "2_1", "2_2")
_TAN = card_block(
    [
        ("CTYPE1", "RA---TAN", "right ascension, gnomonic projection"),
        ("CTYPE2", "DEC--TAN", "declination, gnomonic projection"),
        ("CUNIT1", "deg", "units of first axis"),
        ("CUNIT2", "deg", "units of second axis"),
    ]
)


def fileids(ids: list[str]) -> list[CardSpec]:
    """FILEIDnn provenance cards, one per contributing observation."""
    return [(f"FILEID{n:02d}", i, "contributing observation") for n, i in enumerate(ids, 1)]


def rootname(rng: Random, prefix: str) -> str:
    """An HST-style 9-character observation rootname, e.g. 'lea22cx3q'."""
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(rng.choice(letters) for _ in range(8 - len(prefix))) + "q"
