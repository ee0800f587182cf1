"""MAST's vocabularies for HLSP file names: observatories, instruments, filters, product types
and extensions, read from the TOML files of this package (copied from MAST's checker, mct).

mct flattens each level: a value is known when it appears anywhere in its list, whatever the
observatory or instrument around it; :class:`Vocabulary` holds those flat sets plus the tree.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType

__all__ = ["Vocabulary", "vocabulary"]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """MAST's lists of known values, flattened per field as mct flattens them."""

    tree: Mapping[str, Mapping[str, tuple[str, ...]]]  # observatory -> instrument -> filters
    observatories: frozenset[str]
    instruments: frozenset[str]
    filters: frozenset[str]
    product_types: frozenset[str]
    extensions: frozenset[str]


def _load_toml(name: str) -> dict[str, object]:
    return tomllib.loads(resources.files(__name__).joinpath(name).read_text("utf-8"))


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"vocabulary {where}: expected a list of strings")
    return tuple(value)


@cache
def vocabulary() -> Vocabulary:
    """The vocabularies shipped beside this module (read once)."""
    tree: dict[str, Mapping[str, tuple[str, ...]]] = {}
    for observatory, body in _load_toml("observatories.toml").items():
        instruments = body.get("instruments") if isinstance(body, dict) else None
        if not isinstance(instruments, dict):
            raise ValueError(f"vocabulary observatories.toml: {observatory} has no instruments")
        tree[observatory] = MappingProxyType(
            {
                name: _strings(spec.get("filters"), f"{observatory}.{name}.filters")
                for name, spec in instruments.items()
            }
        )
    products = _load_toml("product_types.toml").get("semantic_types")
    extensions = _load_toml("extensions.toml").get("extension_types")
    return Vocabulary(
        tree=MappingProxyType(tree),
        observatories=frozenset(tree),
        instruments=frozenset(i for insts in tree.values() for i in insts),
        filters=frozenset(f for insts in tree.values() for fs in insts.values() for f in fs),
        product_types=frozenset(_strings(products, "product_types.toml semantic_types")),
        extensions=frozenset(_strings(extensions, "extensions.toml extension_types")),
    )
