"""The /soda/sync endpoint over a real HTTP server (uvicorn), called with httpx and with
pyvo's SODA client: FITS answers, SODA error documents for hostile requests, 204 when a cut
misses the product, and the bound on cuts at once and on their time."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.io.votable import parse as parse_votable
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales
from pyvo.dal.adhoc import DatalinkResults, SodaQuery
from pyvo.dal.exceptions import DALServiceError
from starlette.applications import Starlette
from starlette.routing import Route

from catalog.corpus import GeneratedFile
from catalog.delivery.descriptor import SODA_SYNC, InputParam, service_descriptor
from catalog.delivery.soda.cutout import cut
from catalog.delivery.soda.descriptor import inputs
from catalog.delivery.soda.endpoint import CutSource, SodaNotFound, soda_endpoint
from catalog.delivery.soda.params import parse_request
from tests.support.db import REPO
from tests.support.server import live_server

PREFIX = "ivo://test.example/hlsp?"


def app_for(sources: dict[str, CutSource], **options: float) -> Starlette:
    async def resolve(identifier: str) -> CutSource:
        try:
            return sources[identifier]
        except KeyError:
            raise SodaNotFound(f"no product has the ID {identifier!r}") from None

    endpoint = soda_endpoint(
        resolve,
        max_output_bytes=int(options.get("max_bytes", 10_000_000)),
        slots=int(options.get("slots", 2)),
        time_budget=options.get("time_budget", 30.0),
        max_body_bytes=8192,
    )
    return Starlette(routes=[Route("/soda/sync", endpoint, methods=["GET", "POST"])])


def source(f: GeneratedFile) -> CutSource:
    stem = f.path.name.removesuffix(".fits")
    return CutSource(f.path, f.path.name, obs_id=stem, dataproduct_type=f.kind)


@pytest.fixture(scope="module")
def products(
    images: dict[str, GeneratedFile], cube: GeneratedFile, spectra: list[GeneratedFile]
) -> dict[str, GeneratedFile]:
    return {"image": images["jwst"], "cube": cube, "spectrum": spectra[0]}


@pytest.fixture(scope="module")
def soda_url(products: dict[str, GeneratedFile]) -> Iterator[str]:
    sources = {PREFIX + f.path.name: source(f) for f in products.values()}
    with live_server(app_for(sources), mount="/soda/sync") as url:
        yield url


def centre(path: Path) -> tuple[float, float, float]:
    with fits.open(path) as hdul:
        wcs = WCS(hdul["SCI"].header).celestial
    ra, dec = wcs.pixel_to_world_values(7.5, 7.5)
    return float(ra), float(dec), float(proj_plane_pixel_scales(wcs).mean())


def test_a_cutout_is_fits_named_for_the_product(
    soda_url: str, products: dict[str, GeneratedFile], tmp_path: Path
) -> None:
    image = products["image"]
    ra, dec, scale = centre(image.path)
    params = {"ID": PREFIX + image.path.name, "CIRCLE": f"{ra} {dec} {3 * scale}"}
    response = httpx.get(soda_url, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/fits"
    stem = image.path.name.removesuffix(".fits")
    assert response.headers["content-disposition"] == f'attachment; filename="{stem}_cutout.fits"'
    assert int(response.headers["content-length"]) == len(response.content)
    direct = cut(
        image.path, parse_request(params.items()), max_output_bytes=10**7, work_dir=tmp_path
    )
    assert response.content == direct.path.read_bytes()  # the same cut as the function's
    posted = httpx.post(soda_url, data=params)
    assert posted.status_code == 200 and posted.content == response.content
    multipart = httpx.post(soda_url, files={k: (None, v) for k, v in params.items()})
    assert multipart.status_code == 200 and multipart.content == response.content
    assert [p.name for p in Path(direct.path).parent.iterdir()] == [direct.path.name]


def test_pyvo_cuts_images_cubes_and_spectra(
    soda_url: str, products: dict[str, GeneratedFile]
) -> None:
    image = products["image"]
    ra, dec, scale = centre(image.path)
    shapes: list[dict[str, tuple[float, ...]]] = [
        {"circle": (ra, dec, 3 * scale)},
        {"range": (ra - 4 * scale, ra + 4 * scale, dec - 2 * scale, dec + 2 * scale)},
        {"polygon": (ra - 3 * scale, dec, ra + 3 * scale, dec, ra, dec + 3 * scale)},
    ]
    for shape in shapes:
        query = SodaQuery(soda_url, id=PREFIX + image.path.name, **shape)
        stream = query.execute_stream()
        query.raise_if_error()
        with fits.open(io.BytesIO(stream.read())) as hdul:
            assert hdul["SCI"].data.shape[0] < 16 and "SODACUT" in hdul["SCI"].header
            wcs = WCS(hdul["SCI"].header).celestial
            x, y = wcs.world_to_pixel_values(ra, dec)
            assert -0.5 <= x <= hdul["SCI"].data.shape[1] - 0.5
            assert -0.5 <= y <= hdul["SCI"].data.shape[0] - 0.5

    cube = products["cube"]
    with fits.open(cube.path) as hdul:
        waves = WCS(hdul["SCI"].header).spectral.pixel_to_world_values(np.arange(8))
    query = SodaQuery(
        soda_url, id=PREFIX + cube.path.name, band=[waves[1], waves[3]] * u.m
    )  # pyvo converts a Quantity to metres
    with fits.open(io.BytesIO(query.execute_stream().read())) as hdul:
        query.raise_if_error()
        assert hdul["SCI"].data.shape == (3, 4, 4)

    spectrum = products["spectrum"]
    with fits.open(spectrum.path) as hdul:
        sample = hdul["SCI"].data["WAVELENGTH"][0]
    band = [sample[5], sample[9]] * u.AA
    query = SodaQuery(soda_url, id=PREFIX + spectrum.path.name, band=band)
    with fits.open(io.BytesIO(query.execute_stream().read())) as hdul:
        query.raise_if_error()
        assert np.allclose(hdul["SCI"].data["WAVELENGTH"][0], sample[5:10], rtol=1e-12)

    bad = SodaQuery(soda_url, id=PREFIX + image.path.name)
    bad["CIRCLE"] = f"{ra} 95 1"  # pyvo's own checks refuse it; sent as a parameter
    bad.execute_stream()
    with pytest.raises(DALServiceError, match=r"UsageError: CIRCLE: latitude/Dec 95"):
        bad.raise_if_error()


HOSTILE = [
    ("CIRCLE=nan%2010%201", "UsageError: CIRCLE: NaN"),
    ("POS=CIRCLE%2010%2010%201e308", "UsageError: POS: the radius must lie in (0, 180]"),
    ("POLYGON=10%2010%2011%2011", "UsageError: POLYGON: a polygon needs at least 3 vertices"),
    ("BAND=6e-7%205e-7", "UsageError: BAND: the interval 6e-07 5e-07 is reversed"),
    ("POS=RANGE%2010%2020%20100%20110", "UsageError: POS: latitude/Dec 100"),
    ("CIRCLE=" + "1" * 10_000, "UsageError: parameter CIRCLE is 10000 characters long"),
    ("POS=CIRCLE%201%201%201&POS=CIRCLE%202%202%201", "MultiValuedParamNotSupported: one spatial"),
    ("CIRCLE=1%201%201&POLYGON=1%201%202%201%202%202", "MultiValuedParamNotSupported: one spatial"),
    ("CIRCLE=%ff%fe%201%201", "UsageError: CIRCLE:"),
    ("BAND=1e-7%202e-7&TIME=1%202", "UsageError: TIME is not supported"),
    ("CIRCLE=1%201%201&RESPONSEFORMAT=text/html", "UsageError: RESPONSEFORMAT 'text/html'"),
    ("CIRCLE=1%201%201&" + "&".join(f"X{i}=1" for i in range(120)), "UsageError: too many"),
    ("", "UsageError: no cutout asked for"),
]


@pytest.mark.parametrize(("query", "message"), HOSTILE)
def test_hostile_requests_get_a_soda_error_document(
    soda_url: str, products: dict[str, GeneratedFile], query: str, message: str
) -> None:
    identifier = httpx.QueryParams({"ID": PREFIX + products["image"].path.name})
    response = httpx.get(f"{soda_url}?{identifier}&{query}".rstrip("&"))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith(message), response.text


def test_ids_unknown_missing_or_repeated(soda_url: str, products: dict[str, GeneratedFile]) -> None:
    unknown = httpx.get(soda_url, params={"ID": PREFIX + "nothing.fits", "CIRCLE": "1 1 1"})
    assert unknown.status_code == 404
    assert unknown.text.startswith("UsageError: no product has the ID")
    missing = httpx.get(soda_url, params={"CIRCLE": "1 1 1"})
    assert (missing.status_code, missing.text) == (
        400,
        "UsageError: ID is required: the identifier of the product to cut\n",
    )
    name = PREFIX + products["image"].path.name
    repeated = httpx.get(soda_url, params=[("ID", name), ("ID", name), ("CIRCLE", "1 1 1")])
    assert repeated.status_code == 400
    assert repeated.text.startswith("MultiValuedParamNotSupported: ID was given 2 times")


def test_a_cut_that_misses_the_product_is_204_with_the_reason(
    soda_url: str, products: dict[str, GeneratedFile]
) -> None:
    image, spectrum = products["image"], products["spectrum"]
    ra, dec, _ = centre(image.path)
    params = {
        "ID": PREFIX + image.path.name,
        "CIRCLE": f"{ra} {dec - 2 if dec > 0 else dec + 2} 0.5",
    }
    response = httpx.get(soda_url, params=params)
    assert (response.status_code, response.content) == (204, b"")
    assert "the cut misses the product: HDU 1 covers a field" in response.headers["soda-message"]
    response = httpx.get(soda_url, params={"ID": PREFIX + spectrum.path.name, "BAND": "1 2"})
    assert response.status_code == 204
    assert "Angstrom" in response.headers["soda-message"]


def test_posted_bodies_are_bounded(soda_url: str, products: dict[str, GeneratedFile]) -> None:
    big = httpx.post(soda_url, data={"ID": "x", "CIRCLE": "1 " * 5000})
    assert big.status_code == 413 and big.text.startswith("UsageError: the request body is")
    json = httpx.post(soda_url, json={"ID": "x"})
    assert json.status_code == 400 and "must be a form" in json.text
    chunked = httpx.post(
        soda_url,
        content=iter([b"ID=x&CIRCLE=", b"1" * 9000]),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert chunked.status_code == 413  # no Content-Length: counted as it arrives


def feed(pipe: Path) -> None:
    """Write to the pipe if a reader waits on it (astropy may open a file more than once)."""
    try:
        writer = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # ENXIO: nobody reads it now
        return
    try:
        os.write(writer, b"not a FITS file")
    finally:
        os.close(writer)


def test_cuts_past_the_slots_and_the_time_budget_get_503(
    products: dict[str, GeneratedFile], tmp_path: Path
) -> None:
    """A product whose file never arrives (a named pipe nobody writes yet) holds the one
    slot: others get 503 at once; its own client gets 503 when the budget is spent; the slot
    stays taken until the cut's thread is done, then cuts run again."""
    pipe = tmp_path / "stalled.fits"
    os.mkfifo(pipe)
    image = products["image"]
    sources = {"stalled": CutSource(pipe, pipe.name), "image": source(image)}
    ra, dec, scale = centre(image.path)
    good = {"ID": "image", "CIRCLE": f"{ra} {dec} {2 * scale}"}
    answers: list[httpx.Response] = []
    with live_server(app_for(sources, slots=1, time_budget=1.0), mount="/soda/sync") as url:

        def ask_for_the_stalled_cut() -> None:
            while True:  # until it gets the slot, which the probes below take for a moment
                answer = httpx.get(url, params={"ID": "stalled", "CIRCLE": "1 1 1"}, timeout=30)
                if "cutouts are being made" not in answer.text:
                    answers.append(answer)
                    return
                time.sleep(0.01)

        stalled = threading.Thread(target=ask_for_the_stalled_cut)
        stalled.start()
        deadline = time.monotonic() + 20
        while True:  # until the stalled cut holds the slot
            other = httpx.get(url, params=good, timeout=30)
            if other.status_code == 503:
                break
            assert other.status_code == 200 and time.monotonic() < deadline
            time.sleep(0.2)
        assert other.headers["retry-after"].isdigit()
        assert other.text.startswith("ServiceUnavailable: 1 cutouts are being made")
        stalled.join(timeout=20)
        assert answers and answers[0].status_code == 503
        assert answers[0].text.startswith(
            "ServiceUnavailable: the cutout took longer than 1 seconds"
        )
        assert httpx.get(url, params=good).status_code == 503  # its thread still holds the slot
        deadline = time.monotonic() + 20
        while (status := httpx.get(url, params=good).status_code) == 503:
            feed(pipe)  # let the stalled cut read something (not FITS) and finish
            assert time.monotonic() < deadline, "the slot was never given back"
            time.sleep(0.05)
        assert status == 200


def test_mounting_the_endpoint_loads_no_astropy() -> None:
    """The application imports the endpoint when it starts; astropy (a second and more)
    loads on the first cut's thread."""
    probe = (
        "import sys, catalog.delivery.soda.endpoint, catalog.delivery.soda.descriptor; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'astropy'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def links_document(did: str, soda: str, params: list[InputParam]) -> bytes:
    """A DataLink {links} response with one #cutout row and the SODA descriptor it names."""
    fields = "".join(
        f'<FIELD name="{name}" datatype="char" arraysize="*"/>'
        for name in ("ID", "access_url", "service_def", "error_message", "semantics")
    )
    row = f"<TR><TD>{did}</TD><TD/><TD>soda</TD><TD/><TD>#cutout</TD></TR>"
    descriptor = service_descriptor(
        standard_id=SODA_SYNC, access_url=soda, inputs=params, resource_id="soda"
    )
    return (
        '<?xml version="1.0"?><VOTABLE version="1.3" '
        'xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results"><TABLE>'
        f"{fields}<DATA><TABLEDATA>{row}</TABLEDATA></DATA></TABLE></RESOURCE>"
        f"{descriptor}</VOTABLE>"
    ).encode()


def test_pyvo_finds_the_cutout_service_in_datalink_and_uses_it(
    soda_url: str, products: dict[str, GeneratedFile]
) -> None:
    """pyvo reads the #cutout descriptor that :func:`inputs` declares, fills in its ID and a
    circle, and calls the endpoint (what ``getdatalink()`` then ``processed()`` do)."""
    image = products["image"]
    did = PREFIX + image.path.name
    ra, dec, scale = centre(image.path)
    params = inputs(did, "image", circle=(ra, dec, 12 * scale))
    links = DatalinkResults(parse_votable(io.BytesIO(links_document(did, soda_url, params))))
    row = links.get_first_proc()
    assert row.semantics == "#cutout" and row.access_url == soda_url
    stream = row.processed(circle=(ra, dec, 3 * scale) * u.deg)
    with fits.open(io.BytesIO(stream.read())) as hdul:
        assert hdul["SCI"].header["SODACUT"] == f"CIRCLE {ra:.10g} {dec:.10g} {3 * scale:.10g}"
