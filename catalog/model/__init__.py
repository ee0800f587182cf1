"""The catalog model (schema ``hlsp``): collections, products, targets, provenance, harvests.

Every column is declared with :func:`catalog.vo.vo_column`, carrying its description, VOUnit,
UCD1+ and (where ObsCore defines one) utype. Constraints make bad states unrepresentable:
a product always belongs to a collection, one row per collection + file name, ranges are
ordered, enumerations are checked.

Units: positions and angles in degrees (pg_sphere types convert), times as MJD, durations
in seconds, wavelengths in metres, sizes in bytes.
"""

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
from catalog.model.products import Collection, Product, ProductFinding
from catalog.model.provenance import ProvenanceInput, ProvenanceSoftware
from catalog.model.targets import Target, TargetAlias, product_target

__all__ = [
    "DATAPRODUCT_TYPES", "INPUT_KINDS", "RUN_STATES", "SCHEMA", "SEVERITIES", "VERDICTS",
    "Base", "Collection", "HarvestFailure", "HarvestRun", "Product", "ProductFinding",
    "ProvenanceInput", "ProvenanceSoftware", "Setting", "Target", "TargetAlias",
    "product_target",
]  # fmt: skip
