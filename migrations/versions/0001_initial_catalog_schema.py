"""Initial catalog schema: pg_sphere, schemas hlsp and ivoa, the model, ivoa.obscore, roles.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 21:34:32.572358
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


class _PgType(sa.types.UserDefinedType):  # type: ignore[type-arg]
    """pg_sphere types as DDL only: migrations must not depend on the live model code."""

    cache_ok = True

    def __init__(self, name: str) -> None:
        self.name = name

    def get_col_spec(self, **kw: object) -> str:
        return self.name


SPOINT = _PgType("spoint")
SPOLY = _PgType("spoly")
READER = "hlsp_reader"
DEFAULT_AUTHORITY = "ivo://hlsp.example/catalog"
UNPUBLISHED_COLUMNS = ("file_path", "headers", "harvest_run_id", "search_text")
PUBLISHED = (
    "collection",
    "product",
    "product_finding",
    "target",
    "target_alias",
    "product_target",
    "provenance_input",
    "provenance_software",
)

# STC-S from a pg_sphere polygon. pg_sphere 1.1 has no vertex accessor, so the text output is
# parsed: radians by default, degrees with a 'd' suffix if a session chose DEG output.
STCS_FUNCTION = r"""
CREATE FUNCTION hlsp.spoly_to_stcs(p spoly) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  SELECT 'Polygon ICRS ' || string_agg(
           trim_scale(round((CASE WHEN m[2] = 'd' THEN m[1]::float8
                                  ELSE degrees(m[1]::float8) END)::numeric, 10))::text
           || ' ' ||
           trim_scale(round((CASE WHEN m[4] = 'd' THEN m[3]::float8
                                  ELSE degrees(m[3]::float8) END)::numeric, 10))::text,
           ' ' ORDER BY n)
  FROM regexp_matches(p::text,
         '\(\s*([-+0-9.eE]+)(d?)\s*,\s*([-+0-9.eE]+)(d?)\s*\)', 'g')
       WITH ORDINALITY AS t(m, n)
$$
"""

OBSCORE_VIEW = """
CREATE VIEW ivoa.obscore AS
SELECT
  p.dataproduct_type,
  p.calib_level,
  'HLSP'::text AS obs_collection,
  p.obs_id,
  (SELECT s.setting_value FROM hlsp.setting s WHERE s.name = 'ivoa_authority')
    || '?' || c.hlsp_id || '/' || p.file_name AS obs_publisher_did,
  p.access_url,
  p.file_format AS access_format,
  (p.file_bytes + 999) / 1000 AS access_estsize,
  p.target_name,
  p.s_ra,
  p.s_dec,
  p.s_fov,
  hlsp.spoly_to_stcs(p.footprint) AS s_region,
  p.s_resolution,
  p.s_xel1,
  p.s_xel2,
  p.t_min,
  p.t_max,
  p.t_exptime,
  p.t_resolution,
  p.t_xel,
  p.em_min,
  p.em_max,
  p.em_res_power,
  p.em_xel,
  p.o_ucd,
  NULL::text AS pol_states,
  NULL::bigint AS pol_xel,
  coalesce(p.telescope, p.observatory) AS facility_name,
  p.instrument AS instrument_name,
  (coalesce(p.release_date, c.release_date, p.first_harvested) AT TIME ZONE 'UTC')
    AS obs_release_date,
  c.hlsp_id AS provenance_name,
  p.product_id,
  p.pos,
  p.footprint
FROM hlsp.product p
JOIN hlsp.collection c ON c.collection_id = p.collection_id
WHERE p.withdrawn_at IS NULL
"""


def _create_reader_role() -> None:
    op.execute(f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READER}') THEN
            CREATE ROLE {READER} NOLOGIN;
          END IF;
        END $$""")
    op.execute(f"COMMENT ON ROLE {READER} IS 'Read-only role for query traffic (TAP, GraphQL)'")
    # Let the owner switch to the role (SET LOCAL ROLE) for query traffic.
    op.execute(f"""
        DO $$ BEGIN
          IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            EXECUTE format('GRANT {READER} TO %I', current_user);
          END IF;
        END $$""")
    op.execute(f"GRANT USAGE ON SCHEMA hlsp, ivoa TO {READER}")
    # Column-level grants: the reader sees published columns only (not file paths, raw headers).
    for table in PUBLISHED:
        op.execute(f"""
            DO $$ BEGIN
              EXECUTE (
                SELECT format('GRANT SELECT (%s) ON hlsp.{table} TO {READER}',
                              string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position))
                FROM information_schema.columns
                WHERE table_schema = 'hlsp' AND table_name = '{table}'
                  AND column_name <> ALL (ARRAY{list(UNPUBLISHED_COLUMNS)}::text[]));
            END $$""")
    op.execute(f"GRANT SELECT ON ivoa.obscore TO {READER}")


def _drop_reader_role() -> None:
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA hlsp, ivoa FROM {READER}")
    op.execute(f"REVOKE ALL ON SCHEMA hlsp, ivoa FROM {READER}")
    # Roles are global to the server: keep it if another database still grants it anything.
    op.execute(f"""
        DO $$ BEGIN
          DROP ROLE IF EXISTS {READER};
        EXCEPTION WHEN dependent_objects_still_exist THEN
          RAISE NOTICE 'role {READER} kept: other databases use it';
        END $$""")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_sphere")
    op.execute("CREATE SCHEMA IF NOT EXISTS hlsp")
    op.execute("CREATE SCHEMA IF NOT EXISTS ivoa")
    op.execute(
        "COMMENT ON SCHEMA hlsp IS 'The HLSP catalog: collections, products, targets, provenance'"
    )
    op.execute("COMMENT ON SCHEMA ivoa IS 'IVOA standard views (ObsCore 1.1)'")
    op.create_table(
        "collection",
        sa.Column(
            "collection_id",
            sa.Integer(),
            sa.Identity(always=False),
            nullable=False,
            comment="Internal identifier of the collection",
        ),
        sa.Column(
            "hlsp_id",
            sa.Text(),
            nullable=False,
            comment="HLSP identifier (the project id of file names, lower case, e.g. 'tglc')",
        ),
        sa.Column(
            "title", sa.Text(), nullable=True, comment="Long-form title of the HLSP (HLSPNAME)"
        ),
        sa.Column(
            "project_lead",
            sa.Text(),
            nullable=True,
            comment="Full name of the project lead (HLSPLEAD)",
        ),
        sa.Column(
            "description",
            sa.Text(),
            nullable=True,
            comment="Description of the collection (from its manifest or README)",
        ),
        sa.Column(
            "doi",
            sa.Text(),
            nullable=True,
            comment="DOI of the collection, e.g. 10.17909/t9-wpz1-8s54",
        ),
        sa.Column(
            "license",
            sa.Text(),
            nullable=True,
            comment="Licence of the data (LICENSE), e.g. 'CC BY 4.0'",
        ),
        sa.Column(
            "license_url", sa.Text(), nullable=True, comment="URL of the licence text (LICENURL)"
        ),
        sa.Column(
            "reference_paper",
            sa.Text(),
            nullable=True,
            comment="Bibliographic reference of the primary paper (REFERENC: bibcode or ADS URL)",
        ),
        sa.Column(
            "landing_url", sa.Text(), nullable=True, comment="URL of the collection's landing page"
        ),
        sa.Column(
            "release_date",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When the collection becomes public (UTC); null means public now",
        ),
        sa.Column(
            "access_group",
            sa.Text(),
            nullable=True,
            comment="Group allowed to see the collection before its release date; null means no restriction",
        ),
        sa.Column(
            "first_harvested",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the collection was first harvested (UTC)",
        ),
        sa.Column(
            "last_harvested",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the collection was last changed by a harvest (UTC)",
        ),
        sa.Column(
            "search_text",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('simple'::regconfig, coalesce(hlsp_id, '')), 'A') || setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || setweight(to_tsvector('simple'::regconfig, coalesce(project_lead, '')), 'B') || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'C')",
                persisted=True,
            ),
            nullable=False,
            comment="Full-text search vector over id, title, lead and description",
        ),
        sa.CheckConstraint(
            "doi ~ '^10\\.[0-9]{4,9}/\\S+$'", name=op.f("collection_doi_format_check")
        ),
        sa.CheckConstraint(
            "hlsp_id ~ '^[a-z0-9][a-z0-9._-]*$'", name=op.f("collection_hlsp_id_format_check")
        ),
        sa.PrimaryKeyConstraint("collection_id", name=op.f("collection_pkey")),
        sa.UniqueConstraint("hlsp_id", name=op.f("collection_hlsp_id_key")),
        schema="hlsp",
        comment="High-Level Science Product collections: one row per HLSP (e.g. tglc, k2sff).",
    )
    op.create_index(
        op.f("collection_search_text_idx"),
        "collection",
        ["search_text"],
        unique=False,
        schema="hlsp",
        postgresql_using="gin",
    )
    op.create_table(
        "harvest_run",
        sa.Column(
            "run_id",
            sa.BigInteger(),
            sa.Identity(always=False),
            nullable=False,
            comment="Identifier of the run",
        ),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the run started (UTC)",
        ),
        sa.Column(
            "finished_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When the run ended (UTC)",
        ),
        sa.Column(
            "state",
            sa.Text(),
            server_default="running",
            nullable=False,
            comment="running, completed, interrupted or failed",
        ),
        sa.Column(
            "arguments",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
            comment="What the run was asked to do (paths, collection, options)",
        ),
        sa.Column("host", sa.Text(), nullable=True, comment="Host the run ran on"),
        sa.Column(
            "software_version", sa.Text(), nullable=True, comment="Version of hlsp-catalog that ran"
        ),
        sa.Column(
            "files_seen", sa.Integer(), server_default="0", nullable=False, comment="Files found"
        ),
        sa.Column(
            "files_added",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="New products written",
        ),
        sa.Column(
            "files_updated",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="Changed products rewritten",
        ),
        sa.Column(
            "files_unchanged",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="Files skipped as unchanged (same size and mtime)",
        ),
        sa.Column(
            "files_failed",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="Files that failed",
        ),
        sa.Column(
            "files_withdrawn",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="Products whose files disappeared",
        ),
        sa.CheckConstraint(
            "state IN ('running', 'completed', 'interrupted', 'failed')",
            name=op.f("harvest_run_state_vocabulary_check"),
        ),
        sa.CheckConstraint(
            "finished_at >= started_at", name=op.f("harvest_run_finished_after_start_check")
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("harvest_run_pkey")),
        schema="hlsp",
        comment="Audit of harvest runs: what was asked, when, and what happened to every file.",
    )
    op.create_table(
        "setting",
        sa.Column("name", sa.Text(), nullable=False, comment="Setting name"),
        sa.Column("setting_value", sa.Text(), nullable=False, comment="Setting value"),
        sa.PrimaryKeyConstraint("name", name=op.f("setting_pkey")),
        schema="hlsp",
        comment="Service settings that SQL needs (e.g. the IVOA authority of publisher DIDs).",
    )
    op.create_table(
        "target",
        sa.Column(
            "target_id",
            sa.BigInteger(),
            sa.Identity(always=False),
            nullable=False,
            comment="Internal identifier of the target",
        ),
        sa.Column("name", sa.Text(), nullable=False, comment="Preferred designation"),
        sa.Column("pos", SPOINT, nullable=True, comment="Position of the target (ICRS)"),
        sa.Column(
            "s_ra",
            sa.Double(),
            sa.Computed("degrees(long(pos))", persisted=True),
            nullable=True,
            comment="Right ascension of the target (ICRS)",
        ),
        sa.Column(
            "s_dec",
            sa.Double(),
            sa.Computed("degrees(lat(pos))", persisted=True),
            nullable=True,
            comment="Declination of the target (ICRS)",
        ),
        sa.Column(
            "object_type",
            sa.Text(),
            nullable=True,
            comment="Class of object (star, galaxy, field, ...)",
        ),
        sa.PrimaryKeyConstraint("target_id", name=op.f("target_pkey")),
        schema="hlsp",
        comment="Astronomical targets and fields, shared across collections.",
    )
    op.create_index(
        op.f("target_pos_idx"),
        "target",
        ["pos"],
        unique=False,
        schema="hlsp",
        postgresql_using="gist",
    )
    op.create_table(
        "harvest_failure",
        sa.Column(
            "failure_id",
            sa.BigInteger(),
            sa.Identity(always=False),
            nullable=False,
            comment="Identifier of the failure",
        ),
        sa.Column(
            "run_id", sa.BigInteger(), nullable=False, comment="Run in which the file failed"
        ),
        sa.Column("file_path", sa.Text(), nullable=False, comment="Path of the file"),
        sa.Column("code", sa.Text(), nullable=False, comment="Stable code of the failure kind"),
        sa.Column("reason", sa.Text(), nullable=False, comment="What went wrong"),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the failure happened (UTC)",
        ),
        sa.Column(
            "file_bytes",
            sa.BigInteger(),
            nullable=True,
            comment="Size of the file, if it could be read",
        ),
        sa.Column(
            "file_mtime",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Modification time of the file",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["hlsp.harvest_run.run_id"],
            name=op.f("harvest_failure_run_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("failure_id", name=op.f("harvest_failure_pkey")),
        sa.UniqueConstraint(
            "run_id", "file_path", name=op.f("harvest_failure_run_id_file_path_key")
        ),
        schema="hlsp",
        comment="Every file a harvest could not read or load, with the reason.",
    )
    op.create_index(
        op.f("harvest_failure_file_path_idx"),
        "harvest_failure",
        ["file_path"],
        unique=False,
        schema="hlsp",
    )
    op.create_table(
        "product",
        sa.Column(
            "product_id",
            sa.BigInteger(),
            sa.Identity(always=False),
            nullable=False,
            comment="Internal identifier of the product",
        ),
        sa.Column(
            "collection_id",
            sa.Integer(),
            nullable=False,
            comment="Collection the product belongs to",
        ),
        sa.Column(
            "file_name",
            sa.Text(),
            nullable=False,
            comment="File name of the product, without directory",
        ),
        sa.Column(
            "obs_id",
            sa.Text(),
            sa.Computed(
                "regexp_replace(file_name, '(\\.[A-Za-z0-9]+)?(\\.(gz|bz2|xz|zip|fz))?$', '')",
                persisted=True,
            ),
            nullable=False,
            comment="File name without its extension(s): ObsCore obs_id",
        ),
        sa.Column(
            "file_path",
            sa.Text(),
            nullable=False,
            comment="Path of the file where it was harvested",
        ),
        sa.Column("access_url", sa.Text(), nullable=True, comment="URL to download the file"),
        sa.Column(
            "file_format",
            sa.Text(),
            server_default="application/fits",
            nullable=False,
            comment="MIME type of the file",
        ),
        sa.Column("file_bytes", sa.BigInteger(), nullable=False, comment="Size of the file"),
        sa.Column(
            "file_mtime",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="Modification time of the file when harvested (UTC)",
        ),
        sa.Column(
            "checksum",
            sa.Text(),
            nullable=True,
            comment="Checksum of the file as 'algorithm:hex' (e.g. the FITS DATASUM)",
        ),
        sa.Column("hdu_count", sa.Integer(), nullable=True, comment="Number of HDUs in the file"),
        sa.Column(
            "product_version",
            sa.Text(),
            nullable=True,
            comment="Version of the product (HLSPVER, else the file-name version, e.g. 'v1')",
        ),
        sa.Column(
            "product_type",
            sa.Text(),
            nullable=True,
            comment="Product type from the file name (e.g. 'lc', 'img', 'spec', 'cat')",
        ),
        sa.Column(
            "dataproduct_type",
            sa.Text(),
            nullable=True,
            comment="ObsCore data product type (image, spectrum, timeseries, cube, sed, measurements, ...)",
        ),
        sa.Column(
            "calib_level",
            sa.Integer(),
            server_default="4",
            nullable=False,
            comment="ObsCore calibration level (4: analysis product, as for all HLSPs)",
        ),
        sa.Column(
            "observatory", sa.Text(), nullable=True, comment="Observatory (OBSERVAT), or MULTI"
        ),
        sa.Column("telescope", sa.Text(), nullable=True, comment="Telescope (TELESCOP), or MULTI"),
        sa.Column(
            "instrument", sa.Text(), nullable=True, comment="Instrument (INSTRUME), or MULTI"
        ),
        sa.Column("detector", sa.Text(), nullable=True, comment="Detector (DETECTOR)"),
        sa.Column(
            "filter_name", sa.Text(), nullable=True, comment="Filter or bandpass (FILTER), or MULTI"
        ),
        sa.Column("aperture", sa.Text(), nullable=True, comment="Aperture (APERTURE)"),
        sa.Column(
            "disperser",
            sa.Text(),
            nullable=True,
            comment="Dispersive element (DISPRSR/DISPERSR/GRATING), or MULTI",
        ),
        sa.Column(
            "target_name",
            sa.Text(),
            nullable=True,
            comment="Target designation as given by the file",
        ),
        sa.Column(
            "pos", SPOINT, nullable=True, comment="Position of the target or field centre (ICRS)"
        ),
        sa.Column(
            "s_ra",
            sa.Double(),
            sa.Computed("degrees(long(pos))", persisted=True),
            nullable=True,
            comment="Right ascension of the target or field centre (ICRS)",
        ),
        sa.Column(
            "s_dec",
            sa.Double(),
            sa.Computed("degrees(lat(pos))", persisted=True),
            nullable=True,
            comment="Declination of the target or field centre (ICRS)",
        ),
        sa.Column(
            "footprint",
            SPOLY,
            nullable=True,
            comment="Sky footprint of the data (ICRS polygon), from an image WCS",
        ),
        sa.Column("s_fov", sa.Double(), nullable=True, comment="Diameter of the region covered"),
        sa.Column(
            "s_resolution", sa.Double(), nullable=True, comment="Spatial resolution (PSF FWHM)"
        ),
        sa.Column(
            "s_xel1",
            sa.BigInteger(),
            nullable=True,
            comment="Number of pixels along the first spatial axis",
        ),
        sa.Column(
            "s_xel2",
            sa.BigInteger(),
            nullable=True,
            comment="Number of pixels along the second spatial axis",
        ),
        sa.Column(
            "t_min",
            sa.Double(),
            nullable=True,
            comment="Start of the observations (MJD, in time_scale)",
        ),
        sa.Column("t_max", sa.Double(), nullable=True, comment="End of the observations (MJD)"),
        sa.Column(
            "time_scale",
            sa.Text(),
            nullable=True,
            comment="Time scale of t_min and t_max as the file states it (TIMESYS: UTC, TDB, TT, ...)",
        ),
        sa.Column(
            "t_exptime", sa.Double(), nullable=True, comment="Effective exposure time (XPOSURE)"
        ),
        sa.Column(
            "t_resolution",
            sa.Double(),
            nullable=True,
            comment="Time resolution (cadence of a light curve)",
        ),
        sa.Column("t_xel", sa.BigInteger(), nullable=True, comment="Number of time samples"),
        sa.Column("em_min", sa.Double(), nullable=True, comment="Shortest wavelength covered"),
        sa.Column("em_max", sa.Double(), nullable=True, comment="Longest wavelength covered"),
        sa.Column(
            "em_res_power",
            sa.Double(),
            nullable=True,
            comment="Spectral resolving power lambda/dlambda",
        ),
        sa.Column("em_xel", sa.BigInteger(), nullable=True, comment="Number of spectral samples"),
        sa.Column(
            "o_ucd",
            sa.Text(),
            nullable=True,
            comment="UCD of the observable (e.g. phot.flux.density)",
        ),
        sa.Column(
            "simulated",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="True for simulated data (SIMULATD = T)",
        ),
        sa.Column(
            "headers",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
            comment="Raw FITS headers: one object per HDU, keyword to value",
        ),
        sa.Column(
            "verdict",
            sa.Text(),
            nullable=True,
            comment="Guideline check verdict: PASS, NEEDS REVIEW or FAIL (null: not checked)",
        ),
        sa.Column(
            "release_date",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When the product becomes public (UTC); null: as its collection",
        ),
        sa.Column(
            "access_group",
            sa.Text(),
            nullable=True,
            comment="Group allowed to see the product before its release date",
        ),
        sa.Column(
            "withdrawn_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When the file was found gone from its collection (kept, flagged); null while present",
        ),
        sa.Column(
            "first_harvested",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the product was first harvested (UTC)",
        ),
        sa.Column(
            "last_harvested",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the product row was last written by a harvest (UTC)",
        ),
        sa.Column(
            "harvest_run_id",
            sa.BigInteger(),
            nullable=True,
            comment="Harvest run that last wrote the row",
        ),
        sa.CheckConstraint(
            "dataproduct_type IN ('image', 'cube', 'spectrum', 'sed', 'timeseries', 'visibility', 'event', 'measurements')",
            name=op.f("product_dataproduct_type_vocabulary_check"),
        ),
        sa.CheckConstraint(
            "position('/' in file_name) = 0 AND file_name !~ '^\\.|^$'",
            name=op.f("product_file_name_bare_check"),
        ),
        sa.CheckConstraint(
            "verdict IN ('PASS', 'NEEDS REVIEW', 'FAIL')",
            name=op.f("product_verdict_vocabulary_check"),
        ),
        sa.CheckConstraint(
            "calib_level BETWEEN 0 AND 4", name=op.f("product_calib_level_range_check")
        ),
        sa.CheckConstraint(
            "em_min > 0 AND em_min <= em_max", name=op.f("product_wavelength_range_ordered_check")
        ),
        sa.CheckConstraint("em_max > 0", name=op.f("product_wavelength_positive_check")),
        sa.CheckConstraint(
            "s_resolution > 0 AND em_res_power > 0 AND t_resolution > 0 AND s_xel1 >= 0 "
            "AND s_xel2 >= 0 AND t_xel >= 0 AND em_xel >= 0 AND hdu_count > 0",
            name=op.f("product_sizes_positive_check"),
        ),
        sa.CheckConstraint("file_bytes >= 0", name=op.f("product_file_bytes_positive_check")),
        sa.CheckConstraint("s_fov > 0 AND s_fov <= 360", name=op.f("product_fov_range_check")),
        sa.CheckConstraint("t_exptime >= 0", name=op.f("product_exptime_positive_check")),
        sa.CheckConstraint("t_min <= t_max", name=op.f("product_time_range_ordered_check")),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["hlsp.collection.collection_id"],
            name=op.f("product_collection_id_fkey"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["harvest_run_id"],
            ["hlsp.harvest_run.run_id"],
            name=op.f("product_harvest_run_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("product_pkey")),
        sa.UniqueConstraint(
            "collection_id", "file_name", name=op.f("product_collection_id_file_name_key")
        ),
        schema="hlsp",
        comment="HLSP products: one row per file of a collection, with what its headers say.",
    )
    op.create_index(
        op.f("product_em_min_em_max_idx"),
        "product",
        ["em_min", "em_max"],
        unique=False,
        schema="hlsp",
    )
    op.create_index(
        op.f("product_footprint_idx"),
        "product",
        ["footprint"],
        unique=False,
        schema="hlsp",
        postgresql_using="gist",
    )
    op.create_index(
        op.f("product_instrument_idx"), "product", ["instrument"], unique=False, schema="hlsp"
    )
    op.create_index(op.f("product_obs_id_idx"), "product", ["obs_id"], unique=False, schema="hlsp")
    op.create_index(
        op.f("product_pos_idx"),
        "product",
        ["pos"],
        unique=False,
        schema="hlsp",
        postgresql_using="gist",
    )
    op.create_index(
        op.f("product_t_min_t_max_idx"), "product", ["t_min", "t_max"], unique=False, schema="hlsp"
    )
    op.create_index(
        op.f("product_target_name_idx"), "product", ["target_name"], unique=False, schema="hlsp"
    )
    op.create_index(
        op.f("product_harvest_run_id_idx"),
        "product",
        ["harvest_run_id"],
        unique=False,
        schema="hlsp",
    )
    op.create_index(
        op.f("product_verdict_idx"),
        "product",
        ["verdict"],
        unique=False,
        schema="hlsp",
        postgresql_where=sa.text("verdict <> 'PASS'"),
    )
    op.create_table(
        "target_alias",
        sa.Column(
            "name_key", sa.Text(), nullable=False, comment="Normalised name (lower case, no spaces)"
        ),
        sa.Column(
            "target_id", sa.BigInteger(), nullable=False, comment="Target the name designates"
        ),
        sa.Column("name", sa.Text(), nullable=False, comment="Name as first seen in a file"),
        sa.Column(
            "search_text",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('simple'::regconfig, coalesce(name, '')), 'A')",
                persisted=True,
            ),
            nullable=False,
            comment="Full-text search vector over the name",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["hlsp.target.target_id"],
            name=op.f("target_alias_target_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("name_key", name=op.f("target_alias_pkey")),
        schema="hlsp",
        comment="Every name a target is known by, normalised so 'TIC 123', 'TIC123' and 'tic 123' meet.",
    )
    op.create_index(
        op.f("target_alias_search_text_idx"),
        "target_alias",
        ["search_text"],
        unique=False,
        schema="hlsp",
        postgresql_using="gin",
    )
    op.create_index(
        op.f("target_alias_target_id_idx"),
        "target_alias",
        ["target_id"],
        unique=False,
        schema="hlsp",
    )
    op.create_table(
        "product_finding",
        sa.Column(
            "product_id", sa.BigInteger(), nullable=False, comment="Product the finding concerns"
        ),
        sa.Column(
            "finding_index",
            sa.Integer(),
            nullable=False,
            comment="Order of the finding within the product",
        ),
        sa.Column(
            "code", sa.Text(), nullable=False, comment="Stable code of the rule (e.g. HLSP-K012)"
        ),
        sa.Column("severity", sa.Text(), nullable=False, comment="error, warning or info"),
        sa.Column(
            "hdu",
            sa.Integer(),
            nullable=True,
            comment="HDU index the finding concerns (0: primary)",
        ),
        sa.Column("keyword", sa.Text(), nullable=True, comment="FITS keyword the finding concerns"),
        sa.Column("message", sa.Text(), nullable=False, comment="What is wrong and how to fix it"),
        sa.CheckConstraint(
            "severity IN ('error', 'warning', 'info')",
            name=op.f("product_finding_severity_vocabulary_check"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["hlsp.product.product_id"],
            name=op.f("product_finding_product_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "finding_index", name=op.f("product_finding_pkey")),
        schema="hlsp",
        comment="What the guideline check found in each product (one row per finding).",
    )
    op.create_index(
        op.f("product_finding_code_idx"), "product_finding", ["code"], unique=False, schema="hlsp"
    )
    op.create_table(
        "product_target",
        sa.Column("product_id", sa.BigInteger(), nullable=False, comment="Product"),
        sa.Column(
            "target_id", sa.BigInteger(), nullable=False, comment="Target observed in the product"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["hlsp.product.product_id"],
            name=op.f("product_target_product_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["hlsp.target.target_id"],
            name=op.f("product_target_target_id_fkey"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("product_id", "target_id", name=op.f("product_target_pkey")),
        schema="hlsp",
        comment="Which targets each product observes (many to many)",
    )
    op.create_index(
        op.f("product_target_target_id_idx"),
        "product_target",
        ["target_id"],
        unique=False,
        schema="hlsp",
    )
    op.create_table(
        "provenance_input",
        sa.Column(
            "product_id", sa.BigInteger(), nullable=False, comment="Product made from this input"
        ),
        sa.Column(
            "input_index",
            sa.Integer(),
            nullable=False,
            comment="Order of the input (the nn of FILEIDnn)",
        ),
        sa.Column(
            "kind",
            sa.Text(),
            nullable=False,
            comment="observation, file, dataset, program or product",
        ),
        sa.Column(
            "identifier",
            sa.Text(),
            nullable=False,
            comment="Identifier of the input (MAST observation id, file name, program id)",
        ),
        sa.Column(
            "source",
            sa.Text(),
            nullable=False,
            comment="Where it was read (e.g. FILEID03, PROVENANCE[2].FILENAME, PROPOSID)",
        ),
        sa.Column(
            "program_id",
            sa.Text(),
            nullable=True,
            comment="Observing program or proposal of the input",
        ),
        sa.Column("telescope", sa.Text(), nullable=True, comment="Telescope of the input"),
        sa.Column("instrument", sa.Text(), nullable=True, comment="Instrument of the input"),
        sa.Column(
            "t_min", sa.Double(), nullable=True, comment="Start of the input observation (MJD)"
        ),
        sa.Column(
            "t_max", sa.Double(), nullable=True, comment="End of the input observation (MJD)"
        ),
        sa.CheckConstraint(
            "kind IN ('observation', 'file', 'dataset', 'program', 'product')",
            name=op.f("provenance_input_kind_vocabulary_check"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["hlsp.product.product_id"],
            name=op.f("provenance_input_product_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "input_index", name=op.f("provenance_input_pkey")),
        schema="hlsp",
        comment="What each product was made from: observations, files, datasets, programs (FILEIDnn records, PROVENANCE extensions, PROPOSID).",
    )
    op.create_index(
        op.f("provenance_input_identifier_idx"),
        "provenance_input",
        ["identifier"],
        unique=False,
        schema="hlsp",
    )
    op.create_table(
        "provenance_software",
        sa.Column(
            "product_id", sa.BigInteger(), nullable=False, comment="Product the software made"
        ),
        sa.Column(
            "software_index",
            sa.Integer(),
            nullable=False,
            comment="Order of the software in the chain",
        ),
        sa.Column("name", sa.Text(), nullable=False, comment="Software or pipeline name"),
        sa.Column("software_version", sa.Text(), nullable=True, comment="Software version"),
        sa.Column(
            "source",
            sa.Text(),
            nullable=False,
            comment="Keyword it was read from (ORIGIN, CREATOR, PROCVER, CAL_VER, ...)",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["hlsp.product.product_id"],
            name=op.f("provenance_software_product_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "product_id", "software_index", name=op.f("provenance_software_pkey")
        ),
        schema="hlsp",
        comment="The software (and version) that made each product.",
    )

    op.execute(
        "INSERT INTO hlsp.setting (name, setting_value) "
        f"VALUES ('ivoa_authority', '{DEFAULT_AUTHORITY}')"
    )
    op.execute(STCS_FUNCTION)
    op.execute(OBSCORE_VIEW)
    op.execute("COMMENT ON VIEW ivoa.obscore IS 'ObsCore 1.1 view of the HLSP products'")
    _create_reader_role()


def downgrade() -> None:
    _drop_reader_role()
    op.execute("DROP VIEW IF EXISTS ivoa.obscore")
    op.execute("DROP FUNCTION IF EXISTS hlsp.spoly_to_stcs(spoly)")
    op.drop_table("provenance_software", schema="hlsp")
    op.drop_index(
        op.f("provenance_input_identifier_idx"), table_name="provenance_input", schema="hlsp"
    )
    op.drop_table("provenance_input", schema="hlsp")
    op.drop_index(op.f("product_target_target_id_idx"), table_name="product_target", schema="hlsp")
    op.drop_table("product_target", schema="hlsp")
    op.drop_index(op.f("product_finding_code_idx"), table_name="product_finding", schema="hlsp")
    op.drop_table("product_finding", schema="hlsp")
    op.drop_index(op.f("target_alias_target_id_idx"), table_name="target_alias", schema="hlsp")
    op.drop_index(
        op.f("target_alias_search_text_idx"),
        table_name="target_alias",
        schema="hlsp",
        postgresql_using="gin",
    )
    op.drop_table("target_alias", schema="hlsp")
    op.drop_index(
        op.f("product_verdict_idx"),
        table_name="product",
        schema="hlsp",
        postgresql_where=sa.text("verdict <> 'PASS'"),
    )
    op.drop_index(op.f("product_target_name_idx"), table_name="product", schema="hlsp")
    op.drop_index(op.f("product_harvest_run_id_idx"), table_name="product", schema="hlsp")
    op.drop_index(op.f("product_t_min_t_max_idx"), table_name="product", schema="hlsp")
    op.drop_index(
        op.f("product_pos_idx"), table_name="product", schema="hlsp", postgresql_using="gist"
    )
    op.drop_index(op.f("product_obs_id_idx"), table_name="product", schema="hlsp")
    op.drop_index(op.f("product_instrument_idx"), table_name="product", schema="hlsp")
    op.drop_index(
        op.f("product_footprint_idx"), table_name="product", schema="hlsp", postgresql_using="gist"
    )
    op.drop_index(op.f("product_em_min_em_max_idx"), table_name="product", schema="hlsp")
    op.drop_table("product", schema="hlsp")
    op.drop_index(
        op.f("harvest_failure_file_path_idx"), table_name="harvest_failure", schema="hlsp"
    )
    op.drop_table("harvest_failure", schema="hlsp")
    op.drop_index(
        op.f("target_pos_idx"), table_name="target", schema="hlsp", postgresql_using="gist"
    )
    op.drop_table("target", schema="hlsp")
    op.drop_table("setting", schema="hlsp")
    op.drop_table("harvest_run", schema="hlsp")
    op.drop_index(
        op.f("collection_search_text_idx"),
        table_name="collection",
        schema="hlsp",
        postgresql_using="gin",
    )
    op.drop_table("collection", schema="hlsp")
    op.execute("DROP SCHEMA IF EXISTS ivoa")
    op.execute("DROP SCHEMA IF EXISTS hlsp")
    # Drop pg_sphere only if nothing else in the database uses it.
    op.execute("""
        DO $$ BEGIN
          DROP EXTENSION IF EXISTS pg_sphere;
        EXCEPTION WHEN dependent_objects_still_exist THEN
          RAISE NOTICE 'pg_sphere kept: other objects use it';
        END $$""")
