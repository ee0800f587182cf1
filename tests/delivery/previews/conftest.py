"""Fixtures of the previews' tests: a generated corpus with every product type and every kind
of damage, a PNG's size and pixels, and a FITS image too large to draw within a small budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.corpus import Corpus, generate_corpus
from tests.support.delivery import write_large_image


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return generate_corpus(tmp_path_factory.mktemp("previews") / "hlsp", files=60, damage=True)


@pytest.fixture(scope="session")
def large_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8000 x 8000 pixels (256 MB once read): seconds to draw, more than 64 MB to hold."""
    return write_large_image(tmp_path_factory.mktemp("large") / "large_img.fits.gz", 8000)
