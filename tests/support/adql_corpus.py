"""The IVOA ADQL query corpus (lyonetia) and a metadata object for its fictitious tables.

The corpus (``../shared/data/adql/lyonetia/ivoa/*.xml``) marks each query valid or invalid
for an ADQL 2.1 parser. Its tables are invented; :data:`CORPUS_METADATA` publishes tables of
those names so that valid queries can also be translated (benchmarks, crash checks). Column
types are guesses from how the queries use them; the corpus is not self-consistent (``x`` is
a number in one query of table ``foo`` and a region in another), so translated corpus queries
are not executed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from tap.adql import UDFS, Udf
from tap.adql.functions import udf_signature_only
from tap.metadata import Column, Schema, Table, TapMetadata, votable_type


@dataclass(frozen=True)
class CorpusQuery:
    file: str
    uuid: str
    text: str
    valid: bool


def load_corpus(directory: Path) -> list[CorpusQuery]:
    queries = []
    for path in sorted(directory.glob("*.xml")):
        for element in ET.parse(path).getroot().iter("query"):
            adql = element.find("adql")
            assert adql is not None and adql.text is not None
            queries.append(
                CorpusQuery(
                    path.name, element.get("uuid", ""), adql.text, adql.get("valid") == "true"
                )
            )
    return queries


# Functions the services the corpus was written for declare: GAVO's healpix UDF is ours too;
# ESO's two are declared by the ESO ObsCore service its X1 queries target.
CORPUS_UDFS: dict[str, Udf] = {
    **UDFS,
    "ESO_INTERSECTION": udf_signature_only("eso_intersection", 2),
    "ESO_DATEADD_SEC": udf_signature_only("eso_dateadd_sec", 2, "timestamp"),
}

_TYPES = {"d": "double precision", "i": "bigint", "t": "text", "p": "spoint", "g": "spoly",
          "s": "timestamp"}  # fmt: skip

_TABLES = """
default.stars: id i, name t, ra d, dec d, type t, long d, des t, "_weird_name" t, "distance" d,
  radius d, mag d, ra_error d, star_name t, favorite_name t, pm_ra d, pm_dec d
default.y: x p
default.z: a d
default.foo: x d, y d, z d
default.spatial: ra1 d, ra2 d, dist d, width d, height d
default.spatial2: ra1 d, dec d, dist d
default.misc: mass d, mag d
default.crazy: ct d, wot d, version t, flag t
default.x: a d, b d
default.u: a d
default.t1: x d, y d, z d, oid i, name t, something d, id i
default.t2: x d, y d, oid i, name t
default.t3: z d
default.most: c d
default.anything: a d
default.else3: b d, and7 d
default.bar: foo d
default.a: d d
default.atable: id i, ra d, dec d, z d
default.t: ra d, dec d
default.table1: id i, ra d, dec d
default.table2: id i, ra d, dec d
default.table3: id i, ra d, dec d
amanda.nucand: a d
ppmx.data: alphaFloat d, deltaFloat d
usnob.data: raj2000 d, dej2000 d
TAP_UPLOAD.abc: c d
TAP_UPLOAD.adql: alpha d, rv d
TAP_UPLOAD.user_table: ra d, ra2000 d, dec2000 d
TAP_UPLOAD.my_stars: ra d, dec d, mag d
ivoa.ObsCore: dataproduct_type t, dataproduct_subtype t, calib_level i, obs_collection t,
  obs_id t, obs_publisher_did t, dp_id t, access_url t, access_estsize i, target_name t,
  s_ra d, s_dec d, s_fov d, s_region r, s_resolution d, t_min d, t_max d, t_exptime d,
  em_min d, em_max d, em_res_power d, instrument_name t, facility_name t, filter t, snr d,
  abmaglim d, gal_lat d, gal_lon d, footprint g
TAP_SCHEMA.tables: schema_name t, table_name t, table_type t, description t, utype t
TAP_SCHEMA.columns: table_name t, column_name t, datatype t, arraysize t, xtype t, unit t,
  ucd t, utype t, description t
asm.MASS_paranal: start_date s, turbfwhm d, tet d
asm.lhatpros_paranal_profiles: start_date s, midpoint_date s, ra d, dec d, alt d, az d, valid i
dbo.raw: dp_id t, exp_start s, prog_id t, instrument t, dp_cat t, dp_tech t, dp_type t
phase3v2.provenance: product_file t, source_file t
phase3v2.files: file_id t, archive_id t, category t, name t
"""


def _column(spec: str) -> Column:
    name, code = spec.rsplit(" ", 1)
    if code == "r":
        return Column(
            name,
            "text",
            "char",
            "footprint (STC-S)",
            arraysize="*",
            xtype="adql:REGION",
            sql_geometry="footprint",
        )
    datatype, arraysize, xtype = votable_type(_TYPES[code])
    units = {
        "ra": "deg",
        "dec": "deg",
        "s_ra": "deg",
        "s_dec": "deg",
        "pm_ra": "mas/yr",
        "pm_dec": "mas/yr",
    }
    unit = units.get(name)
    return Column(name, _TYPES[code], datatype, name, arraysize=arraysize, xtype=xtype, unit=unit)


def corpus_metadata() -> TapMetadata:
    tables: list[Table] = []
    schemas: dict[str, Schema] = {}
    for block in _blocks(_TABLES):
        qualified, columns = block.split(":", 1)
        schema, name = qualified.strip().split(".")
        schemas.setdefault(schema, Schema(schema, f"corpus schema {schema}"))
        cols = tuple(_column(c.strip()) for c in columns.split(",") if c.strip())
        published = tuple(c for c in cols if c.name != "footprint")
        tables.append(Table(schema, name, f"corpus table {name}", published))
    return TapMetadata(tuple(schemas.values()), tuple(tables))


def _blocks(text: str) -> list[str]:
    blocks: list[str] = []
    for line in text.strip().splitlines():
        if line.startswith("  "):
            blocks[-1] += " " + line.strip()
        else:
            blocks.append(line.strip())
    return blocks
