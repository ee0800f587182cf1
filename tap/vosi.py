"""VOSI documents: capabilities (with TAPRegExt), availability, and the tables set.

Everything the capabilities say is derived from the configuration and from what the
service really supports (languages, features, output formats, upload methods, limits), so a
declaration cannot drift from the implementation. Choices that keep STILTS taplint (its CAP
and CPV stages, which check the capabilities) at zero errors and warnings:

- TAPRegExt feature types are written in TAPRegExt's mixed case, the form Debian's taplint
  matches; ``features-adql-conditional`` and ``features-adql-bitwise`` are not declared
  (unknown to one taplint version or the other) even though COALESCE works.
- the TAP interface is ``version="1.1"``; the tables capability is VOSI 1.1.
- limits are declared in the TAPRegExt 1.0 order and without ``forMode``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from tap.config import TapConfig
from tap.metadata import Column, Table, TapMetadata

TAPREGEXT = "ivo://ivoa.net/std/TAPRegExt"


@dataclass(frozen=True)
class OutputFormat:
    """One declared output format: MIME type, short aliases, TAPRegExt ivo-id (optional)."""

    mime: str
    aliases: tuple[str, ...] = ()
    ivo_id: str | None = None


@dataclass(frozen=True)
class Feature:
    """A language feature: ``type`` is the TAPRegExt fragment (``features-adqlgeo``)."""

    type: str
    form: str
    description: str | None = None


def _el(name: str, text: str | None, **attrs: str) -> str:
    attributes = "".join(f" {k.replace('_', '-')}={quoteattr(v)}" for k, v in attrs.items())
    if text is None:
        return f"<{name}{attributes}/>"
    return f"<{name}{attributes}>{escape(text)}</{name}>"


def _vosi_capability(standard_id: str, url: str, version: str | None = None) -> str:
    version_attr = f' version="{version}"' if version else ""
    return (
        f'<capability standardID="{standard_id}">'
        f'<interface xsi:type="vs:ParamHTTP"{version_attr}>'
        f'<accessURL use="full">{escape(url)}</accessURL></interface></capability>'
    )


def _features(features: Iterable[Feature]) -> str:
    by_type: dict[str, list[Feature]] = {}
    for feature in features:
        by_type.setdefault(feature.type, []).append(feature)
    out = []
    for type_, items in by_type.items():
        body = "".join(
            "<feature>"
            + _el("form", f.form)
            + (_el("description", f.description) if f.description else "")
            + "</feature>"
            for f in items
        )
        out.append(f'<languageFeatures type="{TAPREGEXT}#{type_}">{body}</languageFeatures>')
    return "".join(out)


def capabilities(
    base_url: str,
    config: TapConfig,
    *,
    features: Sequence[Feature],
    output_formats: Sequence[OutputFormat],
    examples: bool = True,
    extra: str = "",
) -> bytes:
    """The ``/capabilities`` document for a service whose public root is ``base_url``;
    ``extra``: the host's own ``capability`` elements (e.g. its DataLink service), as XML."""
    models = "".join(_el("dataModel", label, ivo_id=ivo) for ivo, label in config.data_models)
    formats = "".join(
        "<outputFormat"
        + (f' ivo-id="{f.ivo_id}"' if f.ivo_id else "")
        + ">"
        + _el("mime", f.mime)
        + "".join(_el("alias", a) for a in f.aliases)
        + "</outputFormat>"
        for f in output_formats
    )
    tap = (
        f'<capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">'
        f'<interface xsi:type="vs:ParamHTTP" role="std" version="1.1">'
        f'<accessURL use="base">{escape(base_url)}</accessURL></interface>'
        f"{models}"
        "<language><name>ADQL</name>"
        '<version ivo-id="ivo://ivoa.net/std/ADQL#v2.0">2.0</version>'
        '<version ivo-id="ivo://ivoa.net/std/ADQL#v2.1">2.1</version>'
        "<description>ADQL 2.1 (2.0 queries are accepted too), translated to PostgreSQL with "
        "pg_sphere</description>"
        f"{_features(features)}</language>"
        f"{formats}"
        f'<uploadMethod ivo-id="{TAPREGEXT}#upload-inline"/>'
        f'<uploadMethod ivo-id="{TAPREGEXT}#upload-http"/>'
        f'<uploadMethod ivo-id="{TAPREGEXT}#upload-https"/>'
        f"<retentionPeriod><default>{config.retention_default}</default>"
        f"<hard>{config.retention_hard}</hard></retentionPeriod>"
        f"<executionDuration><default>{config.duration_default}</default>"
        f"<hard>{config.duration_hard}</hard></executionDuration>"
        f'<outputLimit><default unit="row">{config.maxrec_default}</default>'
        f'<hard unit="row">{config.maxrec_hard}</hard></outputLimit>'
        f'<uploadLimit><hard unit="byte">{config.upload_bytes}</hard></uploadLimit>'
        "</capability>"
    )
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:vr="http://www.ivoa.net/xml/VOResource/v1.0" '
        'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
        'xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0">',
        tap,
        _vosi_capability("ivo://ivoa.net/std/VOSI#capabilities", f"{base_url}/capabilities"),
        _vosi_capability("ivo://ivoa.net/std/VOSI#availability", f"{base_url}/availability"),
        _vosi_capability("ivo://ivoa.net/std/VOSI#tables-1.1", f"{base_url}/tables", "1.1"),
    ]
    if examples:
        parts.append(
            '<capability standardID="ivo://ivoa.net/std/DALI#examples">'
            '<interface xsi:type="vr:WebBrowser">'
            f'<accessURL use="full">{escape(base_url)}/examples</accessURL>'
            "</interface></capability>"
        )
    if extra:
        parts.append(extra)
    parts.append("</vosi:capabilities>")
    return "".join(parts).encode()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def availability(available: bool, note: str, up_since: datetime | None = None) -> bytes:
    """The ``/availability`` document (VOSI 1.1 §3.2)."""
    since = _el("vosi:upSince", _iso(up_since)) if up_since and available else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<vosi:availability xmlns:vosi="http://www.ivoa.net/xml/VOSIAvailability/v1.0">'
        f"<vosi:available>{'true' if available else 'false'}</vosi:available>{since}"
        f"{_el('vosi:note', note)}</vosi:availability>"
    ).encode()


def _column(column: Column) -> str:
    attrs = ""
    if column.arraysize:
        attrs += f" arraysize={quoteattr(column.arraysize)}"
    if column.xtype:
        attrs += f" extendedType={quoteattr(column.xtype)}"
    flags = [
        ("indexed", column.indexed),
        ("primary", column.principal),  # STIL maps TAP_SCHEMA principal to "primary"
        ("nullable", column.nullable),
    ]
    parts = [
        '<column std="true">' if column.std else "<column>",
        _el("name", column.name),
        _el("description", column.description),
        _el("unit", column.unit) if column.unit else "",
        _el("ucd", column.ucd) if column.ucd else "",
        _el("utype", column.utype) if column.utype else "",
        f'<dataType xsi:type="vs:VOTableType"{attrs}>{column.datatype}</dataType>',
        *(_el("flag", name) for name, on in flags if on),
        "</column>",
    ]
    return "".join(parts)


def _table(table: Table, metadata: TapMetadata, *, detail: bool) -> str:
    body = _el("name", table.qualified_name) + _el("description", table.description)
    if table.utype:
        body += _el("utype", table.utype)
    if detail:
        body += "".join(_column(c) for c in table.columns)
        for key in metadata.keys:
            if key.from_table != table.qualified_name:
                continue
            body += "<foreignKey>" + _el("targetTable", key.target_table)
            body += "".join(
                "<fkColumn>" + _el("fromColumn", a) + _el("targetColumn", b) + "</fkColumn>"
                for a, b in key.columns
            )
            if key.description:
                body += _el("description", key.description)
            body += "</foreignKey>"
    return f'<table type="{table.table_type}">{body}</table>'


_TABLES_NS = (
    'xmlns:vosi="http://www.ivoa.net/xml/VOSITables/v1.0" '
    'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)


def tableset(metadata: TapMetadata, *, detail: bool = True) -> bytes:
    """``/tables``: every schema and table; columns and keys unless ``detail`` is False."""
    schemas = []
    for schema in metadata.schemas:
        tables = "".join(
            _table(t, metadata, detail=detail) for t in metadata.tables_in(schema.name)
        )
        head = _el("name", schema.name) + _el("description", schema.description)
        if schema.utype:
            head += _el("utype", schema.utype)
        schemas.append(f"<schema>{head}{tables}</schema>")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><vosi:tableset {_TABLES_NS}>'
        + "".join(schemas)
        + "</vosi:tableset>"
    ).encode()


def table_document(table: Table, metadata: TapMetadata) -> bytes:
    """``/tables/{name}``: one table with full detail (VOSI 1.1 §3.3)."""
    inner = _table(table, metadata, detail=True)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        + inner.replace("<table ", f"<vosi:table {_TABLES_NS} ", 1)[: -len("</table>")]
        + "</vosi:table>"
    ).encode()
