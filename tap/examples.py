"""The DALI examples document (``/examples``): XHTML with RDFa, one block per query.

As DALI 1.1 §2.3 defines it, and built to pass taplint's EXA stage: well-formed XML, one ``vocab``
attribute, each example an element with ``typeof="example"``, an ``id`` and
``resource="#id"``, exactly one ``property="name"`` and one ``property="query"`` whose
content is plain text (no child elements), optional ``property="table"`` names that exist.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from tap.metadata import TapMetadata

VOCAB = "http://www.ivoa.net/rdf/examples#"
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Example:
    """One example query: ``id`` is an XML name, ``tables`` the qualified tables it uses."""

    id: str
    name: str
    query: str
    description: str
    tables: tuple[str, ...] = ()


def check(examples: Sequence[Example], metadata: TapMetadata) -> None:
    """Raise ValueError on an example whose id is not an XML name or names unknown tables."""
    seen: set[str] = set()
    for example in examples:
        if not _ID.match(example.id) or example.id in seen:
            raise ValueError(f"example id {example.id!r} is not a unique XML name")
        seen.add(example.id)
        for table in example.tables:
            if metadata.table(table) is None:
                raise ValueError(f"example {example.id}: table {table} is not published")


def document(examples: Sequence[Example], *, title: str) -> bytes:
    blocks = []
    for ex in examples:
        tables = "".join(f' <code property="table">{escape(t)}</code>' for t in ex.tables)
        blocks.append(
            f'<div typeof="example" id="{ex.id}" resource="#{ex.id}">\n'
            f'<h2 property="name">{escape(ex.name)}</h2>\n'
            f"<p>{escape(ex.description)}</p>\n"
            + (f"<p>Tables:{tables}</p>\n" if tables else "")
            + f'<pre class="query" property="query">{escape(ex.query)}</pre>\n</div>'
        )
    body = "\n".join(blocks)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" lang="en">\n'
        f"<head><title>{escape(title)}: example queries</title>"
        '<meta charset="utf-8"/>'
        "<style>body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;"
        "padding:0 1rem}pre{background:#f4f4f4;padding:.6em;white-space:pre-wrap}</style>"
        "</head>\n"
        f'<body vocab="{VOCAB}">\n<h1>{escape(title)}: example queries</h1>\n{body}\n'
        "</body></html>\n"
    ).encode()
