"""The catalog model (schema ``hlsp``): collections, products, targets, provenance, harvests.

Every column is declared with :func:`catalog.vo.vo_column`, carrying its description, VOUnit,
UCD1+ and (where ObsCore defines one) utype. Constraints make bad states unrepresentable:
a product always belongs to a collection, one row per collection + file name, ranges are
ordered, enumerations are checked.

Units: positions and angles in degrees (pg_sphere types convert), times as MJD, durations
in seconds, wavelengths in metres, sizes in bytes.

Modules:
    base         the declarative base, the schema name, the enumerations SQL checks
    products     collection, product, product findings
    targets      targets, their aliases, product <-> target links
    provenance   inputs and software each product was made from
    audit        harvest runs and failures, the settings SQL needs
    files        companion files (README, previews), harvested roots, files found missing
    names        hlsp_id and target_key: the names the model keys on (no database library)

The tables (and SQLAlchemy) load on first use of a name of this package
(``from catalog.model import Product``), all together, so the metadata is always whole;
``catalog.model.names`` alone loads neither SQLAlchemy nor psycopg (the checker uses it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from catalog.model.audit import HarvestFailure, HarvestRun, Setting
    from catalog.model.base import (
        DATAPRODUCT_TYPES,
        INPUT_KINDS,
        RUN_STATES,
        SCHEMA,
        SEVERITIES,
        VERDICTS,
        Base,
    )
    from catalog.model.files import CompanionFile, HarvestRoot, MissingFile
    from catalog.model.products import Collection, Product, ProductFinding
    from catalog.model.provenance import ProvenanceInput, ProvenanceSoftware
    from catalog.model.targets import Target, TargetAlias, product_target

_TABLES = {
    "audit": ("HarvestFailure", "HarvestRun", "Setting"),
    "base": (
        "DATAPRODUCT_TYPES",
        "INPUT_KINDS",
        "RUN_STATES",
        "SCHEMA",
        "SEVERITIES",
        "VERDICTS",
        "Base",
    ),
    "files": ("CompanionFile", "HarvestRoot", "MissingFile"),
    "products": ("Collection", "Product", "ProductFinding"),
    "provenance": ("ProvenanceInput", "ProvenanceSoftware"),
    "targets": ("Target", "TargetAlias", "product_target"),
}

__all__ = [
    "DATAPRODUCT_TYPES", "INPUT_KINDS", "RUN_STATES", "SCHEMA", "SEVERITIES", "VERDICTS",
    "Base", "Collection", "CompanionFile", "HarvestFailure", "HarvestRoot", "HarvestRun",
    "MissingFile", "Product", "ProductFinding",
    "ProvenanceInput", "ProvenanceSoftware", "Setting", "Target", "TargetAlias",
    "product_target",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    """Load every table module at the first use of one of their names (PEP 562)."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for module, names in _TABLES.items():
        loaded = importlib.import_module(f"{__name__}.{module}")
        globals().update({n: getattr(loaded, n) for n in names})
    return globals()[name]
