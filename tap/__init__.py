"""A catalog-agnostic IVOA TAP 1.1 service.

It is given the published tables (:mod:`tap.metadata`) and a database, and serves ADQL
over them: sync and async (UWS 1.1) queries, VOSI capabilities/availability/tables,
TAP_SCHEMA, examples, uploads, VOTable/CSV/TSV output. It never imports ``catalog``.
"""

__all__: list[str] = []
