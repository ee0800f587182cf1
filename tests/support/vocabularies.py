"""IVOA vocabularies without the network: pyvo's ``bysemantics`` (and so ``getdataset`` of a
record with DataLink) reads ``http://www.ivoa.net/rdf/datalink/core`` through astropy's
download cache; :func:`offline_vocabularies` puts the copy pyvo ships (its test data) in a
temporary cache, so that pyvo works here as it does on a machine with the network."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyvo
from astropy.config.paths import set_temp_cache
from astropy.utils.data import import_file_to_cache

DATALINK_CORE = "http://www.ivoa.net/rdf/datalink/core"
PACKAGED = Path(pyvo.__file__).parent / "dal" / "tests" / "data" / "datalink" / "datalink.desise"


def datalink_terms() -> frozenset[str]:
    """The terms of datalink/core (as pyvo packages the vocabulary)."""
    return frozenset(json.loads(PACKAGED.read_text(encoding="utf-8"))["terms"])


@contextmanager
def offline_vocabularies(cache: Path) -> Iterator[None]:
    """Within the block, astropy's cache is ``cache``, holding datalink/core."""
    with set_temp_cache(cache):
        import_file_to_cache(DATALINK_CORE, str(PACKAGED), remove_original=False)
        yield
