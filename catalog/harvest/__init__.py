"""FITS headers -> catalog rows: reading, nomenclature, guideline rules, extraction, loading.

Modules:
    fitsio       read the header blocks of every HDU (plain or gzip) without loading data
    fitswrite    write FITS files from cards (demo corpus, test fixtures)
    findings     Finding / Rule / Verdict and the registry of every finding code
    nomenclature the file-name rules of MAST's checker (fields, lengths, vocabularies)
    rules        the metadata rules per product type, provenance, collection consistency
    bands        wavelength ranges of common filters (em_min/em_max fallback)
    extract      headers -> the values of a product row (position, footprint, times, ...)
    plausible    the one range of times and exposures the catalog keeps
    walk         the files of a contribution (links followed only inside its roots)
    outage       the database's failures told from a product's, as one coded error
    corpus       a generator of realistic HLSP corpora (demo, benchmarks, tests)
"""

from catalog.harvest import native

native.activate()  # compiled modules, only when they match their sources (see native.py)
