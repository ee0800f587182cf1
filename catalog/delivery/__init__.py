"""Delivery: from a catalog row to the data — files, DataLink, previews, SODA cutouts, bulk.

Every way out starts from catalog ids (``hlsp_id/file_name``, the ``obs_publisher_did``),
never from a path a client sends, and goes through one look-up (:mod:`catalog.delivery.lookup`)
that says which harvested files a caller may have: the one place the access rules guard.

Modules and subpackages:
    previews/   previews and thumbnails: the collection's own graphic, else drawn and cached
    soda/       SODA 1.0 synchronous cutouts (POS, BAND) of images, cubes and spectra
"""
