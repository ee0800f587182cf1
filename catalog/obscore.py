"""``ivoa.obscore``: the ObsCore 1.1 view over product ⋈ collection, and its metadata.

The view itself is created by the migrations (SQL in ``migrations/versions``); this module
declares its columns with their ObsCore types, units, UCDs and utypes (ObsCore 1.1 §4 and
Appendix C), so TAP_SCHEMA and VOTable FIELDs come from one place. A test checks that the
columns of the view in the database agree with this declaration.

MAST conventions, so that users' existing queries carry over: ``obs_collection`` = 'HLSP',
``provenance_name`` = the HLSP id, ``calib_level`` = 4, ``obs_id`` = the file name without
extension, ``obs_publisher_did`` = ``<authority>?<hlsp_id>/<file_name>`` (unique: two files of one
observation, e.g. ``.fits`` and ``.txt``, share an ``obs_id`` but not a DID).

Three unpublished columns, ``pos`` (spoint), ``footprint`` (spoly) and ``footprint_bound``
(a circle holding the footprint), let query translators express cone and region
constraints on the GiST indexes of ``hlsp.product`` (see :mod:`catalog.sphere`).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from catalog.sphere import SCircle, SPoint, SPoly
from catalog.vo import TableMeta, plain_column

view_metadata = sa.MetaData(schema="ivoa")

_OBS = "obscore:"


def _std(  # noqa: PLR0917 - a table of columns reads best positionally
    name: str,
    type_: sa.types.TypeEngine[Any] | type[sa.types.TypeEngine[Any]],
    ucd: str,
    utype: str,
    description: str,
    unit: str | None = None,
    *,
    nullable: bool = True,
) -> sa.Column[object]:
    return plain_column(
        name,
        type_,
        description=description,
        unit=unit,
        ucd=ucd,
        utype=_OBS + utype,
        principal=True,
        std=True,
        nullable=nullable,
    )


obscore = sa.Table(
    "obscore",
    view_metadata,
    _std(
        "dataproduct_type",
        sa.Text,
        "meta.code.class",
        "ObsDataset.dataProductType",
        "Data product type: image, cube, spectrum, sed, timeseries, measurements, ...",
    ),
    _std(
        "calib_level",
        sa.Integer,
        "meta.code;obs.calib",
        "ObsDataset.calibLevel",
        "Calibration level (4 for HLSPs)",
        nullable=False,
    ),
    _std(
        "obs_collection",
        sa.Text,
        "meta.id",
        "DataID.Collection",
        "Name of the data collection ('HLSP')",
        nullable=False,
    ),
    _std(
        "obs_id",
        sa.Text,
        "meta.id",
        "DataID.observationID",
        "Observation id: the file name without extension",
        nullable=False,
    ),
    _std(
        "obs_publisher_did",
        sa.Text,
        "meta.ref.ivoid",
        "Curation.PublisherDID",
        "IVOA dataset identifier of the product",
        nullable=False,
    ),
    _std("access_url", sa.Text, "meta.ref.url", "Access.Reference", "URL to download the file"),
    _std("access_format", sa.Text, "meta.code.mime", "Access.Format", "MIME type of the file"),
    _std(
        "access_estsize",
        sa.BigInteger,
        "phys.size;meta.file",
        "Access.Size",
        "Estimated size of the file",
        "kbyte",
    ),
    _std("target_name", sa.Text, "meta.id;src", "Target.Name", "Target designation"),
    _std(
        "s_ra",
        sa.Double,
        "pos.eq.ra",
        "Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1",
        "Right ascension of the target or field centre (ICRS)",
        "deg",
    ),
    _std(
        "s_dec",
        sa.Double,
        "pos.eq.dec",
        "Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2",
        "Declination of the target or field centre (ICRS)",
        "deg",
    ),
    _std(
        "s_fov",
        sa.Double,
        "phys.angSize;instr.fov",
        "Char.SpatialAxis.Coverage.Bounds.Extent.diameter",
        "Diameter of the covered region",
        "deg",
    ),
    plain_column(
        "s_region",
        sa.Text,
        description="Sky footprint as an STC-S polygon (ICRS, degrees)",
        ucd="pos.outline;obs.field",
        utype=_OBS + "Char.SpatialAxis.Coverage.Support.Area",
        principal=True,
        std=True,
        xtype="adql:REGION",
    ),
    _std(
        "s_resolution",
        sa.Double,
        "pos.angResolution",
        "Char.SpatialAxis.Resolution.Refval.value",
        "Spatial resolution (PSF FWHM)",
        "arcsec",
    ),
    _std(
        "s_xel1",
        sa.BigInteger,
        "meta.number",
        "Char.SpatialAxis.numBins1",
        "Number of pixels along the first spatial axis",
    ),
    _std(
        "s_xel2",
        sa.BigInteger,
        "meta.number",
        "Char.SpatialAxis.numBins2",
        "Number of pixels along the second spatial axis",
    ),
    _std(
        "t_min",
        sa.Double,
        "time.start;obs.exposure",
        "Char.TimeAxis.Coverage.Bounds.Limits.StartTime",
        "Start time (MJD)",
        "d",
    ),
    _std(
        "t_max",
        sa.Double,
        "time.end;obs.exposure",
        "Char.TimeAxis.Coverage.Bounds.Limits.StopTime",
        "Stop time (MJD)",
        "d",
    ),
    _std(
        "t_exptime",
        sa.Double,
        "time.duration;obs.exposure",
        "Char.TimeAxis.Coverage.Support.Extent",
        "Total exposure time",
        "s",
    ),
    _std(
        "t_resolution",
        sa.Double,
        "time.resolution",
        "Char.TimeAxis.Resolution.Refval.value",
        "Time resolution",
        "s",
    ),
    _std("t_xel", sa.BigInteger, "meta.number", "Char.TimeAxis.numBins", "Number of time samples"),
    _std(
        "em_min",
        sa.Double,
        "em.wl;stat.min",
        "Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit",
        "Shortest wavelength covered",
        "m",
    ),
    _std(
        "em_max",
        sa.Double,
        "em.wl;stat.max",
        "Char.SpectralAxis.Coverage.Bounds.Limits.HiLimit",
        "Longest wavelength covered",
        "m",
    ),
    _std(
        "em_res_power",
        sa.Double,
        "spect.resolution",
        "Char.SpectralAxis.Resolution.ResolPower.refVal",
        "Spectral resolving power",
    ),
    _std(
        "em_xel",
        sa.BigInteger,
        "meta.number",
        "Char.SpectralAxis.numBins",
        "Number of spectral samples",
    ),
    _std("o_ucd", sa.Text, "meta.ucd", "Char.ObservableAxis.ucd", "UCD of the observable"),
    _std(
        "pol_states",
        sa.Text,
        "meta.code;phys.polarization",
        "Char.PolarizationAxis.stateList",
        "Polarization states (none for HLSPs so far)",
    ),
    _std(
        "pol_xel",
        sa.BigInteger,
        "meta.number",
        "Char.PolarizationAxis.numBins",
        "Number of polarization samples",
    ),
    _std(
        "facility_name",
        sa.Text,
        "meta.id;instr.tel",
        "Provenance.ObsConfig.Facility.name",
        "Telescope or observatory",
    ),
    _std(
        "instrument_name",
        sa.Text,
        "meta.id;instr",
        "Provenance.ObsConfig.Instrument.name",
        "Instrument",
    ),
    _std(
        "obs_release_date",
        sa.DateTime(timezone=False),
        "time.release",
        "Curation.releaseDate",
        "When the data became or become public (UTC)",
    ),
    plain_column(
        "provenance_name",
        sa.Text,
        description="HLSP identifier of the collection the product belongs to (MAST convention)",
        ucd="meta.id;meta.dataset",
        principal=True,
    ),
    plain_column(
        "product_id",
        sa.BigInteger,
        description="Identifier of the product in "
        "hlsp.product (to join provenance, targets, findings)",
        ucd="meta.id",
    ),
    plain_column(
        "pos",
        SPoint(),
        description="Position as a pg_sphere point (query translation only)",
        unit="deg",
        ucd="pos.eq",
        published=False,
    ),
    plain_column(
        "footprint",
        SPoly(),
        description="Footprint as a pg_sphere polygon (query translation only)",
        unit="deg",
        ucd="pos.outline",
        published=False,
    ),
    plain_column(
        "footprint_bound",
        SCircle(),
        description="A circle holding the footprint "
        "(query translation only: its GiST index finds regions)",
        unit="deg",
        ucd="pos.outline",
        published=False,
    ),
    comment="ObsCore 1.1 view of the HLSP products",
    info={
        "vo": TableMeta(
            "ObsCore 1.1: one row per HLSP product, as MAST serves HLSPs",
            utype="ivo://ivoa.net/std/ObsCore#core-1.1",
        )
    },
)
