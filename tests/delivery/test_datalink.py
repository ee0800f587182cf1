"""DataLink {links} from the running server, as pyvo, TOPCAT (STILTS) and scripts use it:
every product's links checked against the catalog, the standard's table, hostile requests."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import numpy as np
import pytest
import pyvo
import sqlalchemy as sa
from astropy.io import fits
from astropy.io.votable import parse as votable_parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.delivery.datalink import COLUMNS, DATALINK, MAX_IDS
from catalog.delivery.urls import datalink_endpoint, file_url, preview_url, thumbnail_url
from catalog.harvest.run import HarvestOptions, harvest
from tests.support.delivery import Site
from tests.support.vocabularies import datalink_terms

STILTS = shutil.which("stilts")
needs_stilts = pytest.mark.skipif(
    STILTS is None,
    reason="STILTS is not installed (apt-get install stilts; ./run setup installs it)",
)


@dataclass(frozen=True)
class Product:
    did: str
    hlsp_id: str
    file_name: str
    path: str
    obs_id: str
    dataproduct_type: str | None
    media_type: str
    size: int
    product_id: int
    collection_id: int


@dataclass(frozen=True)
class Links:
    """A parsed {links} response: its rows (dicts by FIELD name) and the document."""

    rows: list[dict[str, object]]
    text: str
    status: str
    resources: dict[str, dict[str, str]]  # descriptor ID -> its PARAM values by name


@pytest.fixture(scope="module")
def extras(site: Site) -> tuple[str, str]:
    """Beside an image of the corpus, what collections ship and the generator does not: its
    gzipped copy (a product of the same observation, whose FILEID names the image: an input
    that is a product here), a text file and a PNG of the same stem; harvested again."""
    hlsp, name, path = _rows(
        site,
        "SELECT c.hlsp_id, p.file_name, p.file_path FROM hlsp.product p JOIN hlsp.collection c "
        "USING (collection_id) WHERE p.dataproduct_type = 'image' AND p.file_name LIKE '%.fits' "
        "ORDER BY p.file_name LIMIT 1",
    )[0]
    source = Path(str(path))
    with fits.open(source) as hdus:
        hdus[0].header["FILEID09"] = str(name)
        hdus.writeto(source.with_name(f"{name}.gz"))
    stem = str(name).removesuffix(".fits")
    source.with_name(f"{stem}.txt").write_text("Notes on the image.\n")
    source.with_name(f"{stem}.png").write_bytes(_PNG)
    harvest(site.db, HarvestOptions(paths=[site.root], jobs=1, progress=False))
    return str(hlsp), str(name)


# the smallest valid PNG: one transparent pixel
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture(scope="module")
def products(site: Site, extras: tuple[str, str]) -> list[Product]:
    with site.db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT o.obs_publisher_did, c.hlsp_id, p.file_name, p.file_path, p.obs_id, "
                "p.dataproduct_type, p.file_format, p.file_bytes, p.product_id, "
                "p.collection_id FROM hlsp.product p JOIN hlsp.collection c USING "
                "(collection_id) JOIN ivoa.obscore o ON o.product_id = p.product_id "
                "ORDER BY c.hlsp_id, p.file_name"
            )
        ).all()
    assert len(rows) > 40
    return [Product(*row) for row in rows]


def _value(cell: object) -> object:
    """A cell as Python: None for a null (astropy reads an empty char cell as '')."""
    if cell is np.ma.masked or cell == "":
        return None
    if isinstance(cell, bytes):
        return cell.decode()
    if isinstance(cell, np.generic):
        return cell.item()
    return cell


def parse_links(content: bytes) -> Links:
    """The rows, status and descriptors of a {links} document (checked by astropy)."""
    votable = votable_parse(BytesIO(content), verify="exception")
    resource = votable.resources[0]
    assert resource.type == "results"
    table = resource.tables[0].to_table()
    rows = [{name: _value(row[name]) for name in table.colnames} for row in table]
    status = [info.value for info in resource.infos if info.name == "QUERY_STATUS"]
    resources = {
        str(r.ID): {
            p.name: str(p.value) for p in [*r.params, *(e for g in r.groups for e in g.entries)]
        }
        for r in votable.resources[1:]
        if r.type == "meta"
    }
    return Links(rows, content.decode(), status[-1] if status else "", resources)


def links_of(site: Site, ids: list[str], **params: str) -> Links:
    response = httpx.post(datalink_endpoint(site.base), data={"ID": ids, **params}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == DATALINK
    return parse_links(response.content)


def by_id(links: Links) -> dict[str, list[dict[str, object]]]:
    grouped: dict[str, list[dict[str, object]]] = {}
    for row in links.rows:
        grouped.setdefault(str(row["ID"]), []).append(row)
    return grouped


def _rows(db_site: Site, sql: str) -> list[Any]:
    with db_site.db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql))]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the table ------------------------------------------------------------------------------


def test_the_table_has_the_datalink_fields_in_order(site: Site, products: list[Product]) -> None:
    response = httpx.get(datalink_endpoint(site.base), params={"ID": products[0].did})
    votable = votable_parse(BytesIO(response.content), verify="exception")
    assert votable.version == "1.4"
    fields = votable.resources[0].tables[0].fields
    assert [(f.name, f.datatype, f.ucd) for f in fields] == [
        (name, datatype, ucd) for name, datatype, _, ucd, _, _ in COLUMNS
    ]
    names = "ID access_url service_def error_message semantics description content_type "
    names += "content_length content_qualifier local_semantics link_auth link_authorized"
    assert [f.name for f in fields] == names.split()
    length = next(f for f in fields if f.name == "content_length")
    assert (length.datatype, str(length.unit)) == ("long", "byte")


# -- every product's links, checked against the catalog ------------------------------------


def test_every_product_has_its_file_preview_and_thumbnail(
    site: Site, products: list[Product]
) -> None:
    links = by_id(links_of(site, [p.did for p in products]))
    assert list(links) == [p.did for p in products]  # grouped, in request order
    for p in products:
        rows = links[p.did]
        this = [r for r in rows if r["semantics"] == "#this"]
        assert len(this) == 1, p.did
        assert this[0]["access_url"] == file_url(site.base, p.hlsp_id, p.file_name)
        assert this[0]["content_length"] == p.size == Path(p.path).stat().st_size
        assert this[0]["content_type"] == p.media_type
        assert this[0]["content_qualifier"] == (
            f"#{p.dataproduct_type}" if p.dataproduct_type else None
        )
        semantics = {str(r["semantics"]): r for r in rows}
        assert semantics["#preview"]["access_url"] == preview_url(site.base, p.hlsp_id, p.file_name)
        assert semantics["#thumbnail"]["access_url"] == thumbnail_url(
            site.base, p.hlsp_id, p.file_name
        )
        assert semantics["#preview"]["content_type"] == "image/png"
        assert {str(r["semantics"]).removeprefix("#") for r in rows} <= datalink_terms()
        for row in rows:  # exactly one of access_url, service_def, error_message
            given = [row[k] for k in ("access_url", "service_def", "error_message") if row[k]]
            assert len(given) == 1, row


def test_documentation_and_readme_of_each_collection(site: Site, products: list[Product]) -> None:
    sql = "SELECT collection_id, landing_url, doi, reference_paper FROM hlsp.collection"
    collections = {row[0]: row[1:] for row in _rows(site, sql)}
    readmes: dict[int, set[str]] = {}
    for cid, hlsp, name in _rows(
        site,
        "SELECT f.collection_id, c.hlsp_id, f.file_name FROM hlsp.companion_file f "
        "JOIN hlsp.collection c USING (collection_id) WHERE f.role = 'readme'",
    ):
        readmes.setdefault(cid, set()).add(file_url(site.base, hlsp, name))
    assert readmes and any(c[0] or c[1] for c in collections.values())
    links = by_id(links_of(site, [p.did for p in products]))
    for p in products:
        landing, doi, _paper = collections[p.collection_id]
        docs = {r["access_url"] for r in links[p.did] if r["semantics"] == "#documentation"}
        if landing:
            assert landing in docs, p.did
        if doi:
            assert f"https://doi.org/{doi}" in docs, p.did
        auxiliary = {r["access_url"] for r in links[p.did] if r["local_semantics"] == "readme"}
        assert auxiliary == readmes.get(p.collection_id, set()), p.did
        assert all(
            r["semantics"] == "#auxiliary" for r in links[p.did] if r["local_semantics"] == "readme"
        )


def test_files_beside_and_products_of_the_same_observation(
    site: Site, products: list[Product]
) -> None:
    beside: dict[tuple[int, str], set[str]] = {}
    for cid, stem, hlsp, name in _rows(
        site,
        "SELECT f.collection_id, f.stem, c.hlsp_id, f.file_name FROM hlsp.companion_file f "
        "JOIN hlsp.collection c USING (collection_id) WHERE f.role <> 'readme'",
    ):
        beside.setdefault((cid, stem), set()).add(file_url(site.base, hlsp, name))
    same: dict[tuple[int, str], set[str]] = {}
    for p in products:
        same.setdefault((p.collection_id, p.obs_id), set()).add(
            file_url(site.base, p.hlsp_id, p.file_name)
        )
    links = by_id(links_of(site, [p.did for p in products]))
    checked = 0
    for p in products:
        rows = links[p.did]
        siblings = {r["access_url"] for r in rows if r["local_semantics"] == "sibling"}
        expected = same[(p.collection_id, p.obs_id)] - {file_url(site.base, p.hlsp_id, p.file_name)}
        assert siblings == expected, p.did
        near = {r["access_url"] for r in rows if r["local_semantics"] in ("companion", "graphic")}
        assert near == beside.get((p.collection_id, p.obs_id), set()), p.did
        checked += bool(siblings) + bool(near)
    assert checked, "the corpus should have products with siblings or companion files"


def test_provenance_inputs_are_progenitors(site: Site, products: list[Product]) -> None:
    inputs: dict[int, list[tuple[str, str]]] = {}
    for pid, kind, identifier in _rows(
        site,
        "SELECT product_id, kind, identifier FROM hlsp.provenance_input "
        "ORDER BY product_id, input_index",
    ):
        inputs.setdefault(pid, []).append((kind, identifier))
    assert sum(map(len, inputs.values())) > 20
    names = {(p.collection_id, p.file_name): p for p in products}
    own = 0
    links = by_id(links_of(site, [p.did for p in products]))
    for p in products:
        rows = [r for r in links[p.did] if r["semantics"] == "#progenitor"]
        expected = inputs.get(p.product_id, [])
        assert [r["local_semantics"] for r in rows] == [kind for kind, _ in expected], p.did
        for row, (kind, identifier) in zip(rows, expected, strict=True):
            url = str(row["access_url"])
            here = names.get((p.collection_id, identifier))
            if here is not None and kind in ("file", "product"):
                assert url == file_url(site.base, p.hlsp_id, identifier)
                own += 1
            else:
                assert url.startswith("https://") and (
                    identifier.lower() in url.lower() or urlencode({"x": identifier})[2:] in url
                ), (identifier, url)
    assert own, "an input that is a product here links to its file here (see extras)"


def test_images_cubes_and_spectra_have_a_cutout_descriptor(
    site: Site, products: list[Product]
) -> None:
    links = links_of(site, [p.did for p in products])
    grouped = by_id(links)
    kinds = {p.dataproduct_type for p in products}
    assert {"image", "cube"} <= kinds
    for p in products:
        cutouts = [r for r in grouped[p.did] if r["semantics"] == "#cutout"]
        if p.dataproduct_type not in ("image", "cube", "spectrum"):
            assert not cutouts, p.did
            continue
        assert len(cutouts) == 1 and cutouts[0]["access_url"] is None, p.did
        descriptor = links.resources[str(cutouts[0]["service_def"])]
        assert descriptor["ID"] == p.did
        assert descriptor["standardID"] == "ivo://ivoa.net/std/SODA#sync-1.0"
        assert descriptor["accessURL"] == site.base + "/soda/sync"
        if p.dataproduct_type in ("image", "cube"):
            assert {"POS", "CIRCLE", "POLYGON"} <= set(descriptor)
        if p.dataproduct_type in ("cube", "spectrum"):
            assert "BAND" in descriptor
    ids = {str(r["service_def"]) for r in links.rows if r["service_def"]}
    assert ids == set(links.resources)  # every descriptor is used, every use has one


# -- clients -----------------------------------------------------------------------------------


def test_pyvo_follows_the_descriptor_of_tap_results(site: Site) -> None:
    service = pyvo.dal.TAPService(site.base + "/tap")
    result = service.search("SELECT TOP 5 * FROM ivoa.obscore ORDER BY obs_id")
    assert len(result) == 5
    paths = {
        f"{h}/{n}": path
        for h, n, path in _rows(
            site,
            "SELECT c.hlsp_id, p.file_name, p.file_path FROM hlsp.product p "
            "JOIN hlsp.collection c USING (collection_id)",
        )
    }
    seen = 0
    for record, datalink in zip(result, result.iter_datalinks(), strict=True):
        did = record["obs_publisher_did"]
        this = list(datalink.bysemantics("#this"))
        assert len(this) == 1 and this[0]["ID"] == did
        data = httpx.get(this[0]["access_url"], timeout=30).content
        assert _sha(data) == _sha(Path(paths[did.partition("?")[2]]).read_bytes())
        assert {"#preview", "#thumbnail"} <= {r["semantics"] for r in datalink}
        seen += 1
    assert seen == 5
    one = result[0].getdatalink()
    assert next(iter(one.bysemantics("#this")))["ID"] == result[0]["obs_publisher_did"]
    url = datalink_endpoint(site.base) + "?" + urlencode({"ID": result[1]["obs_publisher_did"]})
    again = pyvo.dal.adhoc.DatalinkResults.from_result_url(url)
    assert len(list(again.bysemantics("#this"))) == 1


def test_tap_capabilities_declare_the_links_service(site: Site) -> None:
    text = httpx.get(site.base + "/tap/capabilities").text
    capability = re.search(
        r'<capability standardID="ivo://ivoa.net/std/DataLink#links-1.1">(.*?)</capability>', text
    )
    assert capability, text[-2000:]
    assert f">{site.base}/datalink/links</accessURL>" in capability[1]
    assert 'xsi:type="vs:ParamHTTP"' in capability[1]


# A STILTS without the network checks semantics against its built-in list of datalink/core
# terms, older than the vocabulary ('#thumbnail' joined it in 2021, VEP-011)
_UNKNOWN_TERM = re.compile(r"Unknown predicate '([a-z-]+)' from core DataLink vocabulary")


def _datalinklint(url: str) -> tuple[int, int, str]:
    assert STILTS is not None
    run = subprocess.run(
        [STILTS, "datalinklint", "report=EW", f"votable={url}"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    totals = re.search(r"Totals: Errors: (\d+); Warnings: (\d+)", run.stdout)
    assert totals, run.stdout[-3000:] + run.stderr[-2000:]
    return int(totals[1]), int(totals[2]), run.stdout


@needs_stilts
@pytest.mark.slow
def test_datalinklint_finds_no_errors_and_no_warnings(site: Site, products: list[Product]) -> None:
    by_type: dict[str | None, list[Product]] = {}
    for p in products:
        by_type.setdefault(p.dataproduct_type, []).append(p)
    urls = [
        datalink_endpoint(site.base) + "?" + urlencode({"ID": p.did})
        for group in by_type.values()
        for p in group[:2]
    ]
    urls.append(datalink_endpoint(site.base) + "?ID=ivo%3A%2F%2Fx")
    urls.append(datalink_endpoint(site.base) + "?" + urlencode({"ID": products[0].did + "x"}))
    assert len(urls) >= 8
    for url in urls:
        errors, warnings, out = _datalinklint(url)
        problems = [line for line in out.splitlines() if re.match(r"^[EW]-", line)]
        # '#thumbnail' joined datalink/core in 2021 (VEP-011); a STILTS without the network
        # checks against its built-in, older list of terms and reports it, once per link
        terms = [m[1] for p in problems if (m := _UNKNOWN_TERM.search(p))]
        assert set(terms) <= datalink_terms(), terms  # each is a term of the vocabulary
        assert (errors - len(terms), warnings) == (0, 0), (url, problems)


# -- hostile and mixed requests --------------------------------------------------------------


def _error_rows(site: Site, ids: list[str]) -> list[dict[str, object]]:
    links = links_of(site, ids)
    # (astropy reads a blank cell as null)
    expected = [i.replace("\x00", "?").strip() for i in ids]
    assert [r["ID"] or "" for r in links.rows] == expected
    for row in links.rows:
        assert row["access_url"] is None and row["service_def"] is None
    return links.rows


def test_unknown_and_malformed_ids_are_error_rows(site: Site, products: list[Product]) -> None:
    did = products[0].did
    authority = did.partition("?")[0]
    unknown = [did + "x", f"{authority}?nosuch/file.fits", "nosuch/file.fits"]
    for row in _error_rows(site, unknown):
        assert str(row["error_message"]).startswith("NotFoundFault: "), row
    malformed = [
        "ivo://x",
        "a\x00b",
        "x" * 10_000,
        "../../etc/passwd",
        "hlsp_x/../y",
        f"{authority}?{products[0].hlsp_id}/../{products[0].file_name}",
        "",
        " ",
    ]
    for row in _error_rows(site, malformed):
        message = str(row["error_message"])
        assert message.startswith(("UsageFault: ", "NotFoundFault: ")), row
        assert len(message) < 500


def test_mixed_ids_keep_their_order_grouped(site: Site, products: list[Product]) -> None:
    ids = [products[3].did, "nosuch/x.fits", products[1].did, "ivo://x", products[3].did]
    links = links_of(site, ids)
    order: list[str] = []
    for row in links.rows:
        if not order or order[-1] != row["ID"] or len(order) == 0:
            order.append(str(row["ID"]))
    # rows of one ID are together; the same ID twice gives its rows twice, in place
    assert order == ids
    assert sum(1 for r in links.rows if r["semantics"] == "#this" and r["access_url"]) == 3


def _dali_error(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    votable = votable_parse(BytesIO(response.content), verify="exception")
    infos = {i.name: i for i in votable.resources[0].infos}
    assert infos["QUERY_STATUS"].value == "ERROR"
    assert words in str(infos["QUERY_STATUS"].content), response.text


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_requests_it_cannot_answer_are_dali_errors(site: Site, products: list[Product]) -> None:
    url = datalink_endpoint(site.base)
    did = products[0].did
    with httpx.Client(timeout=60) as client:
        _dali_error(client.get(url), 400, "ID is required")
        _dali_error(client.get(url, params={"Maxrec": "3"}), 400, "ID is required")
        many = urlencode([("ID", did)] * (MAX_IDS + 1))
        _dali_error(client.post(url, content=many, headers=FORM), 400, f"at most {MAX_IDS}")
        for maxrec in ("-1", "abc", "1e3", "", "9" * 100, "1.5", "NaN"):
            response = client.get(url, params={"ID": did, "MAXREC": maxrec})
            _dali_error(response, 400, "MAXREC")
        for fmt in ("text/csv", "application/json", "x" * 5000, "votable;\x00"):
            response = client.get(url, params={"ID": did, "RESPONSEFORMAT": fmt})
            _dali_error(response, 400, "RESPONSEFORMAT")
        huge = b"ID=" + b"x" * (1 << 20)
        response = client.post(url, content=huge, headers=FORM)
        assert response.status_code == 413, response.text
        assert "bytes" in response.text
        response = client.post(url, content=b"<xml/>", headers={"Content-Type": "text/xml"})
        assert 400 <= response.status_code < 500, response.text
        response = client.post(url, content=b"ID=" + did.encode())
        assert 400 <= response.status_code < 500, response.text  # no form type: refused
        assert client.delete(url).status_code == 405


def test_parameter_names_and_formats_as_dali_allows(site: Site, products: list[Product]) -> None:
    url = datalink_endpoint(site.base)
    did = products[0].did
    with httpx.Client(timeout=60) as client:
        for fmt in (DATALINK, "votable", "application/x-votable+xml", "text/xml"):
            for name in ("ID", "id", "iD"):
                response = client.get(url, params={name: did, "responseformat": fmt})
                assert response.status_code == 200, (fmt, response.text)
                assert parse_links(response.content).rows[0]["ID"] == did
        multipart = client.post(url, files={"ID": (None, did)})
        assert multipart.status_code == 200, multipart.text
        assert parse_links(multipart.content).rows[0]["ID"] == did


def test_maxrec_limits_the_rows_with_overflow(site: Site, products: list[Product]) -> None:
    ids = [p.did for p in products[:5]]
    full = links_of(site, ids)
    assert full.status == "OK" and len(full.rows) > 10
    cut = links_of(site, ids, MAXREC="7")
    assert cut.rows == full.rows[:7] and cut.status == "OVERFLOW"
    none = links_of(site, ids, MAXREC="0")
    assert none.rows == [] and none.status == "OVERFLOW"
    enough = links_of(site, ids, MAXREC=str(len(full.rows)))
    assert enough.rows == full.rows and enough.status == "OK"
    used = {str(r["service_def"]) for r in cut.rows if r["service_def"]}
    assert set(cut.resources) == used  # no descriptor for a row that was cut


def test_a_withdrawn_product_is_not_found(site: Site, products: list[Product]) -> None:
    victim = products[-1]
    with site.db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE hlsp.product SET withdrawn_at = now() WHERE product_id = :p"),
            {"p": victim.product_id},
        )
    try:
        rows = links_of(site, [victim.did, products[0].did]).rows
        assert rows[0]["ID"] == victim.did
        assert str(rows[0]["error_message"]).startswith("NotFoundFault: ")
        assert all(r["ID"] == products[0].did for r in rows[1:])
        others = links_of(site, [p.did for p in products[:-1]]).rows
        urls = {r["access_url"] for r in others}
        assert file_url(site.base, victim.hlsp_id, victim.file_name) not in urls
    finally:
        with site.db.engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE hlsp.product SET withdrawn_at = NULL WHERE product_id = :p"),
                {"p": victim.product_id},
            )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ids=st.lists(
        st.one_of(
            st.text(max_size=300),
            st.builds(lambda h, n: f"{h}/{n}", st.text(max_size=30), st.text(max_size=60)),
            st.builds(lambda t: f"ivo://x?{t}", st.text(max_size=80)),
        ),
        min_size=1,
        max_size=12,
    ),
    maxrec=st.one_of(st.none(), st.text(max_size=12)),
)
def test_any_ids_get_a_document_or_a_dali_error(
    site: Site, ids: list[str], maxrec: str | None
) -> None:
    data: dict[str, object] = {"ID": ids}
    if maxrec is not None:
        data["MAXREC"] = maxrec
    response = httpx.post(datalink_endpoint(site.base), data=data, timeout=60)
    if response.status_code == 400:  # a MAXREC that is not a count, said as such
        _dali_error(response, 400, "MAXREC")
        return
    assert response.status_code == 200, response.text
    links = parse_links(response.content)
    assert len({str(r["ID"]) for r in links.rows}) <= len(ids)
    for row in links.rows:
        assert row["access_url"] or row["service_def"] or row["error_message"]
