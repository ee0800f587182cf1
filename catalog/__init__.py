"""HLSP Catalog: harvest, check and serve High-Level Science Product metadata.

Modules:
    __main__      ``python -m catalog``: the ``hlsp`` command
    app           The catalog's Starlette app: the landing page, /health, /tap, /graphql and
                  GraphiQL's files
    cli           The ``hlsp`` command
    config        Settings: the one reader of the environment's ``HLSP_*`` variables
    db            Engines, the database a command uses, and bringing its schema up to date
    demo          The demo: generate a realistic HLSP corpus, harvest it, and (the CLI) serve it
    embedded      The embedded default: a private PostgreSQL cluster owned by the project
    errors        Exceptions of the ``catalog`` package
    obscore       ``ivoa.obscore``: the ObsCore 1.1 view over product ⋈ collection, and its metadata
    postgres      Finding the installed PostgreSQL server and pg_sphere, and saying how to install
                  them
    sky           Positions, polygons and circles on the sky, in degrees: plain values, no database
                  library
    sphere        pg_sphere geometry as SQLAlchemy column types, in degrees on the Python side
    tap_examples  Example ADQL queries shown at ``/tap/examples`` (and in TOPCAT's "Service-
                  provided" menu)
    tap_service   The catalog's TAP service: ``tap`` configured with the catalog's tables, roles and
                  examples
    tap_tables    What the catalog publishes over TAP: ``hlsp.*`` and ``ivoa.ObsCore`` as
                  :mod:`tap.metadata`
    vo            VO metadata declared once on the model: description, VOUnit, UCD1+, utype
    corpus/       A generator of realistic HLSP corpora, for the demo, benchmarks and tests
    delivery/     From a catalog row to the data: files, DataLink, previews, SODA cutouts, bulk
    graphql/      The GraphQL API for portals, served at ``/graphql`` (strawberry on Starlette)
    harvest/      FITS headers -> catalog rows: the harvest pipeline (walk -> per-file function ->
                  load)
    model/        The catalog model (schema ``hlsp``): collections, products, targets, provenance,
                  harvests
    serving/      Serving under load and attack: what sits between the sockets and the endpoints
"""

__version__ = "0.1.0"
