"""HLSP Catalog: harvest, check and serve High-Level Science Product metadata."""

__version__ = "0.1.0"
