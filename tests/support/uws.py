"""What the UWS tests share: a real executor, the app, a live server, the UWS 1.1 schema.

The executor runs real statements on the test database. Its QUERY is a tiny command
language, so each test can ask for the behaviour it checks:

    sleep:<s>         SELECT pg_sleep(s), then one CSV line
    rows:<n>          n rows of generate_series streamed as CSV (server-side cursor)
    votable:<n>       n rows as a VOTable (what pyvo and STILTS read)
    fail:<message>    a user error (UsageError) with that message
    crash             an unexpected exception (a bug in the executor)
    sql:<statement>   run a statement; database errors become QueryError

``tests/data/uws/`` holds the schemas taplint validates job documents with, copied
unchanged from Debian's STILTS 3.4.7 (``starlink-ttools.jar``, package
``uk/ac/starlink/ttools/taplint``): the IVOA UWS 1.1 REC schema and the W3C xlink and xml
namespace schemas it imports, resolved locally so validation needs no network.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from tap.errors import QueryError, QueryTimeout, UsageError
from tap.uws import ResultInfo, ResultSink, RunningJob, UwsLimits, UwsService

XSD_DIR = Path(__file__).resolve().parents[1] / "data" / "uws"
UWS_NS = "http://www.ivoa.net/xml/UWS/v1.0"
NS = {"uws": UWS_NS, "xlink": "http://www.w3.org/1999/xlink"}


def execute(run: RunningJob, sink: ResultSink) -> ResultInfo:
    query = (run.job.parameter("query") or "").strip()
    command, _, arg = query.partition(":")
    if command == "sleep":
        with run.connect() as conn:
            conn.execute(sa.text("SELECT pg_sleep(:s)"), {"s": float(arg)})
        sink.write(b"slept\n")
        return ResultInfo("text/csv", 1)
    if command in ("rows", "votable"):
        return _rows(run, sink, int(arg), votable=command == "votable")
    if command == "fail":
        raise UsageError(arg)
    if command == "crash":
        raise RuntimeError("a bug: this text must not reach the client")
    if command == "sql":
        try:
            with run.connect() as conn:
                value = conn.execute(sa.text(arg)).scalar()
        except sa.exc.DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == "57014":
                raise QueryTimeout("statement timeout") from exc
            raise QueryError(f"The database refused the query: {str(exc.orig).strip()}") from exc
        sink.write(f"{value}\n".encode())
        return ResultInfo("text/csv", 1)
    raise UsageError(f"unknown test query {query!r}")


def _rows(run: RunningJob, sink: ResultSink, n: int, *, votable: bool) -> ResultInfo:
    if votable:
        sink.write(
            b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n'
            b'<RESOURCE type="results"><INFO name="QUERY_STATUS" value="OK"/>\n'
            b'<TABLE><FIELD name="n" datatype="long"/><DATA><TABLEDATA>\n'
        )
    else:
        sink.write(b"n,label\n")
    with run.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=5000).execute(
            sa.text("SELECT g, 'row ' || g FROM generate_series(1, :n) g"), {"n": n}
        )
        for part in result.partitions():
            if votable:
                sink.write("".join(f"<TR><TD>{g}</TD></TR>\n" for g, _ in part).encode())
            else:
                sink.write("".join(f"{g},{label}\n" for g, label in part).encode())
    if votable:
        sink.write(b"</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>\n")
        return ResultInfo("application/x-votable+xml", n)
    return ResultInfo("text/csv", n)


CAPABILITIES = """<?xml version="1.0" encoding="UTF-8"?>
<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1"
    xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0">
  <capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">
    <interface xsi:type="vs:ParamHTTP" role="std" version="1.1">
      <accessURL use="base">{base}</accessURL>
    </interface>
    <language><name>ADQL</name><version ivo-id="ivo://ivoa.net/std/ADQL#v2.0">2.0</version>
    </language>
    <outputFormat><mime>application/x-votable+xml</mime></outputFormat>
    {limits}
  </capability>
</vosi:capabilities>
"""


# One table, so that taplint's UWS stage has something to put in its queries.
TABLES = """<?xml version="1.0" encoding="UTF-8"?>
<vosi:tableset xmlns:vosi="http://www.ivoa.net/xml/VOSITables/v1.0"
    xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <schema><name>demo</name><description>test</description>
    <table type="table"><name>demo.numbers</name><description>test</description>
      <column><name>n</name><description>a number</description>
        <dataType xsi:type="vs:VOTableType">long</dataType></column>
    </table>
  </schema>
</vosi:tableset>
"""


def make_app(svc: UwsService, *, with_lifespan: bool = True) -> Starlette:
    """``svc`` mounted at /tap, with minimal capabilities and tables documents for clients."""

    async def capabilities(request: Request) -> Response:
        base = f"{request.url.scheme}://{request.url.netloc}/tap"
        body = CAPABILITIES.format(base=base, limits=svc.limits.tapregext())
        return Response(body, media_type="text/xml")

    async def tables(request: Request) -> Response:
        return Response(TABLES, media_type="text/xml")

    routes = [Route("/capabilities", capabilities), Route("/tables", tables), *svc.routes()]
    return Starlette(
        routes=[Mount("/tap", routes=routes)], lifespan=svc.lifespan if with_lifespan else None
    )


USER_HEADER = "x-test-user"


def header_owner(request: Request) -> str | None:
    """A test identity: the caller named by the ``x-test-user`` header, else anonymous (what
    the access layer will do with real credentials)."""
    return request.headers.get(USER_HEADER) or None


def make_service(engine: sa.Engine, **kwargs: Any) -> UwsService:
    kwargs.setdefault(
        "limits", UwsLimits(default_execution_duration=60, max_execution_duration=120, max_wait=30)
    )
    kwargs.setdefault("workers", 2)
    kwargs.setdefault("recheck_interval", 1.0)
    return UwsService(engine, execute, **kwargs)


_LOCATIONS = {
    "http://www.ivoa.net/xml/Xlink/xlink.xsd": "xlink.xsd",
    "http://www.w3.org/2001/xml.xsd": "xmlnamespace.xsd",
}


class _LocalSchemas(etree.Resolver):
    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:  # type: ignore[override]
        name = _LOCATIONS.get(system_url)
        if name is None:
            return None
        return self.resolve_filename(str(XSD_DIR / name), context)  # type: ignore[attr-defined]


@functools.cache
def uws_schema() -> etree.XMLSchema:
    """The UWS 1.1 REC schema (as bundled with STILTS taplint), imports resolved locally."""
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_LocalSchemas())
    return etree.XMLSchema(etree.parse(str(XSD_DIR / "UWS-v1.1.xsd"), parser))


def valid_uws(body: bytes) -> Any:
    """Parse and validate a UWS document; fails the test with the schema's complaint.

    Returns the root element, typed ``Any``: tests navigate it freely."""
    root = etree.fromstring(body)
    schema = uws_schema()
    if not schema.validate(root):
        raise AssertionError(f"not valid UWS 1.1: {schema.error_log}\n{body.decode()}")
    return root


# -- the HTTP tests' steps (through Starlette's test client) ------------------------------

BASE = "http://testserver/tap"


def create(client: TestClient, **params: str) -> str:
    response = client.post("/tap/async", data=params)
    assert response.status_code == 303, response.text
    location = str(response.headers["location"])
    assert location.startswith(f"{BASE}/async/")
    return location.rsplit("/", 1)[1]


def job_doc(client: TestClient, job_id: str, **query: str) -> tuple[httpx.Response, dict[str, str]]:
    response = client.get(f"/tap/async/{job_id}", params=query)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    root = valid_uws(response.content)
    fields = {el.tag.split("}")[1]: (el.text or "") for el in root}
    return response, fields


def phase(client: TestClient, job_id: str) -> str:
    return str(client.get(f"/tap/async/{job_id}/phase").text)


def wait_until(client: TestClient, job_id: str, wanted: set[str], limit: float = 60) -> str:
    """Poll (with WAIT) until the job's phase is one of ``wanted``."""
    deadline = time.monotonic() + limit
    while True:
        _, fields = job_doc(client, job_id, WAIT="5")
        if fields["phase"] in wanted or time.monotonic() > deadline:
            return fields["phase"]


def poll_until(client: TestClient, job_id: str, wanted: set[str], limit: float = 60) -> str:
    """Poll /phase (no WAIT) until the phase is one of ``wanted``: for short phases."""
    deadline = time.monotonic() + limit
    while (current := phase(client, job_id)) not in wanted and time.monotonic() < deadline:
        time.sleep(0.02)
    return current


def run(client: TestClient, job_id: str) -> None:
    response = client.post(f"/tap/async/{job_id}/phase", data={"PHASE": "RUN"})
    assert response.status_code == 303
    assert response.headers["location"] == f"{BASE}/async/{job_id}"


# -- the executor's statements seen from the database --------------------------------------


def active_sleeps(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                    "AND query LIKE 'SELECT pg_sleep%' AND datname = current_database()"
                )
            ).scalar_one()
        )


def wait_no_sleeps(engine: sa.Engine, limit: float = 20) -> int:
    deadline = time.monotonic() + limit
    while (n := active_sleeps(engine)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return n
