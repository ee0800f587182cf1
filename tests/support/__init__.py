"""What the tests share (no test module imports another; fixtures live in the conftest.py
of the folder whose tests use them, built on these).

Modules:
    db               the test database server: URLs, scratch databases, reference data, locks
    server           uvicorn serving an ASGI app in a thread of the test process
    cli              the real ``hlsp`` command and ``hlsp serve`` in subprocesses
    factories        model rows with defaults, for tests that insert what they query
    graphql          a GraphQL client that counts the statements of each request
    graphql_catalog  the GraphQL tests' catalog of known values
    adql_db          a small published schema for executing translated ADQL
    adql_corpus      the IVOA ADQL corpus of ../shared, with the tables it names
    rules            compliant headers and HDU builders for the rules' tests
    uploads          local HTTP(S) listeners for the upload-address tests
    votable_cases    VOTables as astropy and STILTS read them, for comparing writers
    vocabularies     IVOA vocabularies pyvo reads, without the network (datalink/core)
    uws              the UWS tests' executor, app, schema and protocol steps
    uws_worker_process  a job service in a process of its own (run with ``python -m``)
"""
