"""Delivery: access URLs computed when served, companion files, harvested roots, missing files.

``access_url`` (ObsCore, and ``hlsp.product`` as TAP publishes it) is built when a row is
read, from the server's public URL: ``<public>/files/<hlsp_id>/<file name>`` (the file name
percent-encoded). The public URL comes from the transaction's ``hlsp.public_url`` setting,
which the server sets from ``HLSP_PUBLIC_URL`` or from the request's own URL (so a server
behind a proxy, or reached by several names, answers with URLs that work for the client),
else from ``hlsp.setting`` (``public_url``, kept from ``HLSP_PUBLIC_URL`` by ``hlsp db
migrate`` and the server's start), else NULL: an unknown address is no URL, never a wrong
one. The stored column ``hlsp.product.access_url`` stays empty.

``hlsp.companion_file`` holds the other files of a collection (README, preview graphics,
text beside a product), ``hlsp.harvest_root`` the directories harvests were given (nothing
outside them is served), ``hlsp.missing_file`` the files the server could not deliver.

``hlsp.deliverable_files(keys)`` is the one way the query login learns where a file is: for
``hlsp_id/file_name`` keys, the live products and the companion files, with their paths
(which the login cannot otherwise read). Every delivery path (files, DataLink, previews,
cutouts, bulk) goes through it, so the access rules guard them in one place.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

READER = "hlsp_reader"
PUBLISHED = "hlsp_published"
HIDDEN = ("file_path", "headers", "harvest_run_id")

URL_ESCAPE = r"""
CREATE FUNCTION hlsp.url_escape(s text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN s ~ '^[A-Za-z0-9._~-]*$' THEN s ELSE (
    SELECT string_agg(
      CASE WHEN ch ~ '^[A-Za-z0-9._~-]$' THEN ch
           ELSE upper(regexp_replace(encode(convert_to(ch, 'UTF8'), 'hex'), '(..)', '%\1', 'g'))
      END, '' ORDER BY n)
    FROM regexp_split_to_table(s, '') WITH ORDINALITY AS t(ch, n)) END
$$
"""

# The server's public URL for this transaction (see the module docstring).
PUBLIC_URL = (
    "coalesce(nullif(current_setting('hlsp.public_url', true), ''), "
    "(SELECT s.setting_value FROM hlsp.setting s WHERE s.name = 'public_url'))"
)


def file_url(hlsp_id: str, file_name: str) -> str:
    return f"{PUBLIC_URL} || '/files/' || {hlsp_id} || '/' || hlsp.url_escape({file_name})"


OBSCORE = """
CREATE OR REPLACE VIEW ivoa.obscore AS
SELECT
  p.dataproduct_type,
  p.calib_level,
  'HLSP'::text AS obs_collection,
  p.obs_id,
  (SELECT s.setting_value FROM hlsp.setting s WHERE s.name = 'ivoa_authority')
    || '?' || c.hlsp_id || '/' || p.file_name AS obs_publisher_did,
  {access_url} AS access_url,
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
  p.footprint,
  p.footprint_bound
FROM hlsp.product p
JOIN hlsp.collection c ON c.collection_id = p.collection_id
WHERE p.withdrawn_at IS NULL
"""

DELIVERABLE = """
CREATE FUNCTION hlsp.deliverable_files(keys text[])
RETURNS TABLE (
  file_key text, kind text, product_id bigint, collection_id integer, hlsp_id text,
  file_name text, obs_id text, file_path text, file_bytes bigint, file_mtime timestamptz,
  media_type text, checksum text, dataproduct_type text, product_type text, role text
)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH k AS (
    SELECT DISTINCT key, split_part(key, '/', 1) AS hlsp_id,
           substr(key, strpos(key, '/') + 1) AS file_name
    FROM unnest(keys) AS key
    WHERE strpos(key, '/') > 1
  )
  SELECT k.key, 'product'::text, p.product_id, c.collection_id, c.hlsp_id, p.file_name, p.obs_id,
         p.file_path, p.file_bytes, p.file_mtime, p.file_format, p.checksum,
         p.dataproduct_type, p.product_type, NULL::text
  FROM k
  JOIN hlsp.collection c ON c.hlsp_id = k.hlsp_id
  JOIN hlsp.product p ON p.collection_id = c.collection_id AND p.file_name = k.file_name
  WHERE p.withdrawn_at IS NULL
  UNION ALL
  SELECT k.key, 'companion'::text, NULL::bigint, c.collection_id, c.hlsp_id, f.file_name, f.stem,
         f.file_path, f.file_bytes, f.file_mtime, f.media_type, NULL::text, NULL::text,
         NULL::text, f.role
  FROM k
  JOIN hlsp.collection c ON c.hlsp_id = k.hlsp_id
  JOIN hlsp.companion_file f ON f.collection_id = c.collection_id AND f.file_name = k.file_name;
END
$$
"""
# plpgsql, not sql: PostgreSQL 15 plans a SECURITY DEFINER SQL function's body at every
# call (it cannot inline it), a plpgsql one once per session (1.5 ms -> 0.2 ms a look-up).

ACCESS_URL_COMMENT = (
    "URL to download the file (built when served, from the server's public URL; empty in the "
    "stored table)"
)
COMPANION_COLUMNS = (
    "companion_id, collection_id, file_name, stem, file_bytes, file_mtime, media_type, role, "
    "last_seen"
)


# Comments of the new tables and their columns (as the model declares them).
COMMENTS = {
    "companion_file": (
        "Files a collection ships besides its FITS products (README, "
        "previews, text), delivered by catalog id",
        {
            "companion_id": "Internal identifier",
            "collection_id": "Collection the file belongs to",
            "file_name": "File name, without directory",
            "stem": "File name without its extension(s), to match a product's obs_id",
            "file_path": "Path of the file where it was harvested",
            "file_bytes": "Size of the file",
            "file_mtime": "Modification time of the file when harvested (UTC)",
            "media_type": "MIME type of the file, from its name",
            "role": "What the file is to the collection: readme, graphic (a preview), auxiliary",
            "last_seen": "When a harvest last saw the file (UTC)",
        },
    ),
    "harvest_root": (
        "Directories harvests were given (resolved): no file outside them is ever served",
        {
            "root": "Real path of a harvested directory or file",
            "first_harvested": "When a harvest was first given this root (UTC)",
        },
    ),
    "missing_file": (
        "Harvested files the server could not deliver (gone, moved or changed "
        "since the harvest); the next harvest reports and clears them",
        {
            "file_path": "Path of the file where it was harvested",
            "reason": "What the server found (gone, changed, outside)",
            "first_noticed": "When a request first found the file missing (UTC)",
            "requests": "Requests that found it missing since",
        },
    ),
}


def _published_product(access_url: str) -> str:
    rows = op.get_bind().execute(
        sa.text(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'hlsp' "
            "AND table_name = 'product' ORDER BY ordinal_position"
        )
    )
    columns = [
        access_url + " AS access_url" if name == "access_url" else f't."{name}"'
        for name in rows.scalars()
        if name not in HIDDEN
    ]
    return (
        f"CREATE OR REPLACE VIEW {PUBLISHED}.product AS SELECT {', '.join(columns)} "
        "FROM hlsp.product AS t WHERE t.withdrawn_at IS NULL"
    )


def upgrade() -> None:
    op.execute(URL_ESCAPE)
    op.execute(
        "COMMENT ON FUNCTION hlsp.url_escape(text) IS "
        "'Percent-encoding of a URL path segment (RFC 3986: all but unreserved characters)'"
    )
    op.execute(OBSCORE.format(access_url=file_url("c.hlsp_id", "p.file_name")))
    product_url = file_url(
        "(SELECT c.hlsp_id FROM hlsp.collection c WHERE c.collection_id = t.collection_id)",
        "t.file_name",
    )
    op.execute(_published_product(product_url))
    op.execute(f"COMMENT ON COLUMN hlsp.product.access_url IS {_literal(ACCESS_URL_COMMENT)}")
    op.execute("""
        CREATE TABLE hlsp.companion_file (
          companion_id bigint GENERATED BY DEFAULT AS IDENTITY,
          collection_id integer NOT NULL,
          file_name text NOT NULL,
          stem text GENERATED ALWAYS AS (regexp_replace(file_name,
            '(\\.[A-Za-z0-9]+)?(\\.(gz|bz2|xz|zip|fz))?$', '')) STORED,
          file_path text NOT NULL,
          file_bytes bigint NOT NULL,
          file_mtime timestamptz NOT NULL,
          media_type text NOT NULL,
          role text NOT NULL,
          last_seen timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT companion_file_pkey PRIMARY KEY (companion_id),
          CONSTRAINT companion_file_collection_id_fkey FOREIGN KEY (collection_id)
            REFERENCES hlsp.collection (collection_id) ON DELETE CASCADE,
          CONSTRAINT companion_file_collection_id_file_name_key UNIQUE (collection_id, file_name),
          CONSTRAINT companion_file_file_name_bare_check
            CHECK (position('/' in file_name) = 0 AND file_name !~ '^\\.|^$'),
          CONSTRAINT companion_file_file_bytes_positive_check CHECK (file_bytes >= 0),
          CONSTRAINT companion_file_role_vocabulary_check
            CHECK (role IN ('readme', 'graphic', 'auxiliary'))
        )""")
    op.execute(
        "CREATE INDEX companion_file_collection_id_stem_idx ON hlsp.companion_file "
        "(collection_id, stem)"
    )
    op.execute("CREATE INDEX companion_file_file_path_idx ON hlsp.companion_file (file_path)")
    op.execute("""
        CREATE TABLE hlsp.harvest_root (
          root text NOT NULL,
          first_harvested timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT harvest_root_pkey PRIMARY KEY (root)
        )""")
    op.execute("""
        CREATE TABLE hlsp.missing_file (
          file_path text NOT NULL,
          reason text NOT NULL,
          first_noticed timestamptz NOT NULL DEFAULT now(),
          requests integer NOT NULL DEFAULT 1,
          CONSTRAINT missing_file_pkey PRIMARY KEY (file_path)
        )""")
    for table, (comment, columns) in COMMENTS.items():
        op.execute(f"COMMENT ON TABLE hlsp.{table} IS {_literal(comment)}")
        for column, text in columns.items():
            op.execute(f"COMMENT ON COLUMN hlsp.{table}.{column} IS {_literal(text)}")
    op.execute(f"GRANT SELECT ({COMPANION_COLUMNS}) ON hlsp.companion_file TO {READER}")
    op.execute(f"GRANT SELECT ON hlsp.harvest_root TO {READER}")
    op.execute(DELIVERABLE)
    op.execute(
        "COMMENT ON FUNCTION hlsp.deliverable_files(text[]) IS 'The live products and "
        "companion files of hlsp_id/file_name keys, with their paths: the one way query "
        "traffic finds a file to deliver'"
    )
    op.execute("REVOKE ALL ON FUNCTION hlsp.deliverable_files(text[]) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION hlsp.deliverable_files(text[]) TO {READER}")


def _literal(text: str | None) -> str:
    return "NULL" if text is None else "'" + text.replace("'", "''") + "'"


def downgrade() -> None:
    op.execute("DROP FUNCTION hlsp.deliverable_files(text[])")
    op.execute("DROP TABLE hlsp.missing_file, hlsp.harvest_root, hlsp.companion_file")
    op.execute(
        f"COMMENT ON COLUMN hlsp.product.access_url IS {_literal('URL to download the file')}"
    )
    op.execute(_published_product("t.access_url"))
    op.execute(OBSCORE.format(access_url="p.access_url"))
    op.execute("DROP FUNCTION hlsp.url_escape(text)")
