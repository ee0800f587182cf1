"""UWS 1.1 XML documents: the job list, the job, its parameters and results lists.

Elements are written in the order of the UWS 1.1 schema (``JobSummary`` sequence), in the
namespace ``http://www.ivoa.net/xml/UWS/v1.0`` with ``version="1.1"``; required elements
without a value are ``xsi:nil="true"``. A parameter value that XML 1.0 cannot carry
(control characters) is given by reference, as a URL of ``…/parameters/{name}``.
Also here: a minimal VOTable error document, the default for ``…/error`` when the host
gives no renderer of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from tap.uws.jobs import RESULT_ID, Job, format_time
from tap.uws.store import JobRef

UWS_NS = "http://www.ivoa.net/xml/UWS/v1.0"
XLINK_NS = "http://www.w3.org/1999/xlink"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_TYPE = "text/xml; charset=utf-8"
_NAMESPACES = f'xmlns:uws="{UWS_NS}" xmlns:xlink="{XLINK_NS}" xmlns:xsi="{XSI_NS}"'
_ROOT_ATTRS = f'{_NAMESPACES} version="1.1"'  # only jobs and job carry a version attribute
_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> bool:
    return _NOT_XML.search(text) is None


def _text(value: str) -> str:
    """Escaped character data; characters XML 1.0 cannot carry become U+FFFD."""
    return escape(_NOT_XML.sub("\ufffd", value))


def _attr(value: str) -> str:
    return quoteattr(_NOT_XML.sub("\ufffd", value))


def _element(name: str, value: str | None, indent: str = "  ") -> str:
    if value is None:
        return f'{indent}<uws:{name} xsi:nil="true"/>\n'
    return f"{indent}<uws:{name}>{_text(value)}</uws:{name}>\n"


def job_list(refs: Iterable[JobRef], base_url: str) -> str:
    """``<uws:jobs>`` with one ``<uws:jobref>`` per job (phase, runId, ownerId, creationTime)."""
    parts = [_HEAD, f"<uws:jobs {_ROOT_ATTRS}>\n"]
    for ref in refs:
        href = f"{base_url}/async/{ref.job_id}"
        parts.append(f"  <uws:jobref id={_attr(ref.job_id)} xlink:href={quoteattr(href)}>\n")
        parts.append(_element("phase", ref.phase, "    "))
        if ref.run_id is not None:
            parts.append(_element("runId", ref.run_id, "    "))
        parts.append(_element("ownerId", ref.owner_id, "    "))
        parts.append(_element("creationTime", format_time(ref.creation_time), "    "))
        parts.append("  </uws:jobref>\n")
    parts.append("</uws:jobs>\n")
    return "".join(parts)


def _parameters(job: Job, job_url: str, indent: str) -> str:
    lines = [f"{indent}<uws:parameters>\n"] if indent else [f"<uws:parameters {_NAMESPACES}>\n"]
    inner = indent + "  "
    for name, values in job.parameters.items():
        value = ";".join(values)
        if xml_safe(value):
            lines.append(
                f"{inner}<uws:parameter id={_attr(name)}>{escape(value)}</uws:parameter>\n"
            )
        else:
            href = f"{job_url}/parameters/{quote(name, safe='')}"
            lines.append(
                f'{inner}<uws:parameter id={_attr(name)} byReference="true">'
                f"{escape(href)}</uws:parameter>\n"
            )
    for name in job.inputs:
        if name in job.parameters:
            continue
        href = f"{job_url}/parameters/{quote(name, safe='')}"
        lines.append(
            f'{inner}<uws:parameter id={_attr(name)} byReference="true">'
            f"{escape(href)}</uws:parameter>\n"
        )
    lines.append(f"{indent}</uws:parameters>\n")
    return "".join(lines)


def parameters_document(job: Job, job_url: str) -> str:
    return _HEAD + _parameters(job, job_url, "")


def _results(job: Job, job_url: str, indent: str) -> str:
    open_tag = "<uws:results>" if indent else f"<uws:results {_NAMESPACES}>"
    if job.result is None:
        return f"{indent}{open_tag[:-1]}/>\n"
    href = f"{job_url}/results/{RESULT_ID}"
    meta = job.result
    return (
        f"{indent}{open_tag}\n"
        f"{indent}  <uws:result id={quoteattr(RESULT_ID)} xlink:href={quoteattr(href)} "
        f'size="{meta.size}" mime-type={quoteattr(meta.content_type)}/>\n'
        f"{indent}</uws:results>\n"
    )


def results_document(job: Job, job_url: str) -> str:
    return _HEAD + _results(job, job_url, "")


def job_document(job: Job, job_url: str) -> str:
    """``<uws:job>``: every element of the UWS 1.1 ``JobSummary`` in schema order."""
    parts = [_HEAD, f"<uws:job {_ROOT_ATTRS}>\n", _element("jobId", job.job_id)]
    if job.run_id is not None:
        parts.append(_element("runId", job.run_id))
    parts.append(_element("ownerId", job.owner_id))
    parts.append(_element("phase", job.phase))
    parts.append(_element("quote", format_time(job.quote) if job.quote else None))
    parts.append(_element("creationTime", format_time(job.creation_time)))
    parts.append(_element("startTime", format_time(job.start_time) if job.start_time else None))
    parts.append(_element("endTime", format_time(job.end_time) if job.end_time else None))
    parts.append(_element("executionDuration", str(job.execution_duration)))
    parts.append(_element("destruction", format_time(job.destruction) if job.destruction else None))
    parts.append(_parameters(job, job_url, "  "))
    parts.append(_results(job, job_url, "  "))
    if job.error is not None:
        kind = "fatal" if job.error.fatal else "transient"
        parts.append(f'  <uws:errorSummary type="{kind}" hasDetail="true">\n')
        parts.append(_element("message", job.error.message, "    "))
        parts.append("  </uws:errorSummary>\n")
    parts.append("</uws:job>\n")
    return "".join(parts)


def votable_error(message: str) -> tuple[bytes, str]:
    """A VOTable 1.4 error document (DALI §4.4): ``QUERY_STATUS`` ``ERROR`` with the text."""
    text = _text(message)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n'
        '  <RESOURCE type="results">\n'
        f'    <INFO name="QUERY_STATUS" value="ERROR">{text}</INFO>\n'
        "  </RESOURCE>\n"
        "</VOTABLE>\n"
    )
    return body.encode(), "application/x-votable+xml"
