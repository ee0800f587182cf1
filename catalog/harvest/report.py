"""Rendering a check: a rich terminal report, JSON for machines, HTML for a team.

The JSON document (``format_version`` 1):

    {"format_version": 1, "verdict": "NEEDS REVIEW", "counts": {"PASS": 3, ...},
     "roots": [...], "collections": {"<hlsp id>": [finding, ...]},
     "files": [{"path", "file_name", "collection", "kind", "verdict",
                "fields": [{"name", "value", "verdict"}], "findings": [finding, ...]}]}

    finding = {"code", "severity", "verdict", "hdu", "keyword", "field", "message"}
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from catalog import __version__
from catalog.harvest.checkrun import CheckReport, FileReport
from catalog.harvest.findings import AREAS, RULES, Finding, Verdict

_STYLE = {Verdict.PASS: "green", Verdict.NEEDS_REVIEW: "yellow", Verdict.FAIL: "bold red"}


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": str(f.severity),
        "verdict": str(f.verdict),
        "hdu": f.hdu,
        "keyword": f.keyword,
        "field": f.field,
        "message": f.message,
    }


def to_json(report: CheckReport) -> str:
    document = {
        "format_version": 1,
        "generator": f"hlsp-catalog {__version__}",
        "verdict": str(report.verdict),
        "counts": report.counts(),
        "roots": report.roots,
        "collections": {
            c: [_finding(f) for f in fs] for c, fs in sorted(report.collection_findings.items())
        },
        "files": [
            {
                "path": r.path,
                "file_name": r.file_name,
                "collection": r.collection,
                "kind": r.kind,
                "verdict": str(r.verdict),
                "fields": [
                    {"name": c.name, "value": c.value, "verdict": str(c.verdict)} for c in r.fields
                ],
                "findings": [_finding(f) for f in r.findings],
            }
            for r in report.files
        ],
    }
    return json.dumps(document, indent=2)


def _where(f: Finding) -> str:
    parts = []
    if f.field:
        parts.append(f"name:{f.field}")
    if f.hdu is not None:
        parts.append(f"HDU {f.hdu}")
    if f.keyword:
        parts.append(f.keyword)
    return " ".join(parts)


def print_terminal(report: CheckReport, console: Console, *, verbose: bool = False) -> None:
    """Files with their verdicts; findings of every file that is not PASS (all if verbose)."""
    table = Table(title="HLSP check", show_lines=False, expand=False)
    table.add_column("verdict")
    table.add_column("file")
    table.add_column("findings", justify="right")
    for r in report.files:
        table.add_row(Text(str(r.verdict), style=_STYLE[r.verdict]), r.path, str(len(r.findings)))
    console.print(table)
    for r in report.files:
        shown = r.findings if verbose or r.verdict != Verdict.PASS else []
        if not shown:
            continue
        console.print(Text(f"\n{r.path}", style="bold"))
        for f in shown:
            line = Text("  ")
            line.append(f"{f.code} ", style=_STYLE[f.verdict])
            line.append(f"[{_where(f)}] " if _where(f) else "")
            line.append(f.message)
            console.print(line)
    for collection, findings in sorted(report.collection_findings.items()):
        console.print(Text(f"\ncollection {collection}", style="bold"))
        for f in findings:
            console.print(Text(f"  {f.code} {f.message}", style=_STYLE[f.verdict]))
    counts = ", ".join(f"{n} {v}" for v, n in report.counts().items())
    console.print(
        Text(f"\n{len(report.files)} files: {counts}. Verdict: ")
        + Text(str(report.verdict), style=_STYLE[report.verdict])
    )


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%}td,th{padding:.3em .5em;border-bottom:1px solid #eee;
text-align:left;vertical-align:top}th{background:#f5f5f5}code{font-size:.95em}
.PASS{color:#17702e}.NEEDS{color:#8a5a00}.FAIL{color:#b00020;font-weight:600}
.badge{display:inline-block;padding:.1em .5em;border-radius:.3em;background:#f2f2f2}
.small{color:#666;font-size:.9em}
"""


def _cls(verdict: Verdict) -> str:
    return verdict.value.split()[0]


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def to_html(report: CheckReport) -> str:
    """A self-contained page a contact scientist can send to a team."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    counts = " · ".join(
        f'<span class="{_cls(Verdict(v))}">{n} {_e(v)}</span>' for v, n in report.counts().items()
    )
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>HLSP check: {_e(report.verdict)}</title><style>{_CSS}</style></head><body>",
        "<h1>HLSP contribution check</h1>",
        f"<p>Verdict: <span class='badge {_cls(report.verdict)}'>{_e(report.verdict)}</span>"
        f" — {len(report.files)} files: {counts}</p>",
        f"<p class='small'>Checked {_e(', '.join(report.roots))} on {now} with hlsp-catalog "
        f"{_e(__version__)} against MAST's HLSP guidelines (file nomenclature, metadata, "
        "provenance, collection consistency). FAIL must be fixed before publication; "
        "NEEDS REVIEW is for the team and the contact scientist to decide.</p>",
    ]
    if report.collection_findings:
        parts.append(
            "<h2>Collection</h2><table><tr><th>collection</th><th>code</th>"
            "<th>what to fix</th></tr>"
        )
        for collection, findings in sorted(report.collection_findings.items()):
            parts += [
                f"<tr><td>{_e(collection)}</td><td class='{_cls(f.verdict)}'>"
                f"<code>{_e(f.code)}</code></td><td>{_e(f.message)}</td></tr>"
                for f in findings
            ]
        parts.append("</table>")
    parts.append("<h2>Files</h2><table><tr><th>verdict</th><th>file</th><th>findings</th></tr>")
    parts += [
        f"<tr><td class='{_cls(r.verdict)}'>{_e(r.verdict)}</td><td><code>{_e(r.path)}"
        f"</code></td><td>{len(r.findings)}</td></tr>"
        for r in report.files
    ]
    parts.append("</table>")
    for r in report.files:
        if r.findings:
            parts.append(_file_section(r))
    used = sorted({f.code for r in report.files for f in r.findings})
    if used:
        parts.append(
            "<h2>Codes used in this report</h2><table><tr><th>code</th><th>area</th>"
            "<th>meaning</th><th>how to fix</th></tr>"
        )
        parts += [
            f"<tr><td><code>{_e(c)}</code></td><td>{_e(RULES[c].area)}</td>"
            f"<td>{_e(RULES[c].title)}</td><td>{_e(RULES[c].fix)}</td></tr>"
            for c in used
            if c in RULES
        ]
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _file_section(r: FileReport) -> str:
    rows = "".join(
        f"<tr><td class='{_cls(f.verdict)}'><code>{_e(f.code)}</code></td>"
        f"<td>{_e(_where(f))}</td><td>{_e(f.message)}</td></tr>"
        for f in r.findings
    )
    fields = ""
    if r.fields:
        fields = (
            "<p class='small'>Name fields: "
            + ", ".join(
                f"{_e(c.name)}=<code>{_e(c.value)}</code> "
                f"<span class='{_cls(c.verdict)}'>{_e(c.verdict)}</span>"
                for c in r.fields
            )
            + "</p>"
        )
    return (
        f"<h2 id='{_e(r.file_name)}'><code>{_e(r.path)}</code> — <span "
        f"class='{_cls(r.verdict)}'>{_e(r.verdict)}</span></h2>{fields}<table><tr>"
        f"<th>code</th><th>where</th><th>what is wrong and how to fix it</th></tr>{rows}"
        "</table>"
    )


def codes_markdown() -> str:
    """Every finding code, grouped by area: the generated reference (docs/findings.md)."""
    lines = [
        "# Finding codes",
        "",
        "<!-- Generated by `hlsp check --list-codes`; do not edit by hand. -->",
        "",
        "Severity `error` makes a file FAIL, `warning` makes it NEEDS REVIEW, `info` is "
        "advice. Codes are stable: a code is never reused for another meaning.",
    ]
    for letter, area in AREAS.items():
        rules = sorted((r for r in RULES.values() if r.code[5] == letter), key=lambda r: r.code)
        if not rules:
            continue
        lines += [
            "",
            f"## {area}",
            "",
            "| code | severity | meaning | how to fix |",
            "|---|---|---|---|",
        ]
        for r in rules:
            fix = r.fix.replace("|", "\\|")
            lines.append(f"| {r.code} | {r.severity} | {r.title} | {fix} |")
    return "\n".join(lines) + "\n"
