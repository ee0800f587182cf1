"""DataLink service descriptors (DataLink 1.1 §4): how a VOTable says "call this service with
that column's value".

Every TAP result that carries ``obs_publisher_did`` (selected from ``ivoa.obscore``, under
any alias) gets a descriptor of this server's ``{links}`` endpoint with its ``ID`` input
bound to that column, so pyvo's ``getdatalink()`` / ``iter_datalinks()`` and TOPCAT's
DataLink activation action work from any ObsCore query::

    <RESOURCE type="meta" utype="adhoc:service" name="datalink">
      <PARAM name="standardID" ... value="ivo://ivoa.net/std/DataLink#links-1.1"/>
      <PARAM name="accessURL" ... value="https://host/datalink/links"/>
      <GROUP name="inputParams">
        <PARAM name="ID" datatype="char" arraysize="*" ref="<the column's FIELD ID>" .../>
      </GROUP>
    </RESOURCE>

:func:`service_descriptor` writes one such RESOURCE (also the SODA ``#cutout`` descriptor of
a ``{links}`` response); :func:`tap_result_resources` is the TAP service's hook.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from catalog.delivery.urls import SETTING, datalink_endpoint
from tap import Column

DATALINK_LINKS = "ivo://ivoa.net/std/DataLink#links-1.1"
SODA_SYNC = "ivo://ivoa.net/std/SODA#sync-1.0"
PUBLISHER_DID_UTYPE = "obscore:curation.publisherdid"


@dataclass(frozen=True)
class InputParam:
    """One input of a service descriptor: bound to a FIELD (``ref``), fixed (``value``), or
    free (the client fills it in: SODA's POS, BAND...), with its VOTable type and range."""

    name: str
    datatype: str = "char"
    arraysize: str | None = "*"
    ucd: str | None = None
    unit: str | None = None
    xtype: str | None = None
    ref: str | None = None
    value: str = ""
    description: str | None = None
    minimum: str | None = None
    maximum: str | None = None
    options: tuple[str, ...] = field(default_factory=tuple)

    def xml(self) -> str:
        attrs = [
            ("name", self.name),
            ("datatype", self.datatype),
            ("arraysize", self.arraysize),
            ("ucd", self.ucd),
            ("unit", self.unit),
            ("xtype", self.xtype),
            ("ref", self.ref),
            ("value", self.value),
        ]
        head = "<PARAM " + " ".join(f"{k}={quoteattr(v)}" for k, v in attrs if v is not None)
        body = ""
        if self.description:
            body += f"<DESCRIPTION>{escape(self.description)}</DESCRIPTION>"
        if self.minimum is not None or self.maximum is not None or self.options:
            body += "<VALUES>"
            if self.minimum is not None:
                body += f"<MIN value={quoteattr(self.minimum)}/>"
            if self.maximum is not None:
                body += f"<MAX value={quoteattr(self.maximum)}/>"
            body += "".join(f"<OPTION value={quoteattr(o)}/>" for o in self.options)
            body += "</VALUES>"
        return f"{head}>{body}</PARAM>" if body else f"{head}/>"


def service_descriptor(
    *,
    standard_id: str,
    access_url: str,
    inputs: Sequence[InputParam],
    resource_id: str | None = None,
    name: str | None = None,
    description: str | None = None,
) -> str:
    """One ``RESOURCE type="meta" utype="adhoc:service"`` as XML text."""
    attrs = ' type="meta" utype="adhoc:service"'
    if resource_id:
        attrs += f" ID={quoteattr(resource_id)}"
    if name:
        attrs += f" name={quoteattr(name)}"
    parts = [f"<RESOURCE{attrs}>\n"]
    if description:
        parts.append(f"<DESCRIPTION>{escape(description)}</DESCRIPTION>\n")
    parts.append(
        f'<PARAM name="standardID" datatype="char" arraysize="*" value={quoteattr(standard_id)}/>\n'
    )
    parts.append(
        f'<PARAM name="accessURL" datatype="char" arraysize="*" ucd="meta.ref.url" '
        f"value={quoteattr(access_url)}/>\n"
    )
    parts.append('<GROUP name="inputParams">\n')
    parts.extend(p.xml() + "\n" for p in inputs)
    parts.append("</GROUP>\n</RESOURCE>\n")
    return "".join(parts)


def _is_publisher_did(column: Column) -> bool:
    return (column.utype or "").lower() == PUBLISHER_DID_UTYPE


def tap_result_resources(
    columns: Sequence[Column], ids: Sequence[str], context: Mapping[str, str]
) -> Sequence[str]:
    """The DataLink descriptor for a TAP result with a publisher-DID column (else none)."""
    base = context.get(SETTING)
    if not base:
        return []
    for column, field_id in zip(columns, ids, strict=True):
        if _is_publisher_did(column):
            return [
                service_descriptor(
                    standard_id=DATALINK_LINKS,
                    access_url=datalink_endpoint(base),
                    name="datalink",
                    description="DataLink of each row: its file, preview, documentation, "
                    "provenance and cutout service",
                    inputs=[InputParam("ID", ucd="meta.id;meta.main", ref=field_id)],
                )
            ]
    return []
