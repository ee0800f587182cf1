"""Region queries find footprints through a GiST index on a bounding circle.

pg_sphere builds the GiST key of a polygon from the bounding boxes of its great-circle
edges, with a dozen trigonometric calls per edge: ~48 µs of PostgreSQL's CPU to index one
four-corner footprint, against ~3 µs for a circle (benchmarks/RESULTS.md), a tenth of a
cold harvest's database work. ``footprint_bound`` holds a circle around each footprint;
the GiST index moves from the polygon to the circle, and query translators (TAP,
GraphQL) test ``footprint_bound`` first, which the index answers, then the exact
polygon. Two checks keep the circle honest for every writer: it is present exactly when
the footprint is, and it contains the footprint (pg_sphere's own test). The harvester
computes circles itself; a trigger computes them for other writers that leave it out,
and when the footprint changes under an unchanged circle.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql.base import ischema_names

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

READER = "hlsp_reader"
COMMENT = (
    "Circle holding the footprint (GiST-indexed; region queries test it first), set by the "
    "harvester or from the footprint by a trigger"
)

# Centre: the vertices' mean direction; radius: the farthest vertex plus 1e-7 rad (as
# catalog.sphere.bounding_circle). The vertices are read from the text form, in radians or
# degrees (set_sphere_output RAD or DEG, at pg_sphere's default precision), as
# hlsp.spoly_to_stcs reads them: another output mode or a lower precision gives no circle
# or one that misses a vertex, and the check constraints then refuse the row, as they
# refuse a polygon larger than a hemisphere (no circle of pg_sphere's holds it).
BOUND_FUNCTION = r"""
CREATE FUNCTION hlsp.spoly_bound(p spoly) RETURNS scircle
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH v AS (
    SELECT spoint(CASE WHEN m[2] = 'd' THEN radians(m[1]::float8) ELSE m[1]::float8 END,
                  CASE WHEN m[4] = 'd' THEN radians(m[3]::float8) ELSE m[3]::float8 END) AS pt
    FROM regexp_matches(p::text,
           '\(\s*([-+0-9.eE]+)(d?)\s*,\s*([-+0-9.eE]+)(d?)\s*\)', 'g') AS m
  ), s AS (
    SELECT sum(cos(lat(pt)) * cos(long(pt))) AS x, sum(cos(lat(pt)) * sin(long(pt))) AS y,
           sum(sin(lat(pt))) AS z
    FROM v
  ), c AS (
    SELECT spoint(atan2(y, x), atan2(z, sqrt(x * x + y * y))) AS centre FROM s
  )
  SELECT scircle(centre, least((SELECT max(centre <-> pt) FROM v) + 1e-7, pi() / 2)) FROM c
$$
"""

TRIGGER_FUNCTION = """
CREATE FUNCTION hlsp.product_footprint_bound() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.footprint_bound := hlsp.spoly_bound(NEW.footprint);
  RETURN NEW;
END
$$
"""

TRIGGERS = (
    "CREATE TRIGGER product_footprint_bound_on_insert BEFORE INSERT ON hlsp.product "
    "FOR EACH ROW WHEN (NEW.footprint IS NOT NULL AND NEW.footprint_bound IS NULL) "
    "EXECUTE FUNCTION hlsp.product_footprint_bound()",
    "CREATE TRIGGER product_footprint_bound_on_update BEFORE UPDATE OF footprint ON "
    "hlsp.product FOR EACH ROW WHEN ((NEW.footprint IS DISTINCT FROM OLD.footprint AND "
    "NEW.footprint_bound IS NOT DISTINCT FROM OLD.footprint_bound) OR "
    "(NEW.footprint IS NOT NULL AND NEW.footprint_bound IS NULL)) "
    "EXECUTE FUNCTION hlsp.product_footprint_bound()",
)

VIEW = """
CREATE {replace} VIEW ivoa.obscore AS
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
  p.footprint{bound}
FROM hlsp.product p
JOIN hlsp.collection c ON c.collection_id = p.collection_id
WHERE p.withdrawn_at IS NULL
"""


class _SCircle(sa.types.UserDefinedType):  # type: ignore[type-arg]
    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "scircle"


def upgrade() -> None:
    ischema_names.setdefault("scircle", _SCircle)
    op.add_column(
        "product", sa.Column("footprint_bound", _SCircle(), comment=COMMENT), schema="hlsp"
    )
    op.execute(BOUND_FUNCTION)
    op.execute(
        "COMMENT ON FUNCTION hlsp.spoly_bound(spoly) IS 'A circle holding the polygon "
        "(needs set_sphere_output RAD or DEG at the default precision)'"
    )
    op.execute(TRIGGER_FUNCTION)
    for trigger in TRIGGERS:
        op.execute(trigger)
    op.execute("SELECT set_sphere_output('RAD')")
    op.execute(
        "UPDATE hlsp.product SET footprint_bound = hlsp.spoly_bound(footprint) "
        "WHERE footprint IS NOT NULL"
    )
    op.create_check_constraint(
        op.f("product_footprint_bound_present_check"),
        "product",
        "(footprint IS NULL) = (footprint_bound IS NULL)",
        schema="hlsp",
    )
    op.create_check_constraint(
        op.f("product_footprint_within_bound_check"),
        "product",
        "footprint <@ footprint_bound",
        schema="hlsp",
    )
    op.create_index(
        "product_footprint_bound_idx",
        "product",
        ["footprint_bound"],
        schema="hlsp",
        postgresql_using="gist",
    )
    op.drop_index("product_footprint_idx", "product", schema="hlsp")
    op.execute(f"GRANT SELECT (footprint_bound) ON hlsp.product TO {READER}")
    op.execute(VIEW.format(replace="OR REPLACE", bound=",\n  p.footprint_bound"))


def downgrade() -> None:
    op.execute("DROP VIEW ivoa.obscore")
    op.execute(VIEW.format(replace="", bound=""))
    op.execute("COMMENT ON VIEW ivoa.obscore IS 'ObsCore 1.1 view of the HLSP products'")
    op.execute(f"GRANT SELECT ON ivoa.obscore TO {READER}")
    op.create_index(
        "product_footprint_idx", "product", ["footprint"], schema="hlsp", postgresql_using="gist"
    )
    op.drop_index("product_footprint_bound_idx", "product", schema="hlsp")
    for name in ("product_footprint_bound_on_insert", "product_footprint_bound_on_update"):
        op.execute(f"DROP TRIGGER {name} ON hlsp.product")
    op.execute("DROP FUNCTION hlsp.product_footprint_bound()")
    op.execute("DROP FUNCTION hlsp.spoly_bound(spoly)")
    op.drop_column("product", "footprint_bound", schema="hlsp")  # its checks go with it
