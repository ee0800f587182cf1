"""Delivery: from a catalog row to the data — files, DataLink, previews, SODA cutouts, bulk.

Every way out starts from catalog ids (``hlsp_id/file_name``, the ``obs_publisher_did``),
never from a path a client sends, and goes through one look-up (:mod:`catalog.delivery.lookup`)
that says which harvested files a caller may have: the one place the access rules guard.

Modules and subpackages:
    lookup      catalog keys (``hlsp_id/file_name``, DIDs) → the harvested files a request may have
    storage     where bytes come from: one small interface, POSIX files within the harvested roots
    http        a file over HTTP: HEAD, Range (206, multipart), ETag/Last-Modified, conditionals
    service     the delivery service of a process: gated look-ups, opening, missing files recorded
    routes      the delivery endpoints as Starlette routes
    urls        the URLs of a product's file, preview, DataLink, cutouts on this server
    bulk        many files at once: /bulk/script (curl commands), /bulk/archive (zip or tar)
    bulk_ids    the IDs of a bulk request: ID parameters, a form, a POSTed TAP result (VOTable, CSV)
    download_script  the bash script of curl commands for a list of files
    archives    zip and tar archives streamed as they are written, their length known beforehand
    descriptor  DataLink service descriptors: the one TAP results carry, SODA's in {links}
    derived     previews, thumbnails and SODA cutouts of a product, behind the same look-up
    links       the DataLink rows of products: what each links to, from the catalog's relations
    datalink    DataLink 1.1 {links}: parameters, the VOTable of links, the endpoint
    previews/   previews and thumbnails: the collection's own graphic, else drawn and cached
    soda/       SODA 1.0 synchronous cutouts (POS, BAND) of images, cubes and spectra
"""
