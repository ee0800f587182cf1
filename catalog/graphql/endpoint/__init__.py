"""The HTTP side of ``/graphql``.

Modules:
    transport  what a request may look like, read with bounded memory
    view       strawberry's ASGI view with its bounds, request context and time budget
    ide        the GraphiQL page, its scripts and styles served by this server
"""
