"""Targets shared across collections, their names, and which products observe them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, relationship

from catalog.model.base import (
    ID_UCD,
    Base,
    _table_args,
    _tsvector,
)
from catalog.sphere import SkyPoint, SPoint
from catalog.vo import TableMeta, plain_column, vo_column

if TYPE_CHECKING:
    from catalog.model.products import Product


product_target: sa.Table = sa.Table(
    "product_target",
    Base.metadata,
    plain_column(
        "product_id",
        sa.BigInteger,
        sa.ForeignKey("product.product_id", ondelete="CASCADE"),
        primary_key=True,
        description="Product",
        ucd="meta.id",
    ),
    plain_column(
        "target_id",
        sa.BigInteger,
        sa.ForeignKey("target.target_id", ondelete="RESTRICT"),
        primary_key=True,
        description="Target observed in the product",
        ucd="meta.id;src",
    ),
    sa.Index(None, "target_id"),
    comment="Which targets each product observes (many to many)",
    info={"vo": TableMeta("Which targets each product observes (many to many)")},
)


class Target(Base):
    __tablename__ = "target"
    __table_args__ = _table_args(
        "Astronomical targets and fields, shared across collections.",
        sa.Index(None, "pos", postgresql_using="gist"),
    )

    target_id: Mapped[int] = vo_column(
        sa.BigInteger,
        sa.Identity(),
        primary_key=True,
        description="Internal identifier of the target",
        ucd=ID_UCD,
    )
    name: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        principal=True,
        description="Preferred designation",
        ucd="meta.id;src;meta.main",
    )
    pos: Mapped[SkyPoint | None] = vo_column(
        SPoint(),
        description="Position of the target (ICRS)",
        unit="deg",
        ucd="pos.eq;src",
    )
    s_ra: Mapped[float | None] = vo_column(
        sa.Double,
        sa.Computed("degrees(long(pos))", persisted=True),
        principal=True,
        description="Right ascension of the target (ICRS)",
        unit="deg",
        ucd="pos.eq.ra;src",
    )
    s_dec: Mapped[float | None] = vo_column(
        sa.Double,
        sa.Computed("degrees(lat(pos))", persisted=True),
        principal=True,
        description="Declination of the target (ICRS)",
        unit="deg",
        ucd="pos.eq.dec;src",
    )
    object_type: Mapped[str | None] = vo_column(
        sa.Text,
        description="Class of object (star, galaxy, field, ...)",
        ucd="src.class",
    )

    aliases: Mapped[list[TargetAlias]] = relationship(
        back_populates="target", cascade="all, delete-orphan"
    )
    products: Mapped[list[Product]] = relationship(
        secondary="hlsp.product_target", back_populates="targets"
    )


class TargetAlias(Base):
    __tablename__ = "target_alias"
    __table_args__ = _table_args(
        "Every name a target is known by, normalised so 'TIC 123', 'TIC123' and 'tic 123' meet.",
        sa.Index(None, "target_id"),
        sa.Index(None, "search_text", postgresql_using="gin"),
    )

    name_key: Mapped[str] = vo_column(
        sa.Text,
        primary_key=True,
        description="Normalised name (lower case, no spaces)",
        ucd="meta.id;src",
    )
    target_id: Mapped[int] = vo_column(
        sa.BigInteger,
        sa.ForeignKey("target.target_id", ondelete="CASCADE"),
        nullable=False,
        description="Target the name designates",
        ucd="meta.id",
    )
    name: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        principal=True,
        description="Name as first seen in a file",
        ucd="meta.id;src",
    )
    search_text: Mapped[Any] = vo_column(
        TSVECTOR,
        _tsvector(("simple", "name", "A")),
        description="Full-text search vector over the name",
        published=False,
    )

    target: Mapped[Target] = relationship(back_populates="aliases")
