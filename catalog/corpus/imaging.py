"""Imaging families of the corpus: JWST NIRCam mosaics and NIRSpec cubes (PHANGS/JADES
style), a simulated JWST deep field, and GALEX FUV/NUV images of galaxies and survey tiles.

Arrays are tiny (16 x 16 pixels) with coarse pixel scales, so each file is a few KB while
its footprint on the sky keeps the size of the real field.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from functools import lru_cache
from random import Random

from catalog.corpus.base import (
    Built,
    CollectionInfo,
    Family,
    Name,
    Observation,
    Software,
    fileids,
    nudge,
    radesys,
    stream,
    tan_wcs,
)
from catalog.corpus.fitswrite import HDU, CardSpec, HeaderItem, image_hdu, primary_hdu

NPIX = 16

NEARBY_JWST = CollectionInfo(
    hlsp_id="nearby-jwst",
    title="Nearby Galaxies with JWST: NIRCam Mosaics and NIRSpec Cubes",
    lead="Aiko N. Ferrante",
    doi="10.17909/a7k2-9xq4",
    description=(
        "Drizzled NIRCam mosaics in eight filters (F090W to F444W) and NIRSpec IFU cubes "
        "of the centres of nearby star-forming galaxies."
    ),
    release_date="2024-06-14",
    reference="2024ApJS..271...41F",
    legacy=False,
    manifest=True,
)
MOCK_DEEP = CollectionInfo(
    hlsp_id="mock-deep",
    title="Mock JWST Deep Fields from a Cosmological Simulation",
    lead="Rafael Okonkwo-Lindqvist",
    doi="10.17909/m3ck-d33p",
    description="Simulated NIRCam images of z~7 light cones, with noise of a 10-hour field.",
    release_date="2023-11-02",
    reference="2023MNRAS.526.1120O",
    legacy=False,
    manifest=True,
)
UV_ATLAS = CollectionInfo(
    hlsp_id="uv-atlas",
    title="GALEX Ultraviolet Atlas of Nearby Galaxies and Survey Tiles",
    lead="Maria J. Castellanos",
    doi="10.17909/gx7t-2b4c",
    description="Background-subtracted GALEX FUV and NUV intensity maps, re-projected.",
    release_date="2022-03-30",
    reference="2022ApJS..259...12C",
    legacy=False,
    manifest=False,
)

_JWST_SOFTWARE = Software(
    "NEARBY-JWST team",
    "nearby-mosaic 2.1.0",
    "2.1.0",
    (
        ("CAL_VER", "1.12.5", "JWST calibration pipeline version"),
        ("CRDS_CTX", "jwst_1147.pmap", "CRDS context used"),
    ),
)
_SIM_SOFTWARE = Software("Mock-Deep collaboration", "mirage-lightcone 0.9.3", "0.9.3")
_GALEX_SOFTWARE = Software(
    "Caltech/GALEX atlas team",
    "uvatlas 3.2",
    "3.2",
    (("CAL_VER", "GR7", "GALEX data release of the inputs"),),
)
NIRCAM_FILTERS = ("F090W", "F150W", "F200W", "F277W", "F300M", "F335M", "F360M", "F444W")
SIM_FILTERS = ("F115W", "F150W", "F200W", "F277W", "F356W", "F444W")
NIRSPEC_SETTINGS = (("G140H", "F100LP", 0.97), ("G235H", "F170LP", 1.66), ("G395H", "F290LP", 2.87))
JWST_PROGRAM = 2107


@lru_cache(maxsize=64)
def blob(npix: int, variant: int, planes: int = 1) -> bytes:
    """Big-endian float32 pixels of a galaxy-like blob (cached: the data never matter)."""
    rng = stream("blob", npix, variant, planes)
    cx, cy = rng.uniform(0.4, 0.6) * npix, rng.uniform(0.4, 0.6) * npix
    width = rng.uniform(0.1, 0.25) * npix
    values = [
        (1.0 + 0.1 * plane) * math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * width**2))
        + rng.gauss(0.0, 0.01)
        for plane in range(planes)
        for y in range(npix)
        for x in range(npix)
    ]
    return struct.pack(f">{len(values)}f", *values)


def square_image(cards: Sequence[HeaderItem], variant: int, *, simple: bool = False) -> HDU:
    """An NPIX x NPIX image of blob ``variant``: an extension, or with ``simple`` the primary
    HDU of a FITS file without extensions (no EXTEND card)."""
    data = blob(NPIX, variant)
    return image_hdu(cards, shape=(NPIX, NPIX), data=data, primary=simple, extend=not simple)


def science_cards(
    bunit: str,
    wcs: list[HeaderItem],
    flaws: frozenset[str],
    units: str = "physical units of the array values",
) -> list[HeaderItem]:
    """EXTNAME = 'SCI', BUNIT (``units`` its comment), the WCS and RADESYS."""
    return [("EXTNAME", "SCI", "extension name"), ("BUNIT", bunit, units), *wcs, radesys(flaws)]


def _epoch(seed: int, key: str, target: int, start: float, end: float) -> float:
    """The MJD a target was observed by a programme (shared by its files)."""
    return round(stream(seed, key, target).uniform(start, end), 5)


def _observation(target: int) -> str:
    """The JWST observation id prefix of a target, e.g. 'jw02107-o040'."""
    return f"jw{JWST_PROGRAM:05d}-o{target % 900 + 1:03d}"


class _NearbyJwst(Family):
    """The families of the nearby-jwst collection."""

    collection = NEARBY_JWST
    observatory = "JWST"
    hlspver = "v1.0"
    software = _JWST_SOFTWARE


class JwstImaging(_NearbyJwst):
    """NIRCam mosaics: SCI and ERR extensions, PC + CDELT WCS, FILEIDnn provenance."""

    key = "jwst-img"
    kind = "image"
    odd_product = "fullmosaic"
    eligible_flaws = frozenset(
        {"cd-and-pc", "bad-version", "hlspver-mismatch", "missing-doi", "equinox-with-icrs"}
    )

    def build(self, index: int, flaws: frozenset[str], rng: Random) -> Built:
        target, band = divmod(index, len(NIRCAM_FILTERS))
        galaxy = self.sky.galaxy(target)
        filt = NIRCAM_FILTERS[band]
        start = _epoch(self.sky.seed, self.key, target, 59790.0, 60480.0) + rng.uniform(0, 0.3)
        end = start + rng.uniform(0.05, 0.4)
        visits = rng.randint(2, 4)
        seen = Observation(galaxy.name, galaxy.ra, galaxy.dec, start, end, "NIRCAM", filt, flaws)
        primary: list[HeaderItem] = [
            ("NEXTEND", 2, "number of standard extensions"),
            self.hlsp(seen),
            *seen.position(),
            ("FILTER", filt, "filter element used"),
            ("PUPIL", "CLEAR", "pupil element used"),
            ("DETECTOR", "MULTIPLE", "detectors combined in this mosaic"),
            ("PROPOSID", JWST_PROGRAM, "JWST programme number"),
            *seen.times(visits * rng.uniform(500.0, 900.0)),
            *fileids(
                [
                    f"{_observation(target)}_t{v:03d}_nircam_clear-{filt.lower()}"
                    for v in range(1, visits + 1)
                ]
            ),
        ]
        rotation = round(rng.uniform(0, 360), 3)
        wcs = tan_wcs(seen, npix=NPIX, scale=0.0052, rotation=rotation, matrix="pc")
        sci: list[HeaderItem] = [
            *science_cards("MJy/sr", wcs, flaws),
            ("PIXAR_SR", 6.36e-07, "nominal pixel area in steradians"),
            ("PSFSIZE", 0.14 if band < 3 else 0.22, "[arcsec] typical PSF FWHM"),
        ]
        err: list[CardSpec] = [("EXTNAME", "ERR", "extension name"), ("BUNIT", "MJy/sr", "")]
        name = Name("jwst", "nircam", galaxy.slug, filt.lower(), "v1p0", "img")
        hdus = [
            primary_hdu(primary),
            square_image(sci, index % 7),
            square_image(err, 7 + index % 3),
        ]
        return self.built(seen, galaxy.slug, name, hdus)


class JwstCubes(_NearbyJwst):
    """NIRSpec IFU cubes of the galaxy centres: a 3-D SCI array with a WAVE axis."""

    key = "jwst-cube"
    kind = "cube"
    eligible_flaws = frozenset({"missing-doi", "equinox-with-icrs", "hlspver-mismatch"})

    def build(self, index: int, flaws: frozenset[str], rng: Random) -> Built:
        target, setting = divmod(index, len(NIRSPEC_SETTINGS))
        galaxy = self.sky.galaxy(target)
        grating, filt, wave0 = NIRSPEC_SETTINGS[setting]
        start = _epoch(self.sky.seed, self.key, target, 59850.0, 60480.0) + rng.uniform(0, 0.2)
        end = start + rng.uniform(0.04, 0.12)
        seen = Observation(galaxy.name, galaxy.ra, galaxy.dec, start, end, "NIRSPEC", filt, flaws)
        primary: list[HeaderItem] = [
            ("NEXTEND", 1, "number of standard extensions"),
            self.hlsp(seen),
            *seen.position(),
            ("FILTER", filt, "filter element used"),
            ("GRATING", grating, "grating element used"),
            ("DISPERSR", grating, "dispersive element"),
            ("PROPOSID", JWST_PROGRAM, "JWST programme number"),
            *seen.times(rng.uniform(1500.0, 3500.0)),
            *fileids([f"{_observation(target)}_t001_nirspec_{grating}-{filt}".lower()]),
        ]
        rotation = round(rng.uniform(0, 360), 3)
        wcs: list[HeaderItem] = [
            *tan_wcs(seen, npix=4, scale=0.000208, rotation=rotation, matrix="pc", axes=3),
            ("CRPIX3", 1.0, "axis 3 coordinate of the reference pixel"),
            ("CRVAL3", wave0, "[um] wavelength at the reference pixel"),
            ("CTYPE3", "WAVE", "wavelength"),
            ("CUNIT3", "um", "units of third axis"),
            ("CDELT3", 0.00064, "[um] wavelength increment per plane"),
        ]
        sci = science_cards("MJy/sr", wcs, flaws)
        name = Name("jwst", "nirspec", galaxy.slug, f"{grating}-{filt}".lower(), "v1p0", "s3d")
        hdus = [
            primary_hdu(primary),
            image_hdu(sci, shape=(8, 4, 4), data=blob(4, index % 5, planes=8)),
        ]
        return self.built(seen, f"{galaxy.slug}/ifu", name, hdus)


class SimulatedImaging(Family):
    """Simulated NIRCam images (SIMULATD = T, product 'sim-img') of mock deep fields."""

    key = "sim-img"
    collection = MOCK_DEEP
    kind = "image"
    observatory = "JWST"
    simulated = True
    hlspver = "v1"
    software = _SIM_SOFTWARE
    odd_product = "mockimage"
    eligible_flaws = frozenset({"hlspver-mismatch", "license-cc-by", "missing-doi"})

    def build(self, index: int, flaws: frozenset[str], rng: Random) -> Built:
        field_index, band = divmod(index, len(SIM_FILTERS))
        filt = SIM_FILTERS[band]
        slug = f"z7-field{field_index + 1:04d}"
        where = stream(self.sky.seed, "mock-field", field_index)
        ra = round(53.16 + where.uniform(-0.4, 0.4), 6)
        dec = round(-27.78 + where.uniform(-0.3, 0.3), 6)
        start = 60310.0 + field_index * 0.5
        seen = Observation(slug.upper(), ra, dec, start, start + 0.42, "NIRCAM", filt, flaws)
        primary: list[HeaderItem] = [
            ("SIMULATD", True, "simulated data"),
            self.hlsp(seen),
            *seen.position(),
            ("FILTER", filt, "filter simulated"),
            *seen.times(36000.0),
            ("SIMREDSH", 7.0, "redshift of the simulated light cone"),
            ("SIMBOX", "L400N2048", "simulation run"),
        ]
        wcs = tan_wcs(seen, npix=NPIX, scale=0.0013, rotation=0.0, matrix="cd")
        sci = science_cards("nJy", wcs, flaws)
        name = Name("jwst", "nircam", slug, filt.lower(), "v1", "sim-img")
        hdus = [primary_hdu(primary), square_image(sci, 10 + index % 4)]
        return self.built(seen, filt.lower(), name, hdus)


class GalexImaging(Family):
    """GALEX intensity maps as simple FITS (all keywords in the primary), CDELT-only WCS.

    The first targets are the nearby galaxies also imaged by HST and JWST, then AIS tiles.
    """

    key = "galex-img"
    collection = UV_ATLAS
    kind = "image"
    observatory = "GALEX"
    hlspver = "v2"
    software = _GALEX_SOFTWARE
    odd_product = "intmap"
    eligible_flaws = frozenset(
        {"license-cc-by", "ra-out-of-range", "missing-doi", "upper-case-name"}
    )
    galaxies = 20

    def build(self, index: int, flaws: frozenset[str], rng: Random) -> Built:
        target, band = divmod(index, 2)
        filt = ("FUV", "NUV")[band]
        if target < self.galaxies:
            galaxy = self.sky.galaxy(target)
            name, slug = galaxy.name, galaxy.slug
            ra, dec = nudge(galaxy.ra, galaxy.dec, stream(self.sky.seed, "galex", target), 0.8)
            directory = f"galaxies/{slug}"
        else:
            where = stream(self.sky.seed, "ais", target)
            tile = 100 + target * 3 + where.randrange(3)  # unique per target
            name, slug = f"AIS {tile:05d}", f"ais-{tile:05d}"
            ra, dec = round(where.uniform(0, 360), 6), round(where.uniform(-80, 80), 6)
            directory = f"ais/{slug[:7]}"
        start = _epoch(self.sky.seed, self.key, target, 52760.0, 55700.0)
        end = start + rng.uniform(0.001, 0.02)
        seen = Observation(name, ra, dec, start, end, "GALEX", filt, flaws)
        cards: list[HeaderItem] = [
            ("BUNIT", "counts/s", "physical units of the array values"),
            self.hlsp(seen),
            *seen.position(),
            ("FILTER", filt, "GALEX band"),
            ("DETECTOR", filt, "GALEX detector"),
            *seen.times(rng.uniform(100.0, 1700.0)),
            *tan_wcs(seen, npix=NPIX, scale=0.075, rotation=0.0, matrix="cdelt"),
            radesys(flaws),
            *fileids([f"{rng.randrange(10**18, 10**19)}"]),
        ]
        file_name = Name("galex", "camera", slug, filt.lower(), "v2", "img")
        return self.built(
            seen, directory, file_name, [square_image(cards, 20 + index % 5, simple=True)]
        )
