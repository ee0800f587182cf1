"""Serving under load and attack: what sits between the sockets and the endpoints.

- ``budget``: the gates of a server process (how many of each kind of request run at once,
  how many wait) and the database pools sized from them;
- ``admit``: admission in front of an ASGI app (GraphQL), 503 + Retry-After when full;
- ``guard``: request bodies bounded in size, time and memory; security headers;
- ``protocol``: uvicorn's HTTP protocol with a deadline and size limit for request heads;
- ``launch``: uvicorn with that protocol, in one or several processes (``hlsp serve``).

TAP's own endpoints use the same gates through :mod:`tap.admission`; its results reach slow
clients through :mod:`tap.spool`.
"""
