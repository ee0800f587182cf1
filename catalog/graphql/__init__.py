"""The GraphQL API for portals, served at ``/graphql`` (strawberry on Starlette).

Modules, each holding one thing:

- :mod:`~catalog.graphql.schema`: the Query type and :func:`build_schema`;
- :mod:`~catalog.graphql.types`: Collection, Product, Target, provenance and findings;
- :mod:`~catalog.graphql.filters` (inputs, built by :mod:`~catalog.graphql.inputs`) and
  :mod:`~catalog.graphql.predicates` (their SQL);
- :mod:`~catalog.graphql.ordering` and :mod:`~catalog.graphql.pagination`: keyset connections;
- :mod:`~catalog.graphql.loaders`: per-request DataLoaders; :mod:`~catalog.graphql.queries`:
  the SQL statements; :mod:`~catalog.graphql.aggregates`: facet counts;
- :mod:`~catalog.graphql.ide`: the GraphiQL page, its files served by this server;
- :mod:`~catalog.graphql.limits`, :mod:`~catalog.graphql.errors`,
  :mod:`~catalog.graphql.context`, :mod:`~catalog.graphql.access`: safety;
  :mod:`~catalog.graphql.document` (parsing and validation, cached),
  :mod:`~catalog.graphql.rules` (depth and aliases) and :mod:`~catalog.graphql.cost`
  (objects and fields asked for): the work a document may cause;
- :mod:`~catalog.graphql.transport` (what an HTTP request may be) and
  :mod:`~catalog.graphql.view`: the ASGI endpoint; :mod:`~catalog.graphql.export`: the SDL.

The contract for portal developers is in the top-level ``graphql/`` folder.
"""
