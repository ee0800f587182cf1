"""The guideline checker: MAST's HLSP rules for file names and for the headers of each file.

    classify(headers, product_type) -> Classification       what kind of product a file is
    check_headers(headers, classification, ...) -> findings  keywords, values, provenance
    member_facts(...) / member_of(record) -> MemberFacts      what the collection check needs
    check_collection(facts, ...) -> findings                 consistency across a collection

The file-name rules are in ``nomenclature`` (``check_name``), with MAST's vocabularies.

Modules:
    nomenclature the file-name rules of MAST's checker (fields, lengths, patterns, values)
    vocabulary   MAST's vocabularies as data (observatories, instruments, filters, types)
    codes        every finding code of the metadata rules
    keywords     required / recommended / suggested keywords per product kind, as data
    check        the per-file driver of the metadata rules (check_headers)
    classify     what kind of product a file is (image, spectrum, light curve, ...)
    values       value checks (licence, DOI, frames, dates, MJDs, ranges)
    wcs          array WCS keywords
    tables       table columns
    provenance   FILEIDnn records, PROVENANCE extensions, PROPOSID
    collection   consistency across the files of a collection (one HLSPID, DOI, README)
    view         header look-ups shared by the rules
"""

from __future__ import annotations

from catalog.harvest.rules.check import check_headers, normalise_version
from catalog.harvest.rules.classify import Classification, ProductKind, classify
from catalog.harvest.rules.collection import (
    MemberFacts,
    check_collection,
    member_facts,
    member_of,
)

__all__ = [
    "Classification",
    "MemberFacts",
    "ProductKind",
    "check_collection",
    "check_headers",
    "classify",
    "member_facts",
    "member_of",
    "normalise_version",
]
