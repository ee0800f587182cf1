"""Relay global ids: ``base64("Type:primary key")``, opaque to clients."""

from __future__ import annotations

import base64
import binascii

from catalog.graphql.errors import InvalidArgument

NODE_TYPES = ("Collection", "Product", "Target")


def global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def parse_global_id(value: str) -> tuple[str, int]:
    """(type name, primary key) of a global id, or InvalidArgument."""
    try:
        type_name, _, pk = base64.b64decode(value, validate=True).decode().partition(":")
        number = int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidArgument(
            f"{value[:80]!r} is not an id of this API; use the id field of a Collection, "
            "Product or Target."
        ) from None
    if type_name not in NODE_TYPES or not 0 < number < 2**63:
        raise InvalidArgument(f"{value[:80]!r} is not an id of this API.")
    return type_name, number
