"""Collections, their products (files), and what the guideline check found in them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSON, TSVECTOR
from sqlalchemy.orm import Mapped, relationship

from catalog.model.base import (
    DATAPRODUCT_TYPES,
    HLSP_CALIB_LEVEL,
    ID_UCD,
    SEVERITIES,
    VERDICTS,
    Base,
    _in,
    _table_args,
    _tsvector,
)
from catalog.sphere import SCircle, SkyCircle, SkyPoint, SkyPolygon, SPoint, SPoly
from catalog.vo import vo_column

if TYPE_CHECKING:
    from catalog.model.provenance import ProvenanceInput, ProvenanceSoftware
    from catalog.model.targets import Target


class Collection(Base):
    __tablename__ = "collection"
    __table_args__ = _table_args(
        "High-Level Science Product collections: one row per HLSP (e.g. tglc, k2sff).",
        sa.CheckConstraint(r"hlsp_id ~ '^[a-z0-9][a-z0-9._-]*$'", name="hlsp_id_format"),
        sa.CheckConstraint(r"doi ~ '^10\.[0-9]{4,9}/\S+$'", name="doi_format"),
        sa.Index(None, "search_text", postgresql_using="gin"),
    )

    collection_id: Mapped[int] = vo_column(
        sa.Integer,
        sa.Identity(),
        primary_key=True,
        description="Internal identifier of the collection",
        ucd=ID_UCD,
    )
    hlsp_id: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        unique=True,
        principal=True,
        description="HLSP identifier (the project id of file names, lower case, e.g. 'tglc')",
        ucd="meta.id;meta.dataset",
    )
    title: Mapped[str | None] = vo_column(
        sa.Text,
        principal=True,
        description="Long-form title of the HLSP (HLSPNAME)",
        ucd="meta.title",
    )
    project_lead: Mapped[str | None] = vo_column(
        sa.Text,
        description="Full name of the project lead (HLSPLEAD)",
        ucd="meta.id.PI",
    )
    description: Mapped[str | None] = vo_column(
        sa.Text,
        description="Description of the collection (from its manifest or README)",
        ucd="meta.note",
    )
    doi: Mapped[str | None] = vo_column(
        sa.Text,
        principal=True,
        description="DOI of the collection, e.g. 10.17909/t9-wpz1-8s54",
        ucd="meta.ref.doi",
    )
    license: Mapped[str | None] = vo_column(
        sa.Text,
        description="Licence of the data (LICENSE), e.g. 'CC BY 4.0'",
        ucd="meta.note",
    )
    license_url: Mapped[str | None] = vo_column(
        sa.Text,
        description="URL of the licence text (LICENURL)",
        ucd="meta.ref.url",
    )
    reference_paper: Mapped[str | None] = vo_column(
        sa.Text,
        description="Bibliographic reference of the primary paper (REFERENC: bibcode or ADS URL)",
        ucd="meta.bib",
    )
    landing_url: Mapped[str | None] = vo_column(
        sa.Text,
        description="URL of the collection's landing page",
        ucd="meta.ref.url",
    )
    release_date: Mapped[datetime | None] = vo_column(
        sa.DateTime(timezone=True),
        description="When the collection becomes public (UTC); null means public now",
        ucd="time.release",
    )
    access_group: Mapped[str | None] = vo_column(
        sa.Text,
        description="Group allowed to see the collection before its release date; "
        "null means no restriction",
        ucd="meta.code",
    )
    first_harvested: Mapped[datetime] = vo_column(
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.now(),
        description="When the collection was first harvested (UTC)",
        ucd="time.creation",
    )
    last_harvested: Mapped[datetime] = vo_column(
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.now(),
        description="When the collection was last changed by a harvest (UTC)",
        ucd="time.processing",
    )
    search_text: Mapped[Any] = vo_column(
        TSVECTOR,
        _tsvector(
            ("simple", "hlsp_id", "A"),
            ("english", "title", "A"),
            ("simple", "project_lead", "B"),
            ("english", "description", "C"),
        ),
        description="Full-text search vector over id, title, lead and description",
        published=False,
    )

    products: Mapped[list[Product]] = relationship(back_populates="collection")


class Product(Base):
    __tablename__ = "product"
    __table_args__ = _table_args(
        "HLSP products: one row per file of a collection, with what its headers say.",
        sa.UniqueConstraint("collection_id", "file_name"),
        sa.CheckConstraint(
            "position('/' in file_name) = 0 AND file_name !~ '^\\.|^$'", name="file_name_bare"
        ),
        sa.CheckConstraint("file_bytes >= 0", name="file_bytes_positive"),
        sa.CheckConstraint("calib_level BETWEEN 0 AND 4", name="calib_level_range"),
        sa.CheckConstraint(
            _in("dataproduct_type", DATAPRODUCT_TYPES), name="dataproduct_type_vocabulary"
        ),
        sa.CheckConstraint(_in("verdict", VERDICTS), name="verdict_vocabulary"),
        sa.CheckConstraint("t_min <= t_max", name="time_range_ordered"),
        sa.CheckConstraint("em_min > 0 AND em_min <= em_max", name="wavelength_range_ordered"),
        sa.CheckConstraint("em_max > 0", name="wavelength_positive"),
        sa.CheckConstraint(
            "s_resolution > 0 AND em_res_power > 0 AND t_resolution > 0 AND s_xel1 >= 0 "
            "AND s_xel2 >= 0 AND t_xel >= 0 AND em_xel >= 0 AND hdu_count > 0",
            name="sizes_positive",
        ),
        sa.CheckConstraint("t_exptime >= 0", name="exptime_positive"),
        sa.CheckConstraint("s_fov > 0 AND s_fov <= 360", name="fov_range"),
        sa.Index(None, "pos", postgresql_using="gist"),
        sa.CheckConstraint(
            "(footprint IS NULL) = (footprint_bound IS NULL)", name="footprint_bound_present"
        ),
        sa.CheckConstraint("footprint <@ footprint_bound", name="footprint_within_bound"),
        sa.Index(None, "footprint_bound", postgresql_using="gist"),
        sa.Index(None, "obs_id"),
        sa.Index(None, "t_min", "t_max"),
        sa.Index(None, "em_min", "em_max"),
        sa.Index(None, "instrument"),
        sa.Index(None, "target_name"),
        sa.Index(None, "verdict", postgresql_where=sa.text("verdict <> 'PASS'")),
        sa.Index(None, "harvest_run_id"),
        # GraphQL: product(fileName), and a collection's products page by page.
        sa.Index(None, "file_name"),
        sa.Index(None, "collection_id", "product_id"),
        # ObsCore sorted or cut by coordinate or by size (ORDER BY s_ra, s_dec BETWEEN, the
        # largest files first): without these, every such TOP n sorted the whole table.
        sa.Index(None, "s_ra"),
        sa.Index(None, "s_dec"),
        sa.Index("product_access_estsize_idx", sa.text("((file_bytes + 999) / 1000)")),
    )

    product_id: Mapped[int] = vo_column(
        sa.BigInteger,
        sa.Identity(),
        primary_key=True,
        description="Internal identifier of the product",
        ucd=ID_UCD,
    )
    collection_id: Mapped[int] = vo_column(
        sa.Integer,
        sa.ForeignKey("collection.collection_id", ondelete="RESTRICT"),
        nullable=False,
        description="Collection the product belongs to",
        ucd="meta.id;meta.dataset",
    )
    file_name: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        principal=True,
        description="File name of the product, without directory",
        ucd="meta.id;meta.file",
    )
    obs_id: Mapped[str] = vo_column(
        sa.Text,
        sa.Computed(
            r"regexp_replace(file_name, '(\.[A-Za-z0-9]+)?(\.(gz|bz2|xz|zip|fz))?$', '')",
            persisted=True,
        ),
        description="File name without its extension(s): ObsCore obs_id",
        ucd="meta.id",
    )
    file_path: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        description="Path of the file where it was harvested",
        ucd="meta.ref;meta.file",
        published=False,
    )
    access_url: Mapped[str | None] = vo_column(
        sa.Text,
        description="URL to download the file (built when served, from the server's public "
        "URL; empty in the stored table)",
        ucd="meta.ref.url",
        utype="obscore:Access.Reference",
    )
    file_format: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        server_default="application/fits",
        description="MIME type of the file",
        ucd="meta.code.mime",
        utype="obscore:Access.Format",
    )
    file_bytes: Mapped[int] = vo_column(
        sa.BigInteger,
        nullable=False,
        description="Size of the file",
        unit="byte",
        ucd="phys.size;meta.file",
    )
    file_mtime: Mapped[datetime] = vo_column(
        sa.DateTime(timezone=True),
        nullable=False,
        description="Modification time of the file when harvested (UTC)",
        ucd="time.processing",
    )
    checksum: Mapped[str | None] = vo_column(
        sa.Text,
        description="Checksum of the file as 'algorithm:hex' (e.g. the FITS DATASUM)",
        ucd="meta.code",
    )
    hdu_count: Mapped[int | None] = vo_column(
        sa.Integer,
        description="Number of HDUs in the file",
        ucd="meta.number",
    )
    product_version: Mapped[str | None] = vo_column(
        sa.Text,
        principal=True,
        description="Version of the product (HLSPVER, else the file-name version, e.g. 'v1')",
        ucd="meta.version",
    )
    product_type: Mapped[str | None] = vo_column(
        sa.Text,
        principal=True,
        description="Product type from the file name (e.g. 'lc', 'img', 'spec', 'cat')",
        ucd="meta.code.class",
    )
    dataproduct_type: Mapped[str | None] = vo_column(
        sa.Text,
        principal=True,
        description="ObsCore data product type (image, spectrum, "
        "timeseries, cube, sed, measurements, ...)",
        ucd="meta.code.class",
        utype="obscore:ObsDataset.dataProductType",
    )
    calib_level: Mapped[int] = vo_column(
        sa.Integer,
        nullable=False,
        server_default=str(HLSP_CALIB_LEVEL),
        description="ObsCore calibration level (4: analysis product, as for all HLSPs)",
        ucd="meta.code;obs.calib",
        utype="obscore:ObsDataset.calibLevel",
    )
    observatory: Mapped[str | None] = vo_column(
        sa.Text,
        description="Observatory (OBSERVAT), or MULTI",
        ucd="meta.id;instr.obsty",
    )
    telescope: Mapped[str | None] = vo_column(
        sa.Text,
        principal=True,
        description="Telescope (TELESCOP), or MULTI",
        ucd="meta.id;instr.tel",
        utype="obscore:Provenance.ObsConfig.Facility.name",
    )
    instrument: Mapped[str | None] = vo_column(
        sa.Text,
        principal=True,
        description="Instrument (INSTRUME), or MULTI",
        ucd="meta.id;instr",
        utype="obscore:Provenance.ObsConfig.Instrument.name",
    )
    detector: Mapped[str | None] = vo_column(
        sa.Text,
        description="Detector (DETECTOR)",
        ucd="meta.id;instr.det",
    )
    filter_name: Mapped[str | None] = vo_column(
        sa.Text,
        principal=True,
        description="Filter or bandpass (FILTER), or MULTI",
        ucd="meta.id;instr.filter",
    )
    aperture: Mapped[str | None] = vo_column(
        sa.Text,
        description="Aperture (APERTURE)",
        ucd="meta.id;instr.param",
    )
    disperser: Mapped[str | None] = vo_column(
        sa.Text,
        description="Dispersive element (DISPRSR/DISPERSR/GRATING), or MULTI",
        ucd="meta.id;instr.dispElement",
    )
    target_name: Mapped[str | None] = vo_column(
        sa.Text,
        principal=True,
        description="Target designation as given by the file",
        ucd="meta.id;src",
        utype="obscore:Target.Name",
    )
    pos: Mapped[SkyPoint | None] = vo_column(
        SPoint(),
        description="Position of the target or field centre (ICRS)",
        unit="deg",
        ucd="pos.eq;meta.main",
    )
    s_ra: Mapped[float | None] = vo_column(
        sa.Double,
        sa.Computed("degrees(long(pos))", persisted=True),
        principal=True,
        description="Right ascension of the target or field centre (ICRS)",
        unit="deg",
        ucd="pos.eq.ra;meta.main",
        utype="obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1",
    )
    s_dec: Mapped[float | None] = vo_column(
        sa.Double,
        sa.Computed("degrees(lat(pos))", persisted=True),
        principal=True,
        description="Declination of the target or field centre (ICRS)",
        unit="deg",
        ucd="pos.eq.dec;meta.main",
        utype="obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2",
    )
    footprint: Mapped[SkyPolygon | None] = vo_column(
        SPoly(),
        description="Sky footprint of the data (ICRS polygon), from an image WCS",
        unit="deg",
        ucd="pos.outline;obs.field",
    )
    footprint_bound: Mapped[SkyCircle | None] = vo_column(
        SCircle(),
        published=False,
        unit="deg",
        ucd="pos.outline",
        description="Circle holding the footprint (GiST-indexed; region queries test it "
        "first), set by the harvester or from the footprint by a trigger",
    )
    s_fov: Mapped[float | None] = vo_column(
        sa.Double,
        description="Diameter of the region covered",
        unit="deg",
        ucd="phys.angSize;instr.fov",
        utype="obscore:Char.SpatialAxis.Coverage.Bounds.Extent.diameter",
    )
    s_resolution: Mapped[float | None] = vo_column(
        sa.Double,
        description="Spatial resolution (PSF FWHM)",
        unit="arcsec",
        ucd="pos.angResolution",
        utype="obscore:Char.SpatialAxis.Resolution.Refval.value",
    )
    s_xel1: Mapped[int | None] = vo_column(
        sa.BigInteger,
        description="Number of pixels along the first spatial axis",
        ucd="meta.number",
        utype="obscore:Char.SpatialAxis.numBins1",
    )
    s_xel2: Mapped[int | None] = vo_column(
        sa.BigInteger,
        description="Number of pixels along the second spatial axis",
        ucd="meta.number",
        utype="obscore:Char.SpatialAxis.numBins2",
    )
    t_min: Mapped[float | None] = vo_column(
        sa.Double,
        principal=True,
        description="Start of the observations (MJD, in time_scale)",
        unit="d",
        ucd="time.start;obs.exposure",
        utype="obscore:Char.TimeAxis.Coverage.Bounds.Limits.StartTime",
    )
    t_max: Mapped[float | None] = vo_column(
        sa.Double,
        principal=True,
        description="End of the observations (MJD)",
        unit="d",
        ucd="time.end;obs.exposure",
        utype="obscore:Char.TimeAxis.Coverage.Bounds.Limits.StopTime",
    )
    time_scale: Mapped[str | None] = vo_column(
        sa.Text,
        description="Time scale of t_min and t_max as the file states it (TIMESYS: "
        "UTC, TDB, TT, ...)",
        ucd="time.scale",
    )
    t_exptime: Mapped[float | None] = vo_column(
        sa.Double,
        description="Effective exposure time (XPOSURE)",
        unit="s",
        ucd="time.duration;obs.exposure",
        utype="obscore:Char.TimeAxis.Coverage.Support.Extent",
    )
    t_resolution: Mapped[float | None] = vo_column(
        sa.Double,
        description="Time resolution (cadence of a light curve)",
        unit="s",
        ucd="time.resolution",
        utype="obscore:Char.TimeAxis.Resolution.Refval.value",
    )
    t_xel: Mapped[int | None] = vo_column(
        sa.BigInteger,
        description="Number of time samples",
        ucd="meta.number",
        utype="obscore:Char.TimeAxis.numBins",
    )
    em_min: Mapped[float | None] = vo_column(
        sa.Double,
        description="Shortest wavelength covered",
        unit="m",
        ucd="em.wl;stat.min",
        utype="obscore:Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit",
    )
    em_max: Mapped[float | None] = vo_column(
        sa.Double,
        description="Longest wavelength covered",
        unit="m",
        ucd="em.wl;stat.max",
        utype="obscore:Char.SpectralAxis.Coverage.Bounds.Limits.HiLimit",
    )
    em_res_power: Mapped[float | None] = vo_column(
        sa.Double,
        description="Spectral resolving power lambda/dlambda",
        ucd="spect.resolution",
        utype="obscore:Char.SpectralAxis.Resolution.ResolPower.refVal",
    )
    em_xel: Mapped[int | None] = vo_column(
        sa.BigInteger,
        description="Number of spectral samples",
        ucd="meta.number",
        utype="obscore:Char.SpectralAxis.numBins",
    )
    o_ucd: Mapped[str | None] = vo_column(
        sa.Text,
        description="UCD of the observable (e.g. phot.flux.density)",
        ucd="meta.ucd",
        utype="obscore:Char.ObservableAxis.ucd",
    )
    simulated: Mapped[bool] = vo_column(
        sa.Boolean,
        nullable=False,
        server_default=sa.false(),
        description="True for simulated data (SIMULATD = T)",
        ucd="meta.code",
    )
    headers: Mapped[Any] = vo_column(
        JSON,
        nullable=False,
        server_default=sa.text("'[]'::json"),
        description="Raw FITS headers as written (json): one object per HDU, with its cards",
        published=False,
    )
    verdict: Mapped[str | None] = vo_column(
        sa.Text,
        principal=True,
        description="Guideline check verdict: PASS, NEEDS REVIEW or FAIL (null: not checked)",
        ucd="meta.code.qual",
    )
    release_date: Mapped[datetime | None] = vo_column(
        sa.DateTime(timezone=True),
        description="When the product becomes public (UTC); null: as its collection",
        ucd="time.release",
    )
    access_group: Mapped[str | None] = vo_column(
        sa.Text,
        description="Group allowed to see the product before its release date",
        ucd="meta.code",
    )
    withdrawn_at: Mapped[datetime | None] = vo_column(
        sa.DateTime(timezone=True),
        description="When the file was found gone from its collection (kept, flagged); null "
        "while present",
        ucd="time.end;meta.file",
    )
    first_harvested: Mapped[datetime] = vo_column(
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.now(),
        description="When the product was first harvested (UTC)",
        ucd="time.creation",
    )
    last_harvested: Mapped[datetime] = vo_column(
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.now(),
        description="When the product row was last written by a harvest (UTC)",
        ucd="time.processing",
    )
    harvest_run_id: Mapped[int | None] = vo_column(
        sa.BigInteger,
        sa.ForeignKey("harvest_run.run_id", ondelete="SET NULL"),
        description="Harvest run that last wrote the row",
        ucd="meta.id",
        published=False,
    )

    collection: Mapped[Collection] = relationship(back_populates="products")
    targets: Mapped[list[Target]] = relationship(
        secondary="hlsp.product_target", back_populates="products"
    )
    inputs: Mapped[list[ProvenanceInput]] = relationship(
        back_populates="product",
        cascade="all, delete-orphan",
        order_by="ProvenanceInput.input_index",
    )
    software: Mapped[list[ProvenanceSoftware]] = relationship(
        back_populates="product",
        cascade="all, delete-orphan",
        order_by="ProvenanceSoftware.software_index",
    )
    findings: Mapped[list[ProductFinding]] = relationship(
        back_populates="product",
        cascade="all, delete-orphan",
        order_by="ProductFinding.finding_index",
    )


class ProductFinding(Base):
    __tablename__ = "product_finding"
    __table_args__ = _table_args(
        "What the guideline check found in each product (one row per finding).",
        sa.CheckConstraint(_in("severity", SEVERITIES), name="severity_vocabulary"),
        sa.Index(None, "code"),
    )

    product_id: Mapped[int] = vo_column(
        sa.BigInteger,
        sa.ForeignKey("product.product_id", ondelete="CASCADE"),
        primary_key=True,
        description="Product the finding concerns",
        ucd="meta.id",
    )
    finding_index: Mapped[int] = vo_column(
        sa.Integer,
        primary_key=True,
        description="Order of the finding within the product",
        ucd="meta.number",
    )
    code: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        principal=True,
        description="Stable code of the rule (e.g. HLSP-K012)",
        ucd="meta.code.error",
    )
    severity: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        principal=True,
        description="error, warning or info",
        ucd="meta.code.qual",
    )
    hdu: Mapped[int | None] = vo_column(
        sa.Integer,
        description="HDU index the finding concerns (0: primary)",
        ucd="meta.number",
    )
    keyword: Mapped[str | None] = vo_column(
        sa.Text,
        description="FITS keyword the finding concerns",
        ucd="meta.id",
    )
    message: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        principal=True,
        description="What is wrong and how to fix it",
        ucd="meta.note",
    )

    product: Mapped[Product] = relationship(back_populates="findings")
