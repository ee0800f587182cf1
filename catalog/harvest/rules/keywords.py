"""Which keywords a product must, should or may carry: MAST's levels as data, and their check.

Levels follow MAST's metadata pages as extracted in mast_contributor_tools (docs/hlsp-rules.md
§4): *required* keywords missing are errors, *recommended* ones warnings (MAST derives them
at ingest), *suggested* ones advice. A requirement lists one or more standard keywords, any
of which satisfies it (DATE-BEG or MJD-BEG), and the non-standard variants seen in real
collections (docs/hlsp-rules.md §5): a variant is reported as such instead of the keyword
being missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from catalog.harvest.findings import Finding, Severity
from catalog.harvest.fits.reader import Header, Value
from catalog.harvest.rules import codes
from catalog.harvest.rules.view import FileView, label, number


class Level(StrEnum):
    REQUIRED = "required"
    RECOMMENDED = "recommended"
    SUGGESTED = "suggested"


class Place(StrEnum):
    ANY = "any"  # the primary header or any extension (docs/hlsp-rules.md §4)
    DATA = "data"  # the extension that holds the data (light-curve and catalog tables)


@dataclass(frozen=True, slots=True)
class Variant:
    """A non-standard keyword that carries the same information."""

    keyword: str
    needs: tuple[str, ...] = ()  # it counts only when one of these is present too
    numeric: bool = False  # it counts only when its value is a number
    note: str = ""  # what differs, e.g. its unit

    def __reduce__(self) -> tuple[type[Variant], tuple[object, ...]]:
        return Variant, (self.keyword, self.needs, self.numeric, self.note)  # see native.py


@dataclass(frozen=True, slots=True)
class Requirement:
    keywords: tuple[str, ...]  # the standard keywords; any one satisfies the requirement
    level: Level
    what: str  # what the keyword holds, with an example card
    place: Place = Place.ANY
    variants: tuple[Variant, ...] = ()

    def __reduce__(self) -> tuple[type[Requirement], tuple[object, ...]]:
        return Requirement, (
            self.keywords,
            self.level,
            self.what,
            self.place,
            self.variants,
        )  # see native.py


R, V = Requirement, Variant
REQ, REC, SUG = Level.REQUIRED, Level.RECOMMENDED, Level.SUGGESTED
TIME_REFERENCES = ("BJDREFI", "BJDREF", "BJDREFR", "MJDREFI", "MJDREF", "JDREFI", "JDREF")
_RELATIVE = "a time relative to the reference BJDREFI/MJDREFI in TIMEUNIT, not an MJD"

COMMON: tuple[Requirement, ...] = (
    R(("DATE-BEG", "MJD-BEG"), REQ,
      "start of the observation, e.g. DATE-BEG = '2018-07-25T19:01:42' (ISO-8601) or MJD-BEG",
      variants=(V("MJD_BEG"), V("DATE-OBS"), V("EXPSTART", note="an MJD, as HST and JWST write it"),
                V("TSTART", TIME_REFERENCES, note=_RELATIVE))),
    R(("DATE-END", "MJD-END"), REQ,
      "end of the observation, e.g. DATE-END = '2018-08-22T16:13:41' (ISO-8601) or MJD-END",
      variants=(V("MJD_END"), V("EXPEND", note="an MJD, as HST and JWST write it"),
                V("TSTOP", TIME_REFERENCES, note=_RELATIVE))),
    R(("MJD-MID", "DATE-AVG"), REQ, "midpoint of the observation, e.g. MJD-MID = 58338.7",
      variants=(V("MJD_MID"), V("MJD-AVG"), V("EXPMID"))),
    R(("DOI",), REQ, "DOI of the HLSP collection, e.g. DOI = '10.17909/qsyr-ny68'"),
    R(("HLSPID",), REQ, "collection identifier (the file-name proj-id), e.g. HLSPID = 'TGLC'"),
    R(("HLSPTARG",), REQ, "designation of the target(s) or field(s), e.g. HLSPTARG = 'M101'",
      variants=(V("OBJECT"), V("TARGNAME"))),
    R(("HLSPVER",), REQ, "version of this product, e.g. HLSPVER = 'v1.0'",
      variants=(V("HLSP_VER"),)),
    R(("INSTRUME",), REQ, "instrument, or 'MULTI' with numbered records"),
    R(("LICENSE",), REQ, "licence, LICENSE = 'CC BY 4.0'"),
    R(("LICENURL",), REQ, "licence URL, LICENURL = 'https://creativecommons.org/licenses/by/4.0/'"),
    R(("OBSERVAT",), REQ, "observatory that took the data, e.g. OBSERVAT = 'TESS'"),
    R(("TELESCOP",), REQ, "telescope, e.g. TELESCOP = 'HST'"),
    R(("TIMESYS",), REQ, "time scale of the time keywords, e.g. TIMESYS = 'UTC' or 'TDB'"),
    R(("XPOSURE",), REQ, "effective exposure time in seconds, excluding dead time",
      variants=(V("XPTIME", numeric=True), V("EXPTIME", numeric=True),
                V("EXPOSURE", numeric=True, note="Kepler/TESS EXPOSURE is in days"))),
    R(("HLSPLEAD",), REC, "full name of the project lead"),
    R(("HLSPNAME",), REC, "long title of the project", variants=(V("HSLPNAME"),)),
    R(("TELAPSE",), REC, "elapsed time between start and end, in seconds",
      variants=(V("TELAPS", numeric=True),)),
    R(("PROPOSID",), SUG, "proposal or program ID of the data, if any",
      variants=(V("PROGRAM"),)),
    R(("REFERENC",), SUG, "bibcode or ADS URL of the paper describing the collection"),
)  # fmt: skip

_RA = (V("RA_OBJ", numeric=True), V("TARG_RA", numeric=True))
_DEC = (V("DEC_OBJ", numeric=True), V("TARG_DEC", numeric=True))
_TARGET = (
    R(
        ("RA_TARG",),
        REQ,
        "right ascension of the target or field centre, decimal degrees",
        variants=_RA,
    ),
    R(
        ("DEC_TARG",),
        REQ,
        "declination of the target or field centre, decimal degrees",
        variants=_DEC,
    ),
)
_FILTER = "filter, or FILTER = 'MULTI' with FILTER01, FILTER02, ..."
_APERTURE_DETECTOR = (
    R(("APERTURE",), SUG, "aperture used, e.g. APERTURE = '0.2X0.2'"),
    R(("DETECTOR",), SUG, "detector used, e.g. DETECTOR = 'NUV-MAMA'"),
)

IMAGE: tuple[Requirement, ...] = (
    R(("BUNIT",), REQ, "unit of the array values, e.g. BUNIT = 'MJy/sr'"),
    R(("FILTER",), REQ, _FILTER, variants=(V("FILTER1"),)),
    R(("RADESYS",), REQ, "celestial reference frame, RADESYS = 'ICRS' (or 'FK5')"),
    *_TARGET,
    R(("PSFSIZE",), REC, "typical extent of the point-spread function"),
    *_APERTURE_DETECTOR,
)  # fmt: skip

CUBE: tuple[Requirement, ...] = (
    R(("BUNIT",), REQ, "unit of the array values, e.g. BUNIT = 'erg/s/cm2/Angstrom'"),
    R(("RADESYS",), REQ, "celestial reference frame, RADESYS = 'ICRS' (or 'FK5')"),
    *_TARGET,
    *_APERTURE_DETECTOR,
)  # fmt: skip

SPECTRUM: tuple[Requirement, ...] = (
    R(
        ("DISPRSR",),
        SUG,
        "dispersive element, or 'MULTI' with numbered records",
        variants=(V("DISPERSR"), V("GRATING"), V("OPT_ELEM")),
    ),
    *_APERTURE_DETECTOR,
)

SPECTRUM_IMAGE: tuple[Requirement, ...] = (
    R(("BUNIT",), REQ, "unit of the array values, e.g. BUNIT = 'erg/cm2/s/Angstrom'"),
    R(("RADESYS",), REC, "celestial reference frame, RADESYS = 'ICRS' (or 'FK5')"),
)

# Light curves are tables: their keywords belong in the extension holding the table (P-LC).
LIGHTCURVE: tuple[Requirement, ...] = (
    R(("RA_TARG",), REQ, "right ascension of the target, decimal degrees",
      Place.DATA, _RA),
    R(("DEC_TARG",), REQ, "declination of the target, decimal degrees", Place.DATA, _DEC),
    R(("RADESYS",), REQ, "celestial reference frame, RADESYS = 'ICRS' (or 'FK5')", Place.DATA),
    R(("FILTER",), REQ, _FILTER, Place.DATA, (V("FILTER1"),)),
    R(("BUNIT",), SUG, "unit of the fluxes (TUNITn gives each column's unit)", Place.DATA),
    R(("APERTURE",), SUG, "aperture used", Place.DATA),
    R(("DETECTOR",), SUG, "detector used", Place.DATA),
)  # fmt: skip

CATALOG: tuple[Requirement, ...] = (
    R(
        ("RADESYS",),
        REQ,
        "celestial reference frame of the RA/DEC columns, RADESYS = 'ICRS'",
        Place.DATA,
    ),
)

_MISSING = {
    Level.REQUIRED: codes.REQUIRED_MISSING,
    Level.RECOMMENDED: codes.RECOMMENDED_MISSING,
    Level.SUGGESTED: codes.SUGGESTED_MISSING,
}
_VARIANT_SEVERITY = {
    Level.REQUIRED: Severity.WARNING,
    Level.RECOMMENDED: Severity.WARNING,
    Level.SUGGESTED: Severity.INFO,
}


def check_requirements(
    view: FileView, requirements: Sequence[Requirement], data: Header | None = None
) -> list[Finding]:
    """Findings for the requirements not met; ``data`` is the HDU of Place.DATA keywords."""
    findings: list[Finding] = []
    present = view.present
    in_data = view.of(data) if data is not None else None
    for req in requirements:
        home = data if req.place is Place.DATA else None
        if home is not None and in_data is not None:
            if not in_data.keys().isdisjoint(req.keywords):
                continue
            found = next((hit for k in req.keywords if (hit := view.find(k))), None)
            if found is not None:
                where = found[0]
                findings.append(
                    codes.shared(
                        ("misplaced", id(req), _hdu_key(view, where), _hdu_key(view, home)),
                        _misplaced,
                        req,
                        where,
                        home,
                    )
                )
                continue
        elif not present.isdisjoint(req.keywords):
            continue
        findings.append(
            _variant(view, req, home)
            or codes.shared(("missing", id(req), _hdu_key(view, home)), _missing, req, home)
        )
    return findings


def _hdu_key(view: FileView, header: Header | None) -> tuple[int, Value] | None:
    """What a message says about an HDU: its index and EXTNAME."""
    return None if header is None else (header.index, view.of(header).get("EXTNAME"))


def _names(req: Requirement) -> str:
    return " or ".join(req.keywords)


def _misplaced(req: Requirement, where: Header, home: Header) -> Finding:
    keyword = next(k for k in req.keywords if k in where)
    return codes.UNEXPECTED_HDU(
        f"{keyword} is in {label(where)}, not in {label(home)} that holds the table; "
        f"keywords of a table product belong in its extension",
        hdu=where.index,
        keyword=keyword,
        severity=Severity.INFO if req.level is Level.SUGGESTED else None,
    )


def _variant(view: FileView, req: Requirement, home: Header | None) -> Finding | None:
    if not req.variants:
        return None
    present = view.present
    for variant in req.variants:
        if variant.keyword not in present:
            continue
        values = view.of(home) if home is not None else {}
        if home is not None and variant.keyword in values:
            hit: tuple[Header, Value] | None = (home, values[variant.keyword])
        else:
            hit = view.find(variant.keyword)
        if hit is None:
            continue
        if variant.numeric and number(hit[1]) is None:
            continue
        if variant.needs and not any(k in present for k in variant.needs):
            continue
        where = hit[0]
        return codes.shared(
            ("variant", id(req), variant.keyword, _hdu_key(view, where)),
            _non_standard,
            req,
            variant,
            where,
        )
    return None


def _non_standard(req: Requirement, variant: Variant, where: Header) -> Finding:
    note = f" ({variant.note})" if variant.note else ""
    return codes.NON_STANDARD(
        f"Non-standard keyword {variant.keyword}{note} in {label(where)} is used for "
        f"{_names(req)}, the {req.what}",
        hdu=where.index,
        keyword=variant.keyword,
        severity=_VARIANT_SEVERITY[req.level],
    )


def _missing(req: Requirement, home: Header | None) -> Finding:
    if len(req.keywords) > 1:
        subject = (
            "Neither "
            + " nor ".join(req.keywords)
            + " is in "
            + (label(home) if home is not None else "any HDU")
        )
    else:
        subject = f"{req.keywords[0]} is not in " + (label(home) if home is not None else "any HDU")
    target = (
        label(home)
        if home is not None
        else ("the primary header (or the extension that holds the data)")
    )
    return _MISSING[req.level](
        f"{subject}; add {'one' if len(req.keywords) > 1 else 'it'} to {target}: the {req.what}",
        hdu=home.index if home is not None else None,
        keyword=req.keywords[0],
    )
