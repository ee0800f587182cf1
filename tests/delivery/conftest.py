"""Fixtures of the delivery tests: a harvested corpus served by ``hlsp serve``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from catalog.corpus import Corpus, generate_corpus
from catalog.db import Database
from catalog.harvest.run import HarvestOptions, harvest
from tests.support.cli import serving
from tests.support.vocabularies import offline_vocabularies


@dataclass(frozen=True)
class Site:
    """A served catalog: its URL, its database and the corpus it harvested."""

    base: str
    db: Database
    corpus: Corpus

    @property
    def root(self) -> Path:
        return self.corpus.root


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
