"""Light-curve families of the corpus: TESS FFI light curves in the current style, TESS
light curves in the legacy TGLC style, and K2 light curves in the legacy K2SFF style.

Both TESS collections observe TIC 25155310 ('TIC 25155310' in one, 'TIC25155310' in the
other) and share a third of their other stars, at positions that agree within 0.4 arcsec.
"""

from __future__ import annotations

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
    Star,
    fileids,
    iso,
    nudge,
    radesys,
    stream,
)
from catalog.corpus.fitswrite import (
    CardSpec,
    Column,
    HeaderItem,
    bintable_hdu,
    card_block,
    primary_hdu,
)

TESS_FFILC = CollectionInfo(
    hlsp_id="tess-ffilc",
    title="TESS Full-Frame Image Light Curves of Bright Stars",
    lead="Priya S. Abernathy",
    doi="10.17909/t7f3-ab2x",
    description="Systematics-corrected 30-minute light curves from TESS full-frame images.",
    release_date="2024-01-08",
    reference="2024AJ....167...23A",
    legacy=False,
    manifest=True,
)
FFI_GAIA = CollectionInfo(
    hlsp_id="ffi-gaia",
    title="Gaia-Based PSF Light Curves from TESS Full-Frame Images",
    lead="Tomasz H. Okafor",
    doi=None,
    description="PSF and aperture light curves of Gaia DR3 sources in TESS full-frame images.",
    release_date="2022-11-15",
    reference="2023AJ....165...71O",
    legacy=True,
    manifest=False,
)
K2PHOT = CollectionInfo(
    hlsp_id="k2phot",
    title="K2 Light Curves Corrected for Spacecraft Motion",
    lead="Helena M. Whitcombe",
    doi=None,
    description="Self-flat-fielded K2 light curves of EPIC targets, per campaign.",
    release_date="2015-03-08",
    reference="2015PASP..127..311W",
    legacy=True,
    manifest=False,
)

_TESS_SOFTWARE = Software(
    "MIT/TESS-FFILC",
    "ffilc-pipeline 1.0.3",
    "1.0.3",
    (("CAL_VER", "tica-2.1", "FFI calibration software"),),
)
ROWS = 32
BTJD_MJD = 2457000.0 - 2400000.5  # MJD = BTJD + 56999.5 (TDB)
BKJD_MJD = 2454833.0 - 2400000.5  # MJD = BKJD + 54832.5 (TDB)


def sector_span(sector: int) -> tuple[float, float]:
    """Approximate start and end of a TESS sector, in BTJD."""
    start = 1325.29 + (sector - 1) * 27.35
    return round(start, 5), round(start + 27.0, 5)


@lru_cache(maxsize=32)
def _noise(variant: int) -> tuple[float, ...]:
    rng = stream("noise", variant)
    return tuple(1.0 + rng.gauss(0.0, 0.002) for _ in range(ROWS))


def _times(start: float, stop: float) -> list[float]:
    step = (stop - start) / ROWS
    return [round(start + (i + 0.5) * step, 6) for i in range(ROWS)]


@dataclass(frozen=True, slots=True)
class _Visit:
    star: int  # Sky star index
    sector: int


def _plan(sky: Sky, count: int, star_index: list[int]) -> list[_Visit]:
    """(star, sector) pairs until ``count``: every sector of each star in turn."""
    plan: list[_Visit] = []
    j = 0
    while len(plan) < count:
        index = star_index[j] if j < len(star_index) else j
        plan += [_Visit(index, s) for s in sky.star(index).sectors]
        j += 1
    return plan[:count]


@dataclass(frozen=True, slots=True)
class _Sector:
    """A star seen in one sector: where on the focal plane and when (BTJD)."""

    star_index: int  # Sky star index
    star: Star
    sector: int
    camera: int
    ccd: int
    tstart: float
    tstop: float

    @property
    def flux(self) -> float:
        """[e-/s] the mean flux of the star."""
        return 15000.0 * 10 ** (-0.4 * (self.star.tmag - 10.0))

    def observation(self, name: str, ra: float, dec: float, flaws: frozenset[str]) -> Observation:
        """A light curve of ``name`` at (ra, dec) over the sector, start and end in MJD."""
        start, end = round(self.tstart + BTJD_MJD, 8), round(self.tstop + BTJD_MJD, 8)
        return Observation(name, ra, dec, start, end, "TESS Photometer", "TESS", flaws)


def digit_path(number: int) -> str:
    """'0000/0000/2515/5310': a number as 16 digits in 4-digit groups (gsfc-eleanor-lite)."""
    digits = f"{number:016d}"
    return "/".join(digits[i : i + 4] for i in range(0, 16, 4))


class _SectorFamily(Family):
    """Light curves of TESS stars, one file per star and sector."""

    kind = "lightcurve"
    observatory = "TESS"

    def __init__(self, sky: Sky, count: int) -> None:
        super().__init__(sky, count)
        self._plan = _plan(sky, count, self.first_stars(count))

    def first_stars(self, count: int) -> list[int]:
        """Sky star indexes observed first; then the stars from the next index on."""
        return []

    def visit(self, index: int) -> _Sector:
        """The star and sector of the ``index``-th file."""
        star, sector = self._plan[index].star, self._plan[index].sector
        rng = stream(self.sky.seed, "camera", star, sector)
        camera, ccd = rng.randint(1, 4), rng.randint(1, 4)
        return _Sector(star, self.sky.star(star), sector, camera, ccd, *sector_span(sector))


_TESS_EXTENSION = card_block(
    [
        ("TIMEREF", "SOLARSYSTEM", "barycentric correction applied to times"),
        ("TASSIGN", "SPACECRAFT", "where time is assigned"),
        ("TIMEUNIT", "d", "time unit for TIME, TSTART and TSTOP"),
        ("BJDREFI", 2457000, "integer part of BTJD reference date"),
        ("BJDREFF", 0.0, "fraction of the day in BTJD reference date"),
        ("TIMEDEL", 0.02083333, "[d] time resolution of data"),
        ("FILTER", "TESS", "filter used for the observations"),
        ("BUNIT", "e-/s", "brightness units"),
    ]
)


class TessLightCurves(_SectorFamily):
    """Current style: HLSP keywords in the primary, all light-curve keywords in the
    LIGHTCURVE extension (TIME/FLUX/FLUX_ERR/QUALITY), FFI provenance in FILEID01."""

    key = "tess-lc"
    collection = TESS_FFILC
    hlspver = "v1.0"
    software = _TESS_SOFTWARE
    odd_product = "lcurve"
    eligible_flaws = frozenset(
        {"missing-doi", "ra-out-of-range", "license-cc-by", "hlspver-mismatch", "upper-case-name"}
    )

    def build(self, index: int, flaws: frozenset[str], rng: Random) -> Built:
        visit = self.visit(index)
        star, sector, tstart, tstop = visit.star, visit.sector, visit.tstart, visit.tstop
        name = f"TIC {star.tic}"
        seen = visit.observation(name, star.ra, star.dec, flaws)
        primary: list[HeaderItem] = [
            ("NEXTEND", 1, "number of standard extensions"),
            self.hlsp(seen),
            ("HLSPTARG", name, "designation of the target"),
            ("OBJECT", name, "string version of target id"),
            ("TICID", star.tic, "unique TESS target identifier"),
            ("SECTOR", sector, "observing sector"),
            ("CAMERA", visit.camera, "camera number"),
            ("CCD", visit.ccd, "CCD chip number"),
            ("TESSMAG", star.tmag, "[mag] TESS magnitude"),
            *fileids([f"tess-s{sector:04d}-{visit.camera}-{visit.ccd}"]),
        ]
        extension: list[HeaderItem] = [
            _TESS_EXTENSION,
            ("TSTART", tstart, "observation start time in BTJD"),
            ("TSTOP", tstop, "observation stop time in BTJD"),
            *seen.times((tstop - tstart) * 86400.0 * 0.8, "TDB"),
            *seen.position(hlsptarg=False),
            ("RA_OBJ", seen.written_ra, "[deg] right ascension"),
            ("DEC_OBJ", star.dec, "[deg] declination"),
            radesys(flaws),
            ("APERTURE", "3PX-CIRCULAR", "photometric aperture"),
        ]
        flux, noise = visit.flux, _noise(index % 16)
        columns = [
            Column("TIME", "D", _times(tstart, tstop), "BJD - 2457000, days"),
            Column("FLUX", "E", [flux * n for n in noise], "e-/s"),
            Column("FLUX_ERR", "E", [flux * 0.002] * ROWS, "e-/s"),
            Column("QUALITY", "J", [0] * ROWS),
        ]
        file_name = Name("tess", "ffi", f"s{sector:04d}-{star.tic:016d}", "tess", "v1.0", "lc")
        hdus = [primary_hdu(primary), bintable_hdu(columns, extension, extname="LIGHTCURVE")]
        return self.built(seen, f"s{sector:04d}/{digit_path(star.tic)}", file_name, hdus)


_LEGACY_ONLY = 200_000  # Sky star indexes of stars only the legacy collection observed
_GOLDEN = 11_400_714_819_323_198_549  # odd, not a multiple of 5: a bijection modulo 2e18

_TGLC_PRIMARY = card_block(
    [
        ("NEXTEND", 1, "number of standard extensions"),
        ("EXTNAME", "PRIMARY", "name of extension"),
        ("EXTDATA", "aperture", "decontaminated FFI cut for aperture photometry"),
        ("EXTVER", 1, "extension version"),
        ("TIMESYS", "TDB", "TESS Barycentric Dynamical Time"),
        ("BUNIT", "e-/s", "flux unit"),
        ("COMMENT", "hdul[0].data[:,star_y,star_x]=lc"),
        ("ORIGIN", "UCSB/FFI-GAIA", "institution responsible for creating this file"),
        ("TELESCOP", "TESS", "telescope"),
        ("INSTRUME", "TESS Photometer", "detector type"),
        ("FILTER", "TESS", "the filter used for the observations"),
    ]
)
_TGLC_EXTENSION = card_block(
    [
        ("INHERIT", True, "inherit the primary header"),
        ("TELESCOP", "TESS", "telescope"),
        ("INSTRUME", "TESS Photometer", "detector type"),
        ("FILTER", "TESS", "the filter used for the observations"),
        ("RADESYS", "ICRS", "reference frame of celestial coordinates"),
        ("TIMEREF", "SOLARSYSTEM", "barycentric correction applied to times"),
        ("TASSIGN", "SPACECRAFT", "where time is assigned"),
        ("BJDREFI", 2457000, "integer part of BJD reference date"),
        ("BJDREFR", 0.0, "fraction of the day in BJD reference date"),
        ("TIMESYS", "TDB", "TESS Barycentric Dynamical Time"),
        ("TIMEUNIT", "d", "time unit for TIME"),
    ]
)
_TGLC_COLUMNS = (
    ("cal_psf_flux", "E"),
    ("cal_aper_flux", "E"),
    ("background", "E"),
)


class LegacyTessLightCurves(_SectorFamily):
    """TGLC style: no HLSP keywords, RA_OBJ/DEC_OBJ, MJD_BEG/MJD_END, XPTIME, TELAPS,
    BJDREFR, a string TICID, lower-case column names, 'llc' products, Gaia-id file names."""

    key = "tess-legacy"
    collection = FFI_GAIA

    def first_stars(self, count: int) -> list[int]:
        """The shared star, a third of the current collection's stars, and stars of its own."""
        return [0] + [j // 3 if j % 3 == 0 else _LEGACY_ONLY + j for j in range(1, count + 1)]

    def build(self, index: int, flaws: frozenset[str], rng: Random) -> Built:
        visit = self.visit(index)
        star, sector, tstart, tstop = visit.star, visit.sector, visit.tstart, visit.tstop
        camera, ccd, seed = visit.camera, visit.ccd, self.sky.seed
        ra, dec = nudge(star.ra, star.dec, stream(seed, "gaia-pos", visit.star_index), 0.4)
        gaia = 4 * 10**18 + (visit.star_index + 1 + seed * 7_919) * _GOLDEN % (2 * 10**18)
        name = f"TIC{star.tic}"
        seen = visit.observation(name, ra, dec, flaws)
        primary: list[HeaderItem] = [
            _TGLC_PRIMARY,
            ("OBJECT", name, "string version of the TIC ID"),
            ("GAIADR3", gaia, "integer version of Gaia DR3 ID"),
            ("TICID", str(star.tic), "TESS Input Catalog ID"),
            ("SECTOR", sector, "observation sector"),
            ("CAMERA", camera, "camera No."),
            ("CCD", ccd, "CCD No."),
            ("RADESYS", "ICRS", "reference frame of celestial coordinates"),
            ("RA_OBJ", ra, "[deg] right ascension, J2000"),
            ("DEC_OBJ", dec, "[deg] declination, J2000"),
            ("TESSMAG", star.tmag, "TESS magnitude, fitted by Gaia DR3 bands"),
            ("CALIB", "FFI-GAIA", "pipeline used for image calibration"),
        ]
        extension: list[HeaderItem] = [
            _TGLC_EXTENSION,
            ("OBJECT", name, "string version of the TIC ID"),
            ("RA_OBJ", ra, "[deg] right ascension, J2000"),
            ("DEC_OBJ", dec, "[deg] declination, J2000"),
            ("TELAPS", round(tstop - tstart, 6), "[d] TSTOP-TSTART"),
            ("TSTART", tstart, "[d] observation start time in TBJD"),
            ("TSTOP", tstop, "[d] observation end time in TBJD"),
            ("MJD_BEG", seen.start, "[d] start time in barycentric MJD"),
            ("MJD_END", seen.end, "[d] end time in barycentric MJD"),
            ("TIMEDEL", 0.02083333, "[d] time resolution of data"),
            ("XPTIME", 1800, "[s] exposure time"),
            ("COMMENT", "TRUE_BG = hdul[1].data['background'] + LOC_BG"),
        ]
        flux, noise = visit.flux, _noise(index % 16)
        columns = [
            Column("time", "D", _times(tstart, tstop)),
            Column("psf_flux", "E", [flux * n for n in noise]),
            Column("aperture_flux", "E", [flux * n * 0.98 for n in noise]),
            *[Column(c, f, [1.0] * ROWS) for c, f in _TGLC_COLUMNS],
            Column("cadence_num", "J", list(range(ROWS))),
            Column("TESS_flags", "I", [0] * ROWS),
        ]
        detector = f"cam{camera}-ccd{ccd}"
        file_name = Name(
            "tess", "ffi", f"gaiaid-{gaia}-s{sector:04d}-{detector}", "tess", "v1", "llc"
        )
        hdus = [primary_hdu(primary), bintable_hdu(columns, extension, extname="LIGHTCURVE")]
        directory = f"s{sector:04d}/{detector}/{digit_path(gaia // 100_000)}"
        return self.built(seen, directory, file_name, hdus)


# campaign: (field centre RA, Dec, start MJD, length in days, EPIC base)
K2_CAMPAIGNS = {
    0: (98.3, 21.6, 56725.0, 78.0, 202_000_000),
    1: (173.9, 1.4, 56808.0, 82.0, 201_000_000),
    2: (246.1, -22.4, 56893.0, 79.0, 203_000_000),
    3: (336.7, -11.1, 56976.0, 69.0, 205_900_000),
    4: (59.1, 18.7, 57062.0, 70.0, 210_000_000),
    5: (130.2, 16.8, 57139.0, 74.0, 211_300_000),
    6: (204.9, -11.3, 57217.0, 79.0, 212_200_000),
    7: (287.8, -23.4, 57301.0, 81.0, 213_900_000),
    8: (16.3, 5.3, 57393.0, 79.0, 220_100_000),
    10: (186.8, -4.0, 57582.0, 69.0, 228_700_000),
    12: (351.7, -5.1, 57739.0, 79.0, 245_900_000),
    13: (72.8, 20.8, 57817.0, 79.0, 246_700_000),
    14: (160.7, 6.8, 57896.0, 80.0, 248_400_000),
    15: (233.7, -20.1, 57986.0, 88.0, 249_000_000),
    16: (133.0, 18.5, 58093.0, 80.0, 211_800_000),
    17: (202.5, -7.7, 58170.0, 67.0, 212_600_000),
    19: (347.2, -4.2, 58357.0, 30.0, 245_500_000),
}
_CAMPAIGN_ORDER = tuple(K2_CAMPAIGNS)

_K2_PRIMARY_HEAD = card_block(
    [
        ("NEXTEND", 1, "number of standard extensions"),
        ("EXTNAME", "PRIMARY", "name of extension"),
        ("EXTVER", 1, "extension version number (not format version)"),
        ("DATE", "2015-03-08", "file creation date."),
        ("TELESCOP", "Kepler", "telescope"),
        ("INSTRUME", "Kepler Photometer", "detector type"),
    ]
)
_K2_EXTENSION_HEAD = card_block(
    [
        ("INHERIT", True, "inherit the primary header"),
        ("TELESCOP", "Kepler", "telescope"),
        ("INSTRUME", "Kepler Photometer", "detector type"),
        ("RADESYS", "ICRS", "reference frame of celestial coordinates"),
        ("EQUINOX", 2000.0, "equinox of celestial coordinate system"),
        ("TIMEREF", "SOLARSYSTEM", "barycentric correction applied to times"),
        ("TASSIGN", "SPACECRAFT", "where time is assigned"),
        ("TIMESYS", "TDB", "time system is barycentric JD"),
        ("BJDREFI", 2454833, "integer part of BJD reference date"),
        ("BJDREFF", 0.0, "fraction of the day in BJD reference date"),
        ("TIMEUNIT", "d", "time unit for TIME, TSTART and TSTOP"),
    ]
)


class K2LightCurves(Family):
    """K2SFF style: 'lightcurve' in the instrument slot, EPIC ids, CAMPAIGN, a BESTAPER
    table (T, FRAW, FCOR, ARCLENGTH, MOVING, CADENCENO), EQUINOX beside RADESYS = 'ICRS'."""

    key = "k2-lc"
    collection = K2PHOT
    kind = "lightcurve"
    observatory = "K2"

    def build(self, index: int, flaws: frozenset[str], rng: Random) -> Built:
        slot, turn = divmod(index, len(_CAMPAIGN_ORDER))
        campaign = _CAMPAIGN_ORDER[turn]
        ra0, dec0, start, length, base = K2_CAMPAIGNS[campaign]
        where = stream(self.sky.seed, "epic", campaign, slot)
        epic = base + slot * 37 + where.randrange(37)
        ra = round((ra0 + where.uniform(-6.0, 6.0)) % 360.0, 6)
        dec = round(dec0 + where.uniform(-6.0, 6.0), 6)
        kepmag = round(where.uniform(9.0, 17.0), 3)
        mjd_beg, mjd_end = start + 0.01, start + length
        tstart, tstop = round(mjd_beg - BKJD_MJD, 8), round(mjd_end - BKJD_MJD, 8)
        objects: list[CardSpec] = [
            ("OBJECT", f"EPIC {epic}", "string version of target id"),
            ("KEPLERID", epic, "unique Kepler target identifier"),
        ]
        primary: list[HeaderItem] = [
            _K2_PRIMARY_HEAD,
            *objects,
            ("CHANNEL", where.randint(1, 84), "CCD channel"),
            ("CAMPAIGN", campaign, "Observing campaign number"),
            ("DATA_REL", 3, "data release version number"),
            ("OBSMODE", "long cadence", "observing mode"),
            ("MISSION", "K2", "Mission name"),
            ("RADESYS", "ICRS", "reference frame of celestial coordinates"),
            ("RA_OBJ", ra, "[deg] right ascension"),
            ("DEC_OBJ", dec, "[deg] declination"),
            ("EQUINOX", 2000.0, "equinox of celestial coordinate system"),
            ("KEPMAG", kepmag, "[mag] Kepler magnitude (Kp)"),
        ]
        extension: list[HeaderItem] = [
            _K2_EXTENSION_HEAD,
            *objects,
            ("RA_OBJ", ra, "[deg] right ascension"),
            ("DEC_OBJ", dec, "[deg] declination"),
            ("TSTART", tstart, "observation start time in BJD-BJDREF"),
            ("TSTOP", tstop, "observation stop time in BJD-BJDREF"),
            ("LC_START", mjd_beg, "mid point of first cadence in MJD"),
            ("LC_END", mjd_end, "mid point of last cadence in MJD"),
            ("DATE-OBS", iso(mjd_beg) + "Z", "TSTART as UTC calendar date"),
            ("DATE-END", iso(mjd_end) + "Z", "TSTOP as UTC calendar date"),
            ("TIMEDEL", 0.02043359821692, "[d] time resolution of data"),
        ]
        noise = _noise(16 + index % 16)
        columns = [
            Column("T", "D", _times(tstart, tstop)),
            Column("FRAW", "D", [n * 1.002 for n in noise]),
            Column("FCOR", "D", list(noise)),
            Column("ARCLENGTH", "D", [abs(n - 1.0) * 50 for n in noise]),
            Column("MOVING", "I", [0] * ROWS),
            Column("CADENCENO", "J", list(range(91434, 91434 + ROWS))),
        ]
        seen = Observation(f"EPIC {epic}", ra, dec, mjd_beg, mjd_end, "Kepler Photometer", None)
        file_name = Name("k2", "lightcurve", f"{epic}-c{campaign:02d}", "kepler", "v1", "llc")
        hdus = [primary_hdu(primary), bintable_hdu(columns, extension, extname="BESTAPER")]
        directory = f"c{campaign:02d}/{epic // 100_000 * 100_000}/{epic % 100_000:05d}"
        return self.built(seen, directory, file_name, hdus)
