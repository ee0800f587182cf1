"""HST families of the corpus: ACS/WFC3 drizzled images and multi-band source catalogs of
nearby galaxies (LEGUS style), and COS/STIS ultraviolet spectra of hot stars (ULLYSES style:
one-row BINTABLE spectra, FILEIDnn provenance or a PROVENANCE extension for co-adds)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from random import Random

from catalog.corpus.base import (
    Built,
    CollectionInfo,
    Family,
    Name,
    Observation,
    Sky,
    Software,
    fileids,
    nudge,
    radesys,
    rootname,
    sexagesimal_name,
    stream,
    tan_wcs,
)
from catalog.corpus.fitswrite import (
    HDU,
    CardSpec,
    Column,
    HeaderItem,
    bintable_hdu,
    primary_hdu,
)
from catalog.corpus.imaging import NPIX, science_cards, square_image

NEARBY_HST = CollectionInfo(
    hlsp_id="nearby-hst",
    title="Nearby Galaxies with HST: ACS and WFC3 Mosaics and Cluster Catalogs",
    lead="Dmitri K. Vasquez-Holm",
    doi="10.17909/h5t1-pq8e",
    description=(
        "Drizzled ACS/WFC and WFC3/UVIS mosaics in five bands from the NUV to the I band, "
        "with multi-band catalogs of the point sources in each galaxy."
    ),
    release_date="2021-09-20",
    reference="2021AJ....162..134V",
    legacy=False,
    manifest=False,
)
UV_STARS = CollectionInfo(
    hlsp_id="uv-stars",
    title="Ultraviolet Spectral Library of Hot Stars",
    lead="Ngozi B. Halvorsen",
    doi="10.17909/u4vs-7k2m",
    description=(
        "Calibrated COS and STIS spectra of O and B stars, per grating and co-added across "
        "gratings, with the list of contributing exposures."
    ),
    release_date="2023-02-14",
    reference="2023ApJS..264...45H",
    legacy=False,
    manifest=True,
)

_HST_SOFTWARE = Software(
    "NEARBY-HST team",
    "nearby-drizzle 1.3.0",
    "1.3.0",
    (("CAL_VER", "DrizzlePac 3.5.1", "drizzling software version"),),
)
_SPEC_SOFTWARE = Software(
    "STScI/UV-STARS",
    "uvstars-coadd 2.0.4",
    "2.0.4",
    (("CAL_VER", "CALCOS 3.4.4 / CALSTIS 3.4.2", "calibration software of the inputs"),),
)
# (instrument, detector, aperture, filter, name field, rootname prefix, PROPOSID)
HST_BANDS = (
    ("WFC3", "UVIS", "UVIS", "F275W", "wfc3", "id", 15654),
    ("WFC3", "UVIS", "UVIS", "F336W", "wfc3", "id", 15654),
    ("ACS", "WFC", "WFC", "F435W", "acs", "jd", 15654),
    ("ACS", "WFC", "WFC", "F555W", "acs", "jd", 15654),
    ("ACS", "WFC", "WFC", "F814W", "acs", "jd", 13364),
)


def _hst_target(sky: Sky, index: int) -> tuple[str, str, float, float, float]:
    """Name ('NGC1385'), slug, position nudged < 0.6 arcsec, and epoch of a galaxy."""
    galaxy = sky.galaxy(index)
    rng = stream(sky.seed, "hst", index)
    ra, dec = nudge(galaxy.ra, galaxy.dec, rng, 0.6)
    return galaxy.name.replace(" ", ""), galaxy.slug, ra, dec, round(rng.uniform(58500, 59800), 5)


class _NearbyHst(Family):
    """The families of the nearby-hst collection."""

    collection = NEARBY_HST
    observatory = "HST"
    hlspver = "v1"
    software = _HST_SOFTWARE


class HstImaging(_NearbyHst):
    """Drizzled mosaics: SCI and WHT extensions with a CD-matrix WCS."""

    key = "hst-img"
    kind = "image"
    odd_product = "drzmap"
    eligible_flaws = frozenset(
        {"cd-and-pc", "upper-case-name", "equinox-with-icrs", "license-cc-by", "ra-out-of-range"}
    )

    def build(self, index: int, flaws: frozenset[str], rng: Random) -> Built:
        target, band = divmod(index, len(HST_BANDS))
        name, slug, ra, dec, epoch = _hst_target(self.sky, target)
        instrument, detector, aperture, filt, field, prefix, program = HST_BANDS[band]
        start = epoch + band * 0.3 + rng.uniform(0, 0.1)
        end = start + rng.uniform(0.05, 0.2)
        exposures = rng.randint(2, 4)
        seen = Observation(name, ra, dec, start, end, instrument, filt, flaws)
        primary: list[HeaderItem] = [
            ("NEXTEND", 2, "number of standard extensions"),
            self.hlsp(seen),
            ("DETECTOR", detector, "detector in use"),
            ("APERTURE", aperture, "aperture name"),
            ("FILTER", filt, "filter element"),
            *seen.position(),
            ("PROPOSID", program, "HST proposal identifier"),
            *seen.times(exposures * rng.uniform(350.0, 700.0)),
            *fileids([rootname(rng, prefix) for _ in range(exposures)]),
        ]
        rotation = round(rng.uniform(0, 360), 3)
        wcs = tan_wcs(seen, npix=NPIX, scale=0.0035, rotation=rotation, matrix="cd")
        sci: list[HeaderItem] = [
            *science_cards("ELECTRONS/S", wcs, flaws, "brightness units"),
            ("PHOTFLAM", 3.0e-19 * (1 + band), "inverse sensitivity, ergs/cm2/A/e-"),
            ("PHOTPLAM", float(filt[1:4]) * 10.0, "[Angstrom] pivot wavelength"),
        ]
        wht: list[CardSpec] = [("EXTNAME", "WHT", "extension name")]
        file_name = Name("hst", field, slug, filt.lower(), "v1", "drc")
        hdus = [
            primary_hdu(primary),
            square_image(sci, 30 + index % 5),
            square_image(wht, 40 + index % 3),
        ]
        return self.built(seen, slug, file_name, hdus)


class HstCatalogs(_NearbyHst):
    """One multi-band point-source catalog per galaxy (SOURCE, RA, DEC, <band>, _ERR, _FLAG)."""

    key = "hst-cat"
    kind = "catalog"
    odd_product = "photcatalog"
    eligible_flaws = frozenset({"missing-doi", "equinox-with-icrs", "hlspver-mismatch"})
    rows = 20

    def build(self, index: int, flaws: frozenset[str], rng: Random) -> Built:
        name, slug, ra, dec, epoch = _hst_target(self.sky, index)
        end = epoch + 0.3 * len(HST_BANDS)
        seen = Observation(name, ra, dec, epoch, end, "MULTI", "MULTI", flaws)
        primary: list[HeaderItem] = [
            ("NEXTEND", 1, "number of standard extensions"),
            self.hlsp(seen),
            ("INSTRU01", "WFC3", "contributing instrument"),
            ("INSTRU02", "ACS", "contributing instrument"),
            ("FILTER", "MULTI", "filter elements: see FILTERnn"),
            *[
                (f"FILTER{n:02d}", band[3], "contributing filter")
                for n, band in enumerate(HST_BANDS, 1)
            ],
            *seen.position(),
            ("PROPOSID", "15654 13364", "HST proposal identifiers"),
            *seen.times(5 * 1800.0),
            *fileids([rootname(rng, band[5]) for band in HST_BANDS]),
        ]
        columns = self._columns(ra, dec, rng)
        table: list[HeaderItem] = [radesys(flaws), ("NSOURCES", self.rows, "rows in catalog")]
        file_name = Name("hst", "acs-wfc3", slug, "multi", "v1", "cat")
        hdus = [primary_hdu(primary), bintable_hdu(columns, table, extname="CATALOG")]
        return self.built(seen, f"{slug}/catalogs", file_name, hdus)

    def _columns(self, ra: float, dec: float, rng: Random) -> list[Column]:
        spread = 1.5 / 60
        cos_dec = max(math.cos(math.radians(dec)), 1e-3)
        columns = [
            Column("SOURCE", "16A", [f"{i + 1:06d}" for i in range(self.rows)]),
            Column(
                "RA",
                "D",
                [(ra + rng.uniform(-spread, spread) / cos_dec) % 360 for _ in range(self.rows)],
                "deg",
            ),
            Column(
                "DEC", "D", [dec + rng.uniform(-spread, spread) for _ in range(self.rows)], "deg"
            ),
        ]
        for _, _, _, filt, *_ in HST_BANDS:
            mags = [rng.uniform(19.0, 27.5) for _ in range(self.rows)]
            measured = [filt != "F275W" or m < 25.0 for m in mags]
            columns += [
                Column(
                    filt,
                    "E",
                    [m if ok else math.nan for m, ok in zip(mags, measured, strict=True)],
                    "mag",
                ),
                Column(
                    f"{filt}_ERR",
                    "E",
                    [
                        0.01 * 10 ** ((m - 20) / 5) if ok else math.nan
                        for m, ok in zip(mags, measured, strict=True)
                    ],
                    "mag",
                ),
                Column(f"{filt}_FLAG", "J", [0 if ok else 1 for ok in measured]),
            ]
        return columns


# ---------------------------------------------------------------------------- spectra

# (instrument, grating, detector, aperture, cenwave, min and max wavelength in Angstrom)
_SETTINGS = {
    "G130M": ("COS", "FUV", "PSA", 1291, 1130.0, 1430.0),
    "G160M": ("COS", "FUV", "PSA", 1600, 1400.0, 1780.0),
    "G185M": ("COS", "NUV", "PSA", 1953, 1670.0, 2120.0),
    "E140M": ("STIS", "FUV-MAMA", "0.2X0.2", 1425, 1144.0, 1729.0),
    "E230M": ("STIS", "NUV-MAMA", "0.2X0.2", 1978, 1574.0, 3110.0),
    "G430L": ("STIS", "CCD", "52X2", 4300, 2900.0, 5700.0),
}
_PIXELS = 64


@dataclass(frozen=True, slots=True)
class _Spectrum:
    target: int
    gratings: tuple[str, ...]  # one for a single-setting spectrum, several for a co-add


def _plan_spectra(seed: int, count: int) -> list[_Spectrum]:
    plan: list[_Spectrum] = []
    target = 0
    while len(plan) < count:
        rng = stream(seed, "uv-star-plan", target)
        gratings = tuple(sorted(rng.sample(sorted(_SETTINGS), rng.choice((1, 1, 2, 2, 3)))))
        plan += [_Spectrum(target, (g,)) for g in gratings]
        if len(gratings) > 1:
            plan.append(_Spectrum(target, gratings))
        target += 1
    return plan[:count]


@lru_cache(maxsize=256)
def _spectrum_columns(gratings: tuple[str, ...], variant: int) -> list[Column]:
    low = min(_SETTINGS[g][4] for g in gratings)
    high = max(_SETTINGS[g][5] for g in gratings)
    rng = stream("spectrum", "-".join(gratings), variant)
    step = (high - low) / (_PIXELS - 1)
    waves = [low + i * step for i in range(_PIXELS)]
    flux = [1e-13 * (1500.0 / w) ** 2 * (1 + rng.gauss(0, 0.03)) for w in waves]
    return [
        Column("WAVELENGTH", f"{_PIXELS}D", [waves], "Angstrom"),
        Column("FLUX", f"{_PIXELS}E", [flux], "erg/s/cm2/Angstrom"),
        Column("ERROR", f"{_PIXELS}E", [[0.03 * f for f in flux]], "erg/s/cm2/Angstrom"),
        Column("DQ", f"{_PIXELS}I", [[0] * _PIXELS]),
    ]


class Spectra(Family):
    """COS/STIS spectra: single settings carry FILEIDnn, co-adds a PROVENANCE extension."""

    key = "spectra"
    collection = UV_STARS
    kind = "spectrum"
    observatory = "HST"
    hlspver = "v1"
    software = _SPEC_SOFTWARE
    odd_product = "fullspec"
    eligible_flaws = frozenset(
        {"unknown-product-type", "equinox-with-icrs", "missing-doi", "ra-out-of-range"}
    )

    def __init__(self, sky: Sky, count: int) -> None:
        super().__init__(sky, count)
        self._plan = _plan_spectra(sky.seed, count)

    def build(self, index: int, flaws: frozenset[str], rng: Random) -> Built:
        spectrum = self._plan[index]
        where = stream(self.sky.seed, "uv-star", spectrum.target)
        ra, dec = (
            round(where.uniform(0, 360), 6),
            round(math.degrees(math.asin(where.uniform(-1, 1))), 6),
        )
        designation, slug = sexagesimal_name(ra, dec)
        settings = [(g, *_SETTINGS[g]) for g in spectrum.gratings]
        epochs = [
            round(where.uniform(55000.0 if s[1] == "COS" else 51000.0, 60400.0), 5)
            for s in settings
        ]
        exposures = [where.uniform(800.0, 3000.0) for _ in settings]
        start = min(epochs)
        end = max(e + x / 86400.0 + 0.02 for e, x in zip(epochs, exposures, strict=True))
        instruments = sorted({s[1] for s in settings})
        instrument = instruments[0] if len(instruments) == 1 else "MULTI"
        coadd = len(settings) > 1
        grating = "MULTI" if coadd else settings[0][0]
        seen = Observation(designation, ra, dec, start, end, instrument, grating, flaws)
        primary: list[HeaderItem] = [
            ("NEXTEND", 2 if coadd else 1, "number of standard extensions"),
            self.hlsp(seen),
            *seen.position(),
            radesys(flaws),
            ("DISPERSR", grating, "dispersive element"),
        ]
        if coadd:
            primary += [
                (f"DISPER{n:02d}", s[0], "contributing disperser")
                for n, s in enumerate(settings, 1)
            ]
        else:
            _, inst, detector, aperture, cenwave, *_ = settings[0]
            primary += [
                ("DETECTOR", detector, "detector in use"),
                ("APERTURE", aperture, "aperture name"),
                ("CENWAVE", cenwave, "[Angstrom] central wavelength"),
                *fileids(
                    [
                        rootname(rng, "le" if inst == "COS" else "od")
                        for _ in range(rng.randint(1, 3))
                    ]
                ),
            ]
        primary.append(("PROPOSID", 15824, "HST proposal identifier"))
        sci: list[HeaderItem] = [*seen.times(sum(exposures))]
        hdus: list[HDU] = [
            primary_hdu(primary),
            bintable_hdu(_spectrum_columns(spectrum.gratings, index % 4), sci, extname="SCI"),
        ]
        if coadd:
            hdus.append(self._provenance(settings, epochs, exposures, rng))
        instrument_field = "-".join(i.lower() for i in instruments)
        opt = "-".join(g.lower() for g in spectrum.gratings)
        file_name = Name("hst", instrument_field, slug, opt, "v1", "spec")
        return self.built(seen, slug, file_name, hdus)

    @staticmethod
    def _provenance(
        settings: list[tuple[str, str, str, str, int, float, float]],
        epochs: list[float],
        exposures: list[float],
        rng: Random,
    ) -> HDU:
        rows = range(len(settings))
        names = [f"{rootname(rng, 'le' if s[1] == 'COS' else 'od')}_x1d.fits" for s in settings]
        columns = [
            Column("FILENAME", "24A", names),
            Column("PROPOSID", "J", [15824 for _ in rows]),
            Column("TELESCOPE", "8A", ["HST" for _ in rows]),
            Column("INSTRUMENT", "8A", [s[1] for s in settings]),
            Column("DETECTOR", "8A", [s[2] for s in settings]),
            Column("DISPERSER", "8A", [s[0] for s in settings]),
            Column("CENWAVE", "J", [s[4] for s in settings]),
            Column("APERTURE", "8A", [s[3] for s in settings]),
            Column("MJD_BEG", "D", epochs, "d"),
            Column(
                "MJD_END",
                "D",
                [e + x / 86400.0 for e, x in zip(epochs, exposures, strict=True)],
                "d",
            ),
            Column("XPOSURE", "D", exposures, "s"),
            Column("MINWAVE", "D", [s[5] for s in settings], "Angstrom"),
            Column("MAXWAVE", "D", [s[6] for s in settings], "Angstrom"),
        ]
        return bintable_hdu(columns, extname="PROVENANCE")
