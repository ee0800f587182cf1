"""The DataLink rows of products: what each one links to, from the catalog's relations.

For the found files of a ``{links}`` request, :func:`load_related` reads every relation of
all of them together — one statement per relation (collections, provenance inputs,
footprints and wavelength ranges), then the related files through the delivery look-up
(:meth:`~catalog.delivery.lookup.Deliverables.neighbours`: READMEs, files beside, products
of the same observation, inputs that are files here; so a file the caller may not have is
never linked) — and :func:`links_of` turns one product and those relations into its rows,
in the IVOA ``datalink/core`` vocabulary:

- ``#this``: the file itself, typed and sized, qualified by its product type (``#image``...);
- ``#preview``, ``#thumbnail``: PNGs drawn (or the collection's own graphic) by this server;
- ``#auxiliary``: the collection's README(s), files beside the product (same stem as its
  ``obs_id``), and the other products of the same observation (``.fits`` and ``.fits.gz``);
- ``#documentation``: the collection's landing page, DOI and reference paper (ADS);
- ``#progenitor``: each provenance input — a product of this catalog by its file here, an
  HST/JWST/TESS file by its MAST download URL, a program by its STScI page, anything else by
  a MAST search for its identifier;
- ``#cutout``: images, cubes and spectra, a SODA service descriptor in the same document
  (:func:`catalog.delivery.soda.descriptor.inputs` declares its inputs).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import sqlalchemy as sa

from catalog.delivery.lookup import Deliverables, StoredFile, parse_key
from catalog.delivery.soda.descriptor import offers_cutout
from catalog.delivery.urls import file_url, preview_url, thumbnail_url

MAX_RELATED = 50  # companions and same-observation products linked per product
MAX_INPUTS = 200  # provenance inputs linked per product
ROWS_PER_STATEMENT = 20_000  # a relation's statement answers at most this many rows

PRODUCT_TYPES = frozenset(
    {"image", "cube", "spectrum", "sed", "timeseries", "visibility", "event", "measurements"}
)

MAST_SEARCH = "https://mast.stsci.edu/portal/Mashup/Clients/Mast/Portal.html"
MAST_DOWNLOAD = "https://mast.stsci.edu/api/v0.1/Download/file"
HST_PROPOSAL = "https://www.stsci.edu/cgi-bin/get-proposal-info"
JWST_PROGRAM = "https://www.stsci.edu/jwst/science-execution/program-information"
ADS_ABSTRACT = "https://ui.adsabs.harvard.edu/abs/"
DOI_RESOLVER = "https://doi.org/"

# File names MAST serves under mast:<mission>/product/<name>: HST (9-character dataset
# rootname, a suffix), JWST (jw + program...), TESS (tess...).
_HST_FILE = re.compile(r"[a-z0-9]{9}_[a-z0-9]+\.fits(\.gz)?", re.IGNORECASE)
_JWST_FILE = re.compile(r"jw\d{5}[a-z0-9_-]*\.fits(\.gz)?", re.IGNORECASE)
_TESS_FILE = re.compile(r"tess[a-z0-9_-]+\.fits(\.gz)?", re.IGNORECASE)
_BIBCODE = re.compile(r"\d{4}[A-Za-z&.]{5}[A-Za-z0-9.]{4}[A-Za-z.][0-9.]{4}[A-Z]")
_PROGRAM = re.compile(r"\d{1,6}")


@dataclass(frozen=True)
class Link:
    """One row of a ``{links}`` table (DataLink 1.1 §3.2), in the order of its FIELDs."""

    id: str
    access_url: str | None = None
    service_def: str | None = None
    error_message: str | None = None
    semantics: str = "#this"
    description: str | None = None
    content_type: str | None = None
    content_length: int | None = None
    content_qualifier: str | None = None
    local_semantics: str | None = None
    link_auth: str | None = None
    link_authorized: bool | None = None


@dataclass(frozen=True)
class Documents:
    """A collection's pages: title, DOI, landing page, reference paper."""

    hlsp_id: str
    title: str | None
    doi: str | None
    landing_url: str | None
    reference_paper: str | None


@dataclass(frozen=True)
class Input:
    """One provenance input of a product."""

    kind: str
    identifier: str
    telescope: str | None
    instrument: str | None
    program_id: str | None


@dataclass(frozen=True)
class Shape:
    """Where a product's data are: footprint vertices and covering circle (ICRS degrees),
    wavelength range (m); None where unknown."""

    did: str | None = None
    footprint: tuple[tuple[float, float], ...] | None = None
    circle: tuple[float, float, float] | None = None
    wavelengths: tuple[float, float] | None = None


@dataclass
class Related:
    """Everything the products of one request link to besides themselves."""

    documents: dict[int, Documents] = field(default_factory=dict)
    readmes: dict[int, list[StoredFile]] = field(default_factory=dict)
    beside: dict[tuple[int, str], list[StoredFile]] = field(default_factory=dict)
    siblings: dict[tuple[int, str], list[StoredFile]] = field(default_factory=dict)
    inputs: dict[int, list[Input]] = field(default_factory=dict)
    shapes: dict[int, Shape] = field(default_factory=dict)
    files: dict[str, StoredFile] = field(default_factory=dict)  # deliverable related files


# -- reading the relations -------------------------------------------------------------------

_DOCUMENTS = sa.text(
    "SELECT collection_id, hlsp_id, title, doi, landing_url, reference_paper "
    "FROM hlsp.collection WHERE collection_id = ANY(:ids)"
)
_INPUTS = sa.text(
    "SELECT product_id, kind, identifier, telescope, instrument, program_id "
    "FROM hlsp.provenance_input WHERE product_id = ANY(:ids) "
    "ORDER BY product_id, input_index LIMIT :limit"
)
# ObsCore's own DID (the authority the database publishes), region and wavelengths
_SHAPES = sa.text(
    "SELECT product_id, obs_publisher_did, s_region AS outline, "
    "degrees(long(center(footprint_bound))) AS ra, degrees(lat(center(footprint_bound))) AS dec, "
    "degrees(radius(footprint_bound)) AS radius, em_min, em_max "
    "FROM ivoa.obscore WHERE product_id = ANY(:ids)"
)


def load_related(
    engine: sa.Engine, found: Iterable[StoredFile], conn: sa.Connection | None = None
) -> Related:
    """The relations of the found products (companion files are linked to themselves only),
    read in ``conn``'s transaction (a connection of its own when None)."""
    if conn is None:
        with engine.connect() as own:
            related = load_related(engine, found, own)
            own.rollback()
        return related
    products = [f for f in found if f.kind == "product" and f.product_id is not None]
    related = Related()
    if not products:
        return related
    _read_documents(conn, products, related)
    inputs_here = _read_inputs(conn, products, related)
    cut = [p.product_id for p in products if offers_cutout(p.dataproduct_type)]
    if cut:
        for row in conn.execute(_SHAPES, {"ids": cut}).mappings():
            related.shapes[row["product_id"]] = _shape(row)
    observations = {(p.collection_id, p.obs_id) for p in products if p.collection_id}
    neighbours, related.files = Deliverables(engine).neighbours(observations, inputs_here, conn)
    for n in neighbours:
        if n.relation == "readme":
            related.readmes.setdefault(n.collection_id, []).append(n.file)
        else:
            group = related.beside if n.relation == "beside" else related.siblings
            group.setdefault((n.collection_id, n.obs_id), []).append(n.file)
    return related


def _read_documents(conn: sa.Connection, products: list[StoredFile], related: Related) -> None:
    ids = sorted({p.collection_id for p in products if p.collection_id is not None})
    for row in conn.execute(_DOCUMENTS, {"ids": ids}).mappings():
        related.documents[row["collection_id"]] = Documents(
            row["hlsp_id"], row["title"], row["doi"], row["landing_url"], row["reference_paper"]
        )


def _read_inputs(conn: sa.Connection, products: list[StoredFile], related: Related) -> set[str]:
    """The provenance inputs of the products; the keys they would have as files here."""
    by_product = {p.product_id: p for p in products if p.product_id is not None}
    here: set[str] = set()
    rows = conn.execute(_INPUTS, {"ids": sorted(by_product), "limit": ROWS_PER_STATEMENT})
    for pid, kind, identifier, telescope, instrument, program in rows:
        inputs = related.inputs.setdefault(pid, [])
        if len(inputs) >= MAX_INPUTS:
            continue
        inputs.append(Input(kind, identifier, telescope, instrument, program))
        key = _own_key(by_product[pid].hlsp_id, kind, identifier)
        if key is not None:
            here.add(key)
    return here


def _own_key(hlsp_id: str, kind: str, identifier: str) -> str | None:
    """The catalog key a file or product input would have in the product's collection."""
    if kind not in ("file", "product"):
        return None
    return parse_key(f"{hlsp_id}/{identifier.strip()}")


def _finite(*values: object) -> bool:
    return all(isinstance(v, float | int) and math.isfinite(v) for v in values)


def _shape(row: sa.RowMapping) -> Shape:
    footprint = None
    outline = row["outline"]
    if outline:
        try:
            numbers = [float(t) for t in str(outline).split()[2:]]
        except ValueError:
            numbers = []
        if numbers and len(numbers) % 2 == 0 and _finite(*numbers):
            footprint = tuple(zip(numbers[0::2], numbers[1::2], strict=True))
    circle = None
    if _finite(row["ra"], row["dec"], row["radius"]):
        circle = (float(row["ra"]), float(row["dec"]), float(row["radius"]))
    wavelengths = None
    if _finite(row["em_min"], row["em_max"]):
        wavelengths = (float(row["em_min"]), float(row["em_max"]))
    did = row["obs_publisher_did"]
    return Shape(str(did) if did else None, footprint, circle, wavelengths)


# -- the rows of one product ----------------------------------------------------------------


def qualifier(dataproduct_type: str | None) -> str | None:
    """The IVOA product-type term of an ObsCore ``dataproduct_type`` (DataLink 1.1 §3.2.9)."""
    return f"#{dataproduct_type}" if dataproduct_type in PRODUCT_TYPES else None


def _file_link(
    id_: str, base: str, file: StoredFile, semantics: str, *, description: str, local: str
) -> Link:
    return Link(
        id_,
        access_url=file_url(base, file.hlsp_id, file.file_name),
        semantics=semantics,
        description=description,
        content_type=file.media_type,
        content_length=file.size,
        content_qualifier=qualifier(file.dataproduct_type) if file.kind == "product" else None,
        local_semantics=local,
        link_auth="false",
        link_authorized=True,
    )


def _external(id_: str, url: str, semantics: str, description: str, local: str) -> Link:
    return Link(
        id_,
        access_url=url,
        semantics=semantics,
        description=description,
        local_semantics=local,
        content_type="text/html" if semantics == "#documentation" else None,
    )


def links_of(
    id_: str, file: StoredFile, related: Related, base: str, cutout_ref: str | None
) -> list[Link]:
    """The rows of one found file; ``cutout_ref`` the ID of its SODA descriptor, if any."""
    rows = [
        _file_link(id_, base, file, "#this", description=f"The file {file.file_name}", local="file")
    ]
    if file.kind != "product":
        return rows
    name, hlsp = file.file_name, file.hlsp_id
    rows.append(
        Link(
            id_,
            access_url=preview_url(base, hlsp, name),
            semantics="#preview",
            description=f"A preview (PNG) of {name}",
            content_type="image/png",
            local_semantics="preview",
            link_auth="false",
            link_authorized=True,
        )
    )
    rows.append(
        Link(
            id_,
            access_url=thumbnail_url(base, hlsp, name),
            semantics="#thumbnail",
            description=f"A thumbnail (PNG) of {name}",
            content_type="image/png",
            local_semantics="thumbnail",
            link_auth="false",
            link_authorized=True,
        )
    )
    cid = file.collection_id or -1
    for readme in related.readmes.get(cid, [])[:MAX_RELATED]:
        rows.append(
            _file_link(
                id_,
                base,
                readme,
                "#auxiliary",
                description=f"README of the collection {hlsp}",
                local="readme",
            )
        )
    for other in related.beside.get((cid, file.obs_id), [])[:MAX_RELATED]:
        local = "graphic" if other.role == "graphic" else "companion"
        rows.append(
            _file_link(
                id_,
                base,
                other,
                "#auxiliary",
                description=f"{other.file_name}, beside it",
                local=local,
            )
        )
    siblings = [s for s in related.siblings.get((cid, file.obs_id), []) if s.key != file.key]
    for sibling in siblings[:MAX_RELATED]:
        rows.append(
            _file_link(
                id_,
                base,
                sibling,
                "#auxiliary",
                description=f"{sibling.file_name}, a product of the same observation",
                local="sibling",
            )
        )
    rows.extend(_documentation(id_, related.documents.get(cid)))
    rows.extend(_progenitors(id_, file, related, base))
    if cutout_ref is not None:
        rows.append(
            Link(
                id_,
                service_def=cutout_ref,
                semantics="#cutout",
                description=f"Cut out a region or a wavelength range of {name} (SODA)",
                content_type="application/fits",
                local_semantics="cutout",
                link_auth="false",
                link_authorized=True,
            )
        )
    return rows


def _documentation(id_: str, docs: Documents | None) -> list[Link]:
    if docs is None:
        return []
    rows = []
    about = docs.title or docs.hlsp_id
    if docs.landing_url and docs.landing_url.startswith(("https://", "http://")):
        rows.append(
            _external(
                id_, docs.landing_url, "#documentation", f"Landing page of {about}", "landing"
            )
        )
    if docs.doi:
        doi = docs.doi.strip().removeprefix("doi:").removeprefix(DOI_RESOLVER)
        url = DOI_RESOLVER + quote(doi, safe="/:;()._-")
        rows.append(_external(id_, url, "#documentation", f"DOI of {about}: {doi}", "doi"))
    paper = paper_url(docs.reference_paper)
    if paper is not None:
        rows.append(_external(id_, paper, "#documentation", "Reference paper", "paper"))
    return rows


def paper_url(reference: str | None) -> str | None:
    """A reference paper's URL: itself when it is one, else its ADS page when it is (or
    contains) a bibcode; None otherwise."""
    if not reference:
        return None
    text = reference.strip()
    if text.startswith(("https://", "http://")) and " " not in text:
        return text
    match = _BIBCODE.search(text)
    return ADS_ABSTRACT + quote(match.group(0), safe="") if match else None


def _progenitors(id_: str, file: StoredFile, related: Related, base: str) -> list[Link]:
    rows = []
    for item in related.inputs.get(file.product_id or -1, []):
        own_key = _own_key(file.hlsp_id, item.kind, item.identifier)
        own = related.files.get(own_key) if own_key else None
        if own is not None:
            what = f"Input {own.file_name}, in this catalog"
            rows.append(
                _file_link(id_, base, own, "#progenitor", description=what, local=item.kind)
            )
            continue
        url, what = archive_url(item)
        rows.append(_external(id_, url, "#progenitor", what, item.kind))
    return rows


def archive_url(item: Input) -> tuple[str, str]:
    """Where an input lives outside this catalog, and a description of the link."""
    ident = item.identifier.strip()
    telescope = (item.telescope or "").upper()
    if item.kind == "file":
        mission = None
        if _JWST_FILE.fullmatch(ident):
            mission = "JWST"
        elif _TESS_FILE.fullmatch(ident):
            mission = "TESS"
        elif _HST_FILE.fullmatch(ident) and telescope in ("", "HST"):
            mission = "HST"
        if mission is not None:
            uri = f"mast:{mission}/product/{ident.lower()}"
            return f"{MAST_DOWNLOAD}?{urlencode({'uri': uri})}", f"Input file {ident} (MAST)"
    if item.kind == "program" and _PROGRAM.fullmatch(ident):
        if telescope == "JWST":
            return f"{JWST_PROGRAM}?{urlencode({'id': ident})}", f"JWST program {ident}"
        if telescope in ("", "HST"):
            query = urlencode({"id": ident, "observatory": "HST"})
            return f"{HST_PROPOSAL}?{query}", f"Program {ident} (STScI)"
    return (
        f"{MAST_SEARCH}?{urlencode({'searchQuery': ident})}",
        f"Input {item.kind} {ident} (MAST search)",
    )
