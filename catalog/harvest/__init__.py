"""FITS headers -> catalog rows: the harvest pipeline (walk -> per-file function -> load).

Subpackages:
    fits/        the header reader: cards, HDUs (plain or gzip), table columns, sky WCS
    rules/       the guideline checker: file nomenclature + vocabularies, metadata rules per
                 product type, provenance, collection consistency

Modules:
    findings     Finding / Rule / Verdict and the registry of every finding code
    records      what reading one file produces: picklable records between processes
    bands        wavelength ranges of common filters (em_min/em_max fallback)
    extract      headers -> the values of a product row (position, footprint, times, ...)
    plausible    the one range of times and exposures the catalog keeps
    perfile      the per-file function: read, check and extract one file (no database)
    walk         the files of a contribution (links followed only inside its roots)
    manifest     the optional collection manifest (hlsp-collection.toml), DOI clean-up
    checkrun     ``hlsp check``: the checks over a contribution's files, no database
    report       a check's report: terminal, JSON, HTML, the finding-code reference
    run          a harvest run: lock, walk, skip the unchanged, load, record the run
    loadpool     the pool workers: read a chunk of files and load it in one transaction
    load         COPY into staging, upsert, link, in one transaction
    copytext     PostgreSQL COPY text lines of a product and the rows it owns
    targets      target names resolved to shared targets (under an advisory lock)
    ids          ids drawn from PostgreSQL's sequences, a batch at a time
    outage       the database's failures told from a product's, as one coded error
    progress     progress bars (terminal) or log lines
    native       the compiled (mypyc) modules, served only when they match their sources
    nativebuild  builds them (``./run setup``)

The demo and test corpus generator is :mod:`catalog.corpus`, not part of the harvest.
"""

from catalog.harvest import native

native.activate()  # compiled modules, only when they match their sources (see native.py)
