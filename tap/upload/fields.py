"""Uploaded FIELDs: their VOTable types, the PostgreSQL type each becomes, safe SQL names.

==========================  ===================  ======================================
VOTable                     PostgreSQL           published as (datatype, arraysize, xtype)
==========================  ===================  ======================================
boolean, bit (scalar)       boolean              boolean
unsignedByte, short         smallint             as uploaded
int / long                  integer / bigint     as uploaded
float / double              real / double prec.  as uploaded
char, unicodeChar           text                 as uploaded
char xtype=timestamp        timestamp            char * timestamp
double/float[2] point       spoint               double 2 point
double/float[3] circle      scircle              double 3 circle
double/float[*] polygon     spoly                double * polygon
numeric arrays              <type>[]             as uploaded
==========================  ===================  ======================================

So that ``TAP_UPLOAD.t`` can be crossmatched with pg_sphere operators, geometry becomes
pg_sphere types. Column names keep their uploaded spelling for ADQL; the table in the
database uses :func:`sql_names`: lower-case, ``[a-z0-9_]``, unique, never empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tap.errors import UploadError
from tap.metadata import VOTABLE_DATATYPES, Column
from tap.votable.codecs import EncodingError, element_count

_SCALAR_SQL = {
    "boolean": "boolean",
    "bit": "boolean",
    "unsignedByte": "smallint",
    "short": "smallint",
    "int": "integer",
    "long": "bigint",
    "float": "real",
    "double": "double precision",
}
GEOMETRY = {"point": ("spoint", "2"), "circle": ("scircle", "3"), "polygon": ("spoly", "*")}
TIMESTAMP_XTYPES = frozenset(["timestamp", "adql:TIMESTAMP"])


@dataclass(frozen=True)
class UploadField:
    """A FIELD as uploaded, and what it becomes."""

    name: str
    datatype: str
    arraysize: str | None
    xtype: str | None
    unit: str | None
    ucd: str | None
    utype: str | None
    description: str
    null: str | None  # VALUES null, as written
    scalar: bool
    count: int | None  # fixed number of elements (characters), None when variable
    kind: str  # "number", "boolean", "string", "timestamp", "point", "circle", "polygon", "array"
    sql_type: str

    def column(self) -> Column:
        """The column as ADQL sees it (FIELD name, published VOTable type)."""
        datatype, arraysize, xtype = self.datatype, self.arraysize, self.xtype
        if self.kind == "timestamp":
            datatype, arraysize, xtype = "char", "*", "timestamp"
        elif self.kind in GEOMETRY:
            datatype, arraysize = "double", GEOMETRY[self.kind][1]
        elif self.datatype == "bit":
            datatype = "boolean"
        return Column(
            name=self.name,
            sql_type=self.sql_type,
            datatype=datatype,
            description=self.description,
            arraysize=arraysize,
            xtype=xtype,
            unit=self.unit,
            ucd=self.ucd,
            utype=self.utype,
        )


def make_field(
    position: int,
    attrs: dict[str, str],
    description: str,
    null: str | None,
) -> UploadField:
    """An :class:`UploadField` from a FIELD's attributes; UploadError when it is unusable."""
    name = (attrs.get("name") or attrs.get("ID") or f"col{position + 1}").strip()
    where = f"FIELD {position + 1} ({name})"
    datatype = attrs.get("datatype")
    if datatype is None:
        raise UploadError(f"{where} has no datatype attribute; every FIELD needs one.")
    if datatype not in VOTABLE_DATATYPES:
        raise UploadError(f"{where}: datatype {datatype!r} is not a VOTable datatype.")
    if datatype in ("floatComplex", "doubleComplex"):
        raise UploadError(f"{where}: complex numbers cannot be uploaded; split real and imaginary.")
    arraysize = attrs.get("arraysize") or None
    xtype = attrs.get("xtype") or None
    try:
        scalar, count = element_count(arraysize)
    except EncodingError as exc:
        raise UploadError(f"{where}: {exc}.") from None
    if datatype in ("char", "unicodeChar"):
        if arraysize is None:
            scalar, count = False, 1
        kind = "timestamp" if xtype in TIMESTAMP_XTYPES else "string"
        sql_type = "timestamp" if kind == "timestamp" else "text"
    elif datatype == "bit" and not scalar:
        raise UploadError(f"{where}: bit arrays cannot be uploaded; use boolean or short.")
    elif xtype in GEOMETRY and datatype in ("float", "double") and not scalar:
        kind, sql_type = xtype, GEOMETRY[xtype][0]
        wanted = GEOMETRY[xtype][1]
        if wanted != "*" and count != int(wanted):
            raise UploadError(f"{where}: a {xtype} needs arraysize {wanted}, not {arraysize}.")
    elif scalar:
        kind = "boolean" if datatype in ("boolean", "bit") else "number"
        sql_type = _SCALAR_SQL[datatype]
    else:
        kind, sql_type = "array", _SCALAR_SQL[datatype] + "[]"
    return UploadField(
        name=name,
        datatype=datatype,
        arraysize=arraysize,
        xtype=xtype,
        unit=attrs.get("unit"),
        ucd=attrs.get("ucd"),
        utype=attrs.get("utype"),
        description=description,
        null=null,
        scalar=scalar,
        count=count,
        kind=kind,
        sql_type=sql_type,
    )


_NOT_SQL = re.compile(r"[^a-z0-9_]+")


def sql_names(names: list[str]) -> list[str]:
    """Safe, unique, lower-case SQL column names for the uploaded names (same order)."""
    result: list[str] = []
    seen: set[str] = set()
    for name in names:
        base = _NOT_SQL.sub("_", name.lower()).strip("_") or "col"
        if base[0].isdigit():
            base = "c_" + base
        base = base[:55]
        candidate, n = base, 1
        while candidate in seen:
            n += 1
            candidate = f"{base}_{n}"
        seen.add(candidate)
        result.append(candidate)
    return result


def unique_names(names: list[str]) -> list[str]:
    """FIELD names made unique ignoring case (ADQL names are case-insensitive): a repeated
    name gets ``_2``, ``_3``…"""
    seen: set[str] = set()
    result = []
    for name in names:
        candidate, n = name, 1
        while candidate.lower() in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate.lower())
        result.append(candidate)
    return result
