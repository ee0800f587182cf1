"""The metadata rules of MAST's HLSP guidelines, applied to the headers of each file.

    classify(headers, product_type) -> Classification       what kind of product a file is
    check_headers(headers, classification, ...) -> findings  keywords, values, provenance
    member_facts(...) -> MemberFacts; check_collection(...)  consistency across a collection

Modules: ``codes`` (every finding code), ``keywords`` (levels per product kind, as data),
``wcs`` and ``tables`` (array WCS, table columns), ``values``, ``provenance``,
``collection``, ``classify``, ``check`` (the per-file driver), ``view`` (header look-ups).
"""

from __future__ import annotations

from catalog.harvest.rules.check import check_headers, normalise_version
from catalog.harvest.rules.classify import Classification, ProductKind, classify
from catalog.harvest.rules.collection import MemberFacts, check_collection, member_facts

__all__ = [
    "Classification",
    "MemberFacts",
    "ProductKind",
    "check_collection",
    "check_headers",
    "classify",
    "member_facts",
    "normalise_version",
]
