"""The DataLink rows of products: what each one links to, from the catalog's relations.

For the found files of a ``{links}`` request, :func:`load_related` reads every relation of
all of them together — one statement per relation (collections, companion files, products
of the same observation, provenance inputs, footprints and wavelength ranges), then one
look-up of the related files through ``hlsp.deliverable_files`` (so a file the caller may
not have is never linked) — and :func:`links_of` turns one product and those relations into
its rows, in the IVOA ``datalink/core`` vocabulary:

- ``#this``: the file itself, typed and sized, qualified by its product type (``#image``...);
- ``#preview``, ``#thumbnail``: PNGs drawn (or the collection's own graphic) by this server;
- ``#auxiliary``: the collection's README(s), files beside the product (same stem as its
  ``obs_id``), and the other products of the same observation (``.fits`` and ``.fits.gz``);
- ``#documentation``: the collection's landing page, DOI and reference paper (ADS);
- ``#progenitor``: each provenance input — a product of this catalog by its file here, an
  HST/JWST/TESS file by its MAST download URL, a program by its STScI page, anything else by
  a MAST search for its identifier;
- ``#cutout``: images, cubes and spectra, a SODA service descriptor in the same document
  (:func:`cutout_inputs` declares its inputs).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import sqlalchemy as sa

from catalog.delivery.descriptor import InputParam
from catalog.delivery.lookup import Deliverables, StoredFile, parse_key
from catalog.delivery.urls import file_url, preview_url, thumbnail_url

MAX_RELATED = 50  # companions and same-observation products linked per product
MAX_INPUTS = 200  # provenance inputs linked per product
ROWS_PER_STATEMENT = 20_000  # a relation's statement answers at most this many rows

PRODUCT_TYPES = frozenset(
    {"image", "cube", "spectrum", "sed", "timeseries", "visibility", "event", "measurements"}
)
SPATIAL = frozenset({"image", "cube"})
SPECTRAL = frozenset({"cube", "spectrum"})

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
_COMPANIONS = sa.text(
    "SELECT c.hlsp_id, f.file_name, f.collection_id, f.stem, f.role "
    "FROM hlsp.companion_file f JOIN hlsp.collection c USING (collection_id) "
    "WHERE f.collection_id = ANY(:ids) AND (f.role = 'readme' OR (f.collection_id, f.stem) IN "
    "(SELECT w.cid, w.stem FROM unnest(CAST(:cids AS integer[]), CAST(:stems AS text[])) "
    "AS w(cid, stem))) ORDER BY f.collection_id, f.file_name LIMIT :limit"
)
# (the pairs are matched in Python: obs_id's index, no join with an unnest of pairs)
_SIBLINGS = sa.text(
    "SELECT c.hlsp_id, p.file_name, p.collection_id, p.obs_id FROM hlsp.product p "
    "JOIN hlsp.collection c ON c.collection_id = p.collection_id "
    "WHERE p.obs_id = ANY(:obs) AND p.collection_id = ANY(:cids) AND p.withdrawn_at IS NULL "
    "ORDER BY p.collection_id, p.obs_id, p.file_name LIMIT :limit"
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


def load_related(engine: sa.Engine, found: Iterable[StoredFile]) -> Related:
    """The relations of the found products (companion files are linked to themselves only)."""
    products = [f for f in found if f.kind == "product" and f.product_id is not None]
    related = Related()
    if not products:
        return related
    with engine.connect() as conn:
        _read_documents(conn, products, related)
        places = _read_neighbours(conn, products)
        inputs_here = _read_inputs(conn, products, related)
        cut = [p.product_id for p in products if offers_cutout(p.dataproduct_type)]
        if cut:
            for row in conn.execute(_SHAPES, {"ids": cut}).mappings():
                related.shapes[row["product_id"]] = _shape(row)
        conn.rollback()
    wanted = set(places) | inputs_here
    related.files = Deliverables(engine).find(wanted) if wanted else {}
    for key, (relation, cid, stem) in places.items():
        file = related.files.get(key)
        if file is None:
            continue
        if relation == "readme":
            related.readmes.setdefault(cid, []).append(file)
        else:
            group = related.beside if relation == "beside" else related.siblings
            group.setdefault((cid, stem), []).append(file)
    return related


def _read_documents(conn: sa.Connection, products: list[StoredFile], related: Related) -> None:
    ids = sorted({p.collection_id for p in products if p.collection_id is not None})
    for row in conn.execute(_DOCUMENTS, {"ids": ids}).mappings():
        related.documents[row["collection_id"]] = Documents(
            row["hlsp_id"], row["title"], row["doi"], row["landing_url"], row["reference_paper"]
        )


def _read_neighbours(
    conn: sa.Connection, products: list[StoredFile]
) -> dict[str, tuple[str, int, str]]:
    """key -> (relation, collection, obs_id) of the READMEs, the files beside the products
    and the products of the same observations."""
    observations = sorted({(p.collection_id, p.obs_id) for p in products if p.collection_id})
    cids = [c for c, _ in observations]
    stems = [o for _, o in observations]
    places: dict[str, tuple[str, int, str]] = {}
    rows = conn.execute(
        _COMPANIONS,
        {"ids": sorted(set(cids)), "cids": cids, "stems": stems, "limit": ROWS_PER_STATEMENT},
    )
    for hlsp_id, name, cid, stem, role in rows:
        places[f"{hlsp_id}/{name}"] = ("readme" if role == "readme" else "beside", cid, stem)
    wanted = set(observations)
    params = {"cids": sorted(set(cids)), "obs": sorted(set(stems)), "limit": ROWS_PER_STATEMENT}
    for hlsp_id, name, cid, obs in conn.execute(_SIBLINGS, params):
        if (cid, obs) in wanted:
            places.setdefault(f"{hlsp_id}/{name}", ("sibling", cid, obs))
    return places


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


# -- the SODA descriptor's inputs -----------------------------------------------------------


def _numbers(values: Sequence[float]) -> str:
    return " ".join(f"{v:.10g}" for v in values)


def offers_cutout(dataproduct_type: str | None) -> bool:
    return dataproduct_type in SPATIAL | SPECTRAL


def cutout_inputs(did: str, dataproduct_type: str | None, shape: Shape | None) -> list[InputParam]:
    """The SODA 1.0 inputs of a product's ``#cutout`` descriptor (§3.3): ID bound to its DID;
    POS, CIRCLE, POLYGON for images and cubes, BAND for cubes and spectra, with ``VALUES``
    from its footprint and wavelength range where known. Empty: no cutout."""
    if not offers_cutout(dataproduct_type):
        return []
    shape = shape or Shape()
    params = [InputParam("ID", ucd="meta.id;meta.dataset", value=did)]
    if dataproduct_type in SPATIAL:
        circle = _numbers(shape.circle) if shape.circle else None
        outline = _numbers([c for v in shape.footprint for c in v]) if shape.footprint else None
        params += [
            InputParam(
                "POS",
                ucd="pos.outline;obs",
                description="Region to cut out: CIRCLE ra dec radius, RANGE ra1 ra2 dec1 dec2 "
                "or POLYGON ra1 dec1 ... (ICRS degrees)",
            ),
            InputParam(
                "CIRCLE",
                datatype="double",
                arraysize="3",
                xtype="circle",
                unit="deg",
                ucd="phys.angArea;obs",
                description="A circle to cut out (ra dec radius, ICRS degrees)",
                maximum=circle,
            ),
            InputParam(
                "POLYGON",
                datatype="double",
                arraysize="*",
                xtype="polygon",
                unit="deg",
                ucd="pos.outline;obs",
                description="A polygon to cut out (ra dec pairs, ICRS degrees)",
                maximum=outline,
            ),
        ]
    if dataproduct_type in SPECTRAL:
        low, high = shape.wavelengths or (None, None)
        params.append(
            InputParam(
                "BAND",
                datatype="double",
                arraysize="2",
                xtype="interval",
                unit="m",
                ucd="em.wl;stat.interval",
                description="Wavelength interval to extract (m; -Inf or +Inf for an open end)",
                minimum=None if low is None else f"{low:.10g}",
                maximum=None if high is None else f"{high:.10g}",
            )
        )
    return params
