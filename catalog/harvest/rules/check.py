"""All metadata rules on one file: keywords per product kind, WCS, columns, values, provenance."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from catalog.harvest.findings import Finding
from catalog.harvest.fits.reader import Header
from catalog.harvest.rules import codes, keywords
from catalog.harvest.rules.classify import Classification, ProductKind
from catalog.harvest.rules.keywords import Requirement, check_requirements
from catalog.harvest.rules.provenance import check_provenance
from catalog.harvest.rules.tables import check_columns
from catalog.harvest.rules.values import check_values
from catalog.harvest.rules.view import FileView, label, shown, text
from catalog.harvest.rules.wcs import check_wcs

_K = ProductKind
_VERSION_P = re.compile(r"(?<=\d)p(?=\d)")


def check_headers(
    headers: Sequence[Header],
    classification: Classification,
    *,
    name_version: str | None = None,
    name_proj_id: str | None = None,
) -> list[Finding]:
    """Every metadata finding for one file, given how it was classified and the proj-id and
    version fields of its file name (when the name could be parsed)."""
    view = FileView(headers)
    findings = check_requirements(view, keywords.COMMON)
    by_kind = _BY_KIND.get(classification.kind)
    if by_kind is not None:
        findings += by_kind(view)
    findings += check_values(view)
    findings += _simulation(view, classification)
    findings += _name_agreement(view, name_version, name_proj_id)
    if not classification.simulated:
        findings += check_provenance(view)
    return findings


def _image(view: FileView) -> list[Finding]:
    findings = check_requirements(view, keywords.IMAGE)
    for hdu, shape in view.science_arrays(min_axes=2):
        findings += check_wcs(view, hdu, shape, "image")
    return findings


def _cube(view: FileView) -> list[Finding]:
    findings = check_requirements(view, keywords.CUBE)
    arrays = view.science_arrays(min_axes=3)
    for hdu, shape in arrays:
        findings += check_wcs(view, hdu, shape, "cube")
    if not arrays:  # e.g. a target-pixel file: the cube is a table column
        findings += check_columns(view, view.tables)
    return findings


def _spectrum(view: FileView) -> list[Finding]:
    findings = check_requirements(view, keywords.SPECTRUM)
    arrays = view.science_arrays(min_axes=1)
    first_array = min((view.position(h) for h, _ in arrays), default=len(view.headers))
    first_table = min((view.position(h) for h in view.tables), default=len(view.headers))
    if first_table < first_array or not arrays:  # stored as a table: its columns
        return findings + check_columns(view, view.tables)
    findings += check_requirements(view, keywords.SPECTRUM_IMAGE)
    for hdu, shape in arrays:
        findings += check_wcs(view, hdu, shape, "spectrum")
    return findings


def _lightcurve(view: FileView) -> list[Finding]:
    return _tabular(view, keywords.LIGHTCURVE, view.science_table("LIGHTCURVE"))


def _catalog(view: FileView) -> list[Finding]:
    return _tabular(view, keywords.CATALOG, view.science_table())


_BY_KIND: dict[ProductKind, Callable[[FileView], list[Finding]]] = {
    _K.IMAGE: _image,
    _K.CUBE: _cube,
    _K.SPECTRUM: _spectrum,
    _K.LIGHTCURVE: _lightcurve,
    _K.CATALOG: _catalog,
}


def _tabular(view: FileView, reqs: tuple[Requirement, ...], table: Header | None) -> list[Finding]:
    return check_requirements(view, reqs, table) + check_columns(view, view.tables)


def _simulation(view: FileView, classification: Classification) -> list[Finding]:
    findings: list[Finding] = []
    where = view.find("SIMULATD")
    if where is None:
        if classification.simulated:
            findings.append(
                codes.REQUIRED_MISSING(
                    "SIMULATD is not in any HDU of this simulated product; add SIMULATD = T "
                    "to the primary header",
                    hdu=0,
                    keyword="SIMULATD",
                )
            )
        return findings
    header, value = where
    if value is not True and (classification.simulated or not isinstance(value, bool)):
        findings.append(
            codes.SIMULATD_VALUE(
                f"SIMULATD = {shown(value)} in {label(header)}"
                + (" on a product classified as simulated" if classification.simulated else ""),
                hdu=header.index,
                keyword="SIMULATD",
            )
        )
    if header.index != 0:
        findings.append(
            codes.UNEXPECTED_HDU(
                f"SIMULATD is in {label(header)}, not in the primary header where MAST reads it",
                hdu=header.index,
                keyword="SIMULATD",
            )
        )
    return findings


def normalise_version(value: object) -> str | None:
    """A version for comparison: 'v1', '1', 1, '1.0', 'v1.0', 'v1p0', 'v01' all give '1'."""
    if value is None or isinstance(value, bool):
        return None
    raw = str(value).strip().lower()
    if not raw:
        return None
    raw = _VERSION_P.sub(".", raw.removeprefix("v"))
    parts = [(p.lstrip("0") or "0") if p.isdigit() else p for p in raw.split(".")]
    while len(parts) > 1 and parts[-1] == "0":
        parts.pop()
    return ".".join(parts)


def _name_agreement(
    view: FileView, name_version: str | None, name_proj_id: str | None
) -> list[Finding]:
    findings: list[Finding] = []
    hlspid = view.find("HLSPID")
    if hlspid is not None and name_proj_id:
        header, value = hlspid
        ident = text(value) if isinstance(value, str) else None
        if ident is None or ident.lower() != name_proj_id.strip().lower():
            findings.append(
                codes.HLSPID_NAME_MISMATCH(
                    f"HLSPID = {shown(value)} in {label(header)} but the file name's proj-id "
                    f"is '{name_proj_id}'",
                    hdu=header.index,
                    keyword="HLSPID",
                )
            )
    version = view.find("HLSPVER") or view.find("HLSP_VER")
    if version is not None and name_version:
        header, value = version
        if normalise_version(value) != normalise_version(name_version):
            keyword = "HLSPVER" if "HLSPVER" in header else "HLSP_VER"
            findings.append(
                codes.HLSPVER_NAME_MISMATCH(
                    f"{keyword} = {shown(value)} in {label(header)} but the file name's "
                    f"version is '{name_version}'",
                    hdu=header.index,
                    keyword=keyword,
                )
            )
    return findings
