"""The GraphQL API for portals, served at ``/graphql`` (strawberry on Starlette).

Modules, each holding one thing:
    schema       the Query type and :func:`build_schema`: the entry points
    types        Collection, Product, Target, provenance and findings, described from the model
    enums        the model's fixed vocabularies (and the coarse wavebands) as enums; scalars
    filters      filter inputs, one style for every type; built by ``inputs``
    inputs       input objects from the fields a client gave
    predicates   filters compiled to SQL expressions (bound values, never SQL text)
    ordering     ``orderBy`` inputs: the sortable fields of each type
    pagination   Relay connections with keyset pagination
    listing      top-level and nested connections: filter, window, page, lazy total
    loaders      per-request DataLoaders: one statement per kind of thing
    queries      the SQL of the API: what each entity selects, pages, counts, looks up
    aggregates   facet counts over any product filter
    ids          Relay global ids
    metadata     descriptions from the model's VO column metadata
    access       what a caller may see: the one place of the proprietary-data rules
    context      who is asking, and one read-only transaction per request
    errors       the API's errors, each with a stable ``extensions.code``
    limits       the names and hints of the limits the endpoint enforces
    export       the schema as SDL (``graphql/schema.graphql``, the portals' contract)
    validation/  what a document may cost before it runs: parsing and validation
                 (``document``), depth and alias rules (``rules``), objects asked for (``cost``)
    endpoint/    the HTTP side: what a request may be (``transport``), the ASGI view with its
                 bounds (``view``), the GraphiQL page served offline (``ide``)

The contract for portal developers is in the top-level ``graphql/`` folder.
"""
