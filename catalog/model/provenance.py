"""Provenance: what each product was made from, and by what software."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, relationship

from catalog.model.base import (
    INPUT_KINDS,
    Base,
    _in,
    _table_args,
)
from catalog.vo import vo_column

if TYPE_CHECKING:
    from catalog.model.products import Product


class ProvenanceInput(Base):
    __tablename__ = "provenance_input"
    __table_args__ = _table_args(
        "What each product was made from: observations, files, datasets, programs "
        "(FILEIDnn records, PROVENANCE extensions, PROPOSID).",
        sa.CheckConstraint(_in("kind", INPUT_KINDS), name="kind_vocabulary"),
        sa.Index(None, "identifier"),
    )

    product_id: Mapped[int] = vo_column(
        sa.BigInteger,
        sa.ForeignKey("product.product_id", ondelete="CASCADE"),
        primary_key=True,
        description="Product made from this input",
        ucd="meta.id",
    )
    input_index: Mapped[int] = vo_column(
        sa.Integer,
        primary_key=True,
        description="Order of the input (the nn of FILEIDnn)",
        ucd="meta.number",
    )
    kind: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        principal=True,
        description="observation, file, dataset, program or product",
        ucd="meta.code.class",
    )
    identifier: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        principal=True,
        description="Identifier of the input (MAST observation id, file name, program id)",
        ucd="meta.id;meta.dataset",
    )
    source: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        description="Where it was read (e.g. FILEID03, PROVENANCE[2].FILENAME, PROPOSID)",
        ucd="meta.ref",
    )
    program_id: Mapped[str | None] = vo_column(
        sa.Text,
        description="Observing program or proposal of the input",
        ucd="meta.id;obs.proposal",
    )
    telescope: Mapped[str | None] = vo_column(
        sa.Text,
        description="Telescope of the input",
        ucd="meta.id;instr.tel",
    )
    instrument: Mapped[str | None] = vo_column(
        sa.Text,
        description="Instrument of the input",
        ucd="meta.id;instr",
    )
    t_min: Mapped[float | None] = vo_column(
        sa.Double,
        description="Start of the input observation (MJD)",
        unit="d",
        ucd="time.start;obs.exposure",
    )
    t_max: Mapped[float | None] = vo_column(
        sa.Double,
        description="End of the input observation (MJD)",
        unit="d",
        ucd="time.end;obs.exposure",
    )

    product: Mapped[Product] = relationship(back_populates="inputs")


class ProvenanceSoftware(Base):
    __tablename__ = "provenance_software"
    __table_args__ = _table_args("The software (and version) that made each product.")

    product_id: Mapped[int] = vo_column(
        sa.BigInteger,
        sa.ForeignKey("product.product_id", ondelete="CASCADE"),
        primary_key=True,
        description="Product the software made",
        ucd="meta.id",
    )
    software_index: Mapped[int] = vo_column(
        sa.Integer,
        primary_key=True,
        description="Order of the software in the chain",
        ucd="meta.number",
    )
    name: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        principal=True,
        description="Software or pipeline name",
        ucd="meta.id;meta.software",
    )
    software_version: Mapped[str | None] = vo_column(
        sa.Text,
        principal=True,
        description="Software version",
        ucd="meta.version;meta.software",
    )
    source: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        description="Keyword it was read from (ORIGIN, CREATOR, PROCVER, CAL_VER, ...)",
        ucd="meta.ref",
    )

    product: Mapped[Product] = relationship(back_populates="software")
