"""The WCS of an image, cube or spectrum stored as an array, in the HDU it describes.

MAST's Image and Spectral Metadata pages (docs/hlsp-rules.md §4): CTYPEi, CRVALi, CRPIXj and
either CDi_j or PCi_j with CDELTi are required, never CD and PC together; WCSAXES is
recommended, CUNITi suggested. WCS keywords may appear only in the HDU they describe, so a WCS
found in another HDU is misplaced.
"""

from __future__ import annotations

from catalog.harvest.findings import Finding
from catalog.harvest.fits.reader import Header
from catalog.harvest.rules import codes
from catalog.harvest.rules.view import FileView, integer, label

MAX_WCS_AXES = 9


def check_wcs(view: FileView, hdu: Header, shape: tuple[int, ...], what: str) -> list[Finding]:
    """Findings for the WCS of the array in ``hdu`` (``what``: 'image', 'spectrum', 'cube')."""
    values = view.of(hdu)
    n = integer(values.get("WCSAXES"), 1, MAX_WCS_AXES) or min(len(shape), MAX_WCS_AXES)
    findings: list[Finding] = []
    basic = [f"{p}{i}" for p in ("CTYPE", "CRVAL", "CRPIX") for i in range(1, n + 1)]
    _report_missing(view, hdu, [k for k in basic if k not in values], what, findings)

    pairs = [(i, j) for i in range(1, n + 1) for j in range(1, n + 1)]
    cd = [f"CD{i}_{j}" for i, j in pairs if f"CD{i}_{j}" in values]
    pc = [f"PC{i}_{j}" for i, j in pairs if f"PC{i}_{j}" in values]
    cdelt = [f"CDELT{i}" for i in range(1, n + 1)]
    no_cdelt = [k for k in cdelt if k not in values]
    if cd and pc:
        findings.append(
            codes.CD_AND_PC(
                f"{label(hdu)} has both {cd[0]} and {pc[0]}; readers disagree on which applies",
                hdu=hdu.index,
                keyword=cd[0],
            )
        )
    elif pc and no_cdelt:
        findings.append(
            codes.REQUIRED_MISSING(
                f"{label(hdu)} has a PC matrix but no {', '.join(no_cdelt)}, so readers take "
                f"1 degree (or unit) per pixel; add {no_cdelt[0]} with the {what}'s pixel scale",
                hdu=hdu.index,
                keyword=no_cdelt[0],
            )
        )
    elif not cd and not pc:
        if no_cdelt:
            _report_missing(view, hdu, [f"CD1_1 (or PC1_1 with {cdelt[0]})"], what, findings)
        else:
            findings.append(
                codes.IMPLICIT_PC(
                    f"{label(hdu)} gives {', '.join(cdelt)} but no CDi_j or PCi_j",
                    hdu=hdu.index,
                    keyword="PC1_1",
                )
            )
    if "WCSAXES" not in values:
        findings.append(
            codes.RECOMMENDED_MISSING(
                f"WCSAXES is not in {label(hdu)}; add WCSAXES = {n}, the number of WCS axes",
                hdu=hdu.index,
                keyword="WCSAXES",
            )
        )
    no_unit = [f"CUNIT{i}" for i in range(1, n + 1) if f"CUNIT{i}" not in values]
    if no_unit:
        findings.append(
            codes.SUGGESTED_MISSING(
                f"{', '.join(no_unit)} not in {label(hdu)}; add the axis units "
                f"(celestial axes in 'deg')",
                hdu=hdu.index,
                keyword=no_unit[0],
            )
        )
    return findings


def _report_missing(
    view: FileView, hdu: Header, missing: list[str], what: str, findings: list[Finding]
) -> None:
    if not missing:
        return
    elsewhere = [
        (k, hit[0]) for k in missing if (hit := view.find(k.split(" ")[0])) and hit[0] is not hdu
    ]
    moved = {k for k, _ in elsewhere}
    absent = [k for k in missing if k not in moved]
    if elsewhere:
        where = elsewhere[0][1]
        findings.append(
            codes.UNEXPECTED_HDU(
                f"WCS keywords {', '.join(k for k, _ in elsewhere)} are in {label(where)}, "
                f"but the {what} they describe is in {label(hdu)}; WCS keywords may appear "
                f"only in the HDU they describe",
                hdu=where.index,
                keyword=elsewhere[0][0],
            )
        )
    if absent:
        findings.append(
            codes.REQUIRED_MISSING(
                f"The {what} in {label(hdu)} has no {', '.join(absent)}; add its world "
                f"coordinate system (CTYPEi, CRVALi, CRPIXi, and CDi_j or PCi_j with CDELTi)",
                hdu=hdu.index,
                keyword=absent[0].split(" ")[0],
            )
        )
