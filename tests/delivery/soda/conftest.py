"""Fixtures of the SODA tests: a generated corpus (intact and damaged files of every kind)
and the first unflawed file of each kind of product in it."""

from __future__ import annotations

import pytest

from catalog.corpus import Corpus, GeneratedFile, generate_corpus


@pytest.fixture(scope="session")
def soda_corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return generate_corpus(
        tmp_path_factory.mktemp("soda-corpus"), files=60, damage=True, gzip_fraction=0.0
    )


def first(corpus: Corpus, hlsp_id: str, kind: str, *, gzip: bool = False) -> GeneratedFile:
    """The first intact, unflawed file of a collection's kind of product."""
    return next(
        f
        for f in corpus.intact
        if f.hlsp_id == hlsp_id
        and f.kind == kind
        and not f.flaws
        and f.path.name.endswith(".gz") == gzip
    )


@pytest.fixture(scope="session")
def images(soda_corpus: Corpus) -> dict[str, GeneratedFile]:
    """One image of each imaging family: NIRCam mosaic, HST drizzled, GALEX, simulated."""
    return {
        "jwst": first(soda_corpus, "nearby-jwst", "image"),
        "hst": first(soda_corpus, "nearby-hst", "image"),
        "galex": first(soda_corpus, "uv-atlas", "image"),
        "sim": first(soda_corpus, "mock-deep", "image"),
    }


@pytest.fixture(scope="session")
def cube(soda_corpus: Corpus) -> GeneratedFile:
    return first(soda_corpus, "nearby-jwst", "cube")


@pytest.fixture(scope="session")
def spectra(soda_corpus: Corpus) -> list[GeneratedFile]:
    return [f for f in soda_corpus.intact if f.kind == "spectrum" and not f.flaws]
