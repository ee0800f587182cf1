"""Fixtures of the delivery tests: a harvested corpus served by ``hlsp serve``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from catalog.corpus import generate_corpus
from catalog.db import Database
from catalog.harvest.run import HarvestOptions, harvest
from tests.support.cli import serving
from tests.support.delivery import Site
from tests.support.vocabularies import offline_vocabularies


@pytest.fixture(scope="module")
def site(module_database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    corpus = generate_corpus(tmp_path_factory.mktemp("delivery-corpus"), files=60, seed=5)
    summary = harvest(module_database, HarvestOptions(paths=[corpus.root], jobs=1, progress=False))
    assert summary.added > 0
    with serving("serve", env={"HLSP_DATABASE_URL": module_database.url}) as base:
        yield Site(base, module_database, corpus)


@pytest.fixture(scope="module", autouse=True)
def vocabularies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """pyvo's DataLink calls read datalink/core: from its own copy, not the network."""
    with offline_vocabularies(tmp_path_factory.mktemp("astropy-cache")):
        yield
