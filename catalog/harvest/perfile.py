"""The per-file work: a pure function from a file's bytes to a picklable result.

:func:`process_file` reads the headers, checks the name and the metadata, and extracts
the product's values. It touches no database and no shared state, so it runs on a process
pool today and could run on any distributed executor tomorrow.

:func:`start_reader` starts a pool worker that runs it (the harvest's loaders and the
check's readers): Ctrl-C left to the parent, the garbage collector kept quiet.
"""

from __future__ import annotations

import gc
import signal

from catalog.harvest import extract as ex
from catalog.harvest.findings import Finding, Severity, rule, verdict_of
from catalog.harvest.fits.reader import FitsReadError, Header, read_headers
from catalog.harvest.fits.skywcs import length_unit, number
from catalog.harvest.fits.table import TableValue, finite_range, read_columns
from catalog.harvest.plausible import TIME_RANGE, is_mjd
from catalog.harvest.records import FileFailure, FileResult, FileTask, InputRef, ProductRecord
from catalog.harvest.rules import check_headers, classify
from catalog.harvest.rules.codes import OUT_OF_RANGE
from catalog.harvest.rules.nomenclature import NameCheck, check_name
from catalog.model.names import hlsp_id

NO_COLLECTION = rule(
    "HLSP-R100",
    Severity.ERROR,
    "No collection",
    "Give --collection, add HLSPID to the primary header, name the file "
    "hlsp_<proj-id>_..., or put it in a directory named after the collection.",
)
UNEXPECTED = rule(
    "HLSP-R101",
    Severity.ERROR,
    "Unexpected error while reading",
    "This is a bug in hlsp-catalog: please report it with the file.",
)


def resolve_collection(
    task: FileTask, hlspid: str | None, name: NameCheck
) -> tuple[str | None, str]:
    """--collection, else HLSPID, else the file name's proj-id, else the directory."""
    for value, source in (
        (task.collection, "option"),
        (hlspid, "HLSPID"),
        (name.proj_id if name.is_hlsp_name else None, "file name"),
        (task.directory_collection, "directory"),
    ):
        resolved = hlsp_id(value)
        if resolved:
            return resolved, source
    return None, "none"


def file_format(path: str) -> str:
    """MIME type of the file as stored (gzip-compressed FITS keeps its own type)."""
    return "application/fits+gzip" if path.endswith(".gz") else "application/fits"


def process_file(task: FileTask, *, keep_info: bool = True) -> FileResult:
    """Read, check and extract one file. Never raises: failures come back as FileFailure.

    ``keep_info=False`` leaves info-level findings out of the record (the catalog stores
    errors and warnings only; a harvest need not ship the rest between processes)."""
    try:
        record = _process(task)
    except FitsReadError as error:
        return FileFailure(task.path, error.code, error.reason, task.file_bytes, task.mtime_ns)
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"
        return FileFailure(task.path, UNEXPECTED.code, reason, task.file_bytes, task.mtime_ns)
    if not keep_info and isinstance(record, ProductRecord):
        record.findings = [f for f in record.findings if f.severity != Severity.INFO]
    return record


def _process(task: FileTask) -> FileResult:
    source = task.source or task.path  # a link's target when the walk followed a link
    headers = read_headers(source, follow_links=False)
    file_name = task.path.rpartition("/")[2]  # Path(...).name of a file path, unparsed
    facts = ex.collection_facts(headers)
    provisional = check_name(file_name)
    collection, source = resolve_collection(task, facts.hlspid, provisional)
    if collection is None:
        return FileFailure(
            task.path,
            NO_COLLECTION.code,
            NO_COLLECTION(
                "No --collection, no HLSPID keyword, no hlsp_<proj-id> file name and "
                "no collection directory"
            ).message,
            task.file_bytes,
            task.mtime_ns,
        )
    # The collection changes only the proj-id field's verdict: no second check when the name
    # is no HLSP name or its proj-id is the collection's id.
    same = (
        not provisional.is_hlsp_name
        or source == "file name"
        or (provisional.proj_id or "").lower() == collection
    )
    name = provisional if same else check_name(file_name, collection)
    classification = classify(headers, name.product_type)
    findings: list[Finding] = list(name.findings)
    findings += check_headers(
        headers, classification, name_version=name.version, name_proj_id=name.proj_id
    )
    record = ProductRecord(
        path=task.path,
        file_name=file_name,
        file_bytes=task.file_bytes,
        mtime_ns=task.mtime_ns,
        file_format=file_format(task.path),
        collection=collection,
        collection_source=source,
        hdu_count=len(headers),
        facts=facts,
        name_proj_id=name.proj_id,
        name_version=name.version,
        kind=str(classification.kind),
        dataproduct_type=classification.dataproduct_type,
        simulated=classification.simulated,
        product_type=name.product_type,
    )
    dropped = fill(record, headers, name, source)
    if dropped:  # values left out as implausible: unless the rules said so already
        known = {(f.code, f.keyword) for f in findings}
        findings += [f for f in dropped if (f.code, f.keyword) not in known]
    record.findings = findings
    record.verdict = verdict_of(findings)
    return record


def fill(
    record: ProductRecord, headers: list[Header], name: NameCheck, source: str | None = None
) -> list[Finding]:
    """Set every extracted value of the record from the headers and the parsed name
    (``source``: the file the headers came from, when not ``record.path``). Returns a
    finding for each value left out as implausible (see :mod:`catalog.harvest.plausible`)."""
    source = source or record.path
    dropped: ex.Dropped = []
    record.product_version = ex.first_text(headers, "HLSPVER", "HLSP_VER") or name.version
    record.observatory = ex.canonical(
        ex.first_text(headers, "OBSERVAT", "MISSION", "TELESCOP") or name.observatory
    )
    record.telescope = ex.first_text(headers, "TELESCOP")
    record.instrument = ex.canonical(ex.first_text(headers, "INSTRUME") or name.instrument)
    record.detector = ex.first_text(headers, "DETECTOR")
    filters = ex.filters_of(headers, name.opt_elem)
    raw_filter = ex.first_text(headers, "FILTER")
    record.filter_name = ex.canonical(raw_filter or ";".join(filters) or None)
    record.aperture = ex.first_text(headers, "APERTURE")
    record.disperser = ex.first_text(headers, "DISPRSR", "DISPERSR", "GRATING")
    if record.disperser is None and record.kind == "spectrum":
        record.disperser = ex.first_text(headers, "OPT_ELEM")

    position = ex.position_of(headers)
    if record.kind in {"image", "cube"}:
        found = ex.footprint_of(headers)
        if found is not None:
            corners, image = found
            record.s_fov = ex.field_of_view(corners)
            # A footprint is a small convex quadrilateral; a field that wraps a pole or spans
            # a hemisphere keeps its position and field of view but no polygon.
            if (
                record.s_fov is not None
                and record.s_fov < 90
                and all(abs(dec) < 89.9999 for _, dec in corners)
            ):
                record.footprint = corners
            record.s_xel1 = int(number(image.get("NAXIS1")) or 0) or None
            record.s_xel2 = int(number(image.get("NAXIS2")) or 0) or None
            if position is None:
                position = ex.centre(corners)
    if position is not None:
        record.ra, record.dec = position

    record.t_min, record.t_max, record.time_scale = ex.time_of(headers, dropped)
    record.t_exptime = ex.exposure_of(headers, dropped)
    record.em_min, record.em_max, record.em_xel = ex.wavelength_of(
        headers, record.observatory, record.instrument, filters
    )
    if record.em_min is None and record.kind == "spectrum":
        record.em_min, record.em_max, record.em_xel = table_wavelengths(source, headers)
    record.targets = ex.targets_of(headers, name.target, position, record.observatory)
    record.target_name = record.targets[0].name if record.targets else name.target
    record.inputs = ex.inputs_of(headers) + provenance_rows(source, headers, dropped)
    record.software = ex.software_of(headers, record.instrument)
    record.headers = ex.headers_json(headers)
    return implausible(dropped) if dropped else []


def implausible(dropped: ex.Dropped) -> list[Finding]:
    """One finding (HLSP-K015) per keyword whose values extraction left out."""
    findings: list[Finding] = []
    seen: set[str] = set()
    for keyword, value, what in dropped:
        if keyword not in seen:
            seen.add(keyword)
            findings.append(
                OUT_OF_RANGE(
                    f"{keyword} = {value} is not {what}: the catalog leaves it out", keyword=keyword
                )
            )
    return findings


def table_wavelengths(
    path: str, headers: list[Header]
) -> tuple[float | None, float | None, int | None]:
    """Wavelength range (m) and sample count of a spectrum stored as a table."""
    for header in headers:
        if header.kind != "BINTABLE":
            continue
        names = {
            str(header.get(f"TTYPE{n}") or "").strip().upper(): n
            for n in range(1, int(number(header.get("TFIELDS")) or 0) + 1)
        }
        column = next((c for c in ex.WAVE_COLUMNS if c in names), None)
        if column is None:
            continue
        values = read_columns(path, header, [column], follow_links=False).get(column, [])
        found = finite_range(values)
        scale = length_unit(header.get(f"TUNIT{names[column]}"), default=1e-10)
        if found is not None and scale is not None:
            return found[0] * scale, found[1] * scale, len(values)
    return None, None, None


def provenance_rows(
    path: str, headers: list[Header], dropped: ex.Dropped | None = None
) -> list[InputRef]:
    """The rows of a PROVENANCE extension: one input file per row (implausible times left
    out, noted in ``dropped``)."""
    for header in headers:
        if (header.extname or "").upper() != "PROVENANCE":
            continue
        columns = read_columns(
            path,
            header,
            ["FILENAME", "PROPOSID", "TELESCOPE", "INSTRUMENT", "MJD_BEG", "MJD_END"],
            follow_links=False,
        )
        names = columns.get("FILENAME", [])
        inputs = []
        for row, name in enumerate(names):
            if not isinstance(name, str) or not name.strip():
                continue
            program = _cell(columns, "PROPOSID", row)
            inputs.append(
                InputRef(
                    "file",
                    name.strip(),
                    f"PROVENANCE[{row + 1}].FILENAME",
                    program_id=str(program).strip() or None if program is not None else None,
                    telescope=_text_cell(_cell(columns, "TELESCOPE", row)),
                    instrument=_text_cell(_cell(columns, "INSTRUMENT", row)),
                    t_min=_time_cell(columns, "MJD_BEG", row, dropped),
                    t_max=_time_cell(columns, "MJD_END", row, dropped),
                )
            )
        return inputs
    return []


def _cell(columns: dict[str, list[TableValue]], column: str, row: int) -> TableValue:
    values = columns.get(column, [])
    return values[row] if row < len(values) else None


def _text_cell(value: TableValue) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _time_cell(
    columns: dict[str, list[TableValue]], column: str, row: int, dropped: ex.Dropped | None
) -> float | None:
    value = _cell(columns, column, row)
    mjd = number(value) if isinstance(value, int | float) else None
    if mjd is None or is_mjd(mjd):
        return mjd
    if dropped is not None:
        dropped.append((f"PROVENANCE {column}", str(value), TIME_RANGE))
    return None


# -- on a pool ---------------------------------------------------------------------------------

GC_THRESHOLD = 100_000
"""Allocations between young-generation collections while harvesting (Python's default: 700).
Records are acyclic and freed by reference counting; frequent collections that walk every
live object (the known-file map, the records in flight) cost ~20 % of the loading process."""


def start_reader() -> None:
    """A forked pool worker's start: Ctrl-C is the harvesting process's to handle, and what
    the fork inherited is never collected."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
