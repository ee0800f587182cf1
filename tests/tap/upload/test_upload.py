"""Uploaded tables: VOTables as astropy and STILTS write them, damage, loading, crossmatch."""

from __future__ import annotations

import base64
import http.server
import io
import ipaddress
import math
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from catalog.db import Database
from tap.config import TapConfig
from tap.errors import UploadError, UsageError
from tap.metadata import Column
from tap.upload import (
    UploadSpec,
    create_upload_table,
    parse_upload_param,
    read_upload,
    read_uploads,
)
from tap.votable import query_result, write
from tests.support.votable_cases import astropy_rows, same, stilts


def c(name: str, datatype: str, arraysize: str | None = None, xtype: str | None = None) -> Column:
    return Column(name, "x", datatype, f"{name} column", arraysize, xtype)


# The shape of the table taplint's UPL stage uploads, plus geometry and unicode.
UPL_COLUMNS = (
    c("d_short", "short"), c("d_int", "int"), c("d_long", "long"), c("d_float", "float"),
    c("d_double", "double"), c("d_char", "char", "1"), c("d_string", "char", "*"),
    c("d_time", "char", "*", "timestamp"), c("d_bool", "boolean"),
    c("d_text", "unicodeChar", "*"), c("pos", "double", "2", "point"),
    c("area", "double", "3", "circle"), c("shape", "double", "*", "polygon"),
    c("d_ints", "int", "*"),
)  # fmt: skip


def upl_rows(n: int = 23) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for i in range(1, n):
        rows.append(
            (
                i,
                i * 1000,
                i * 10**12,
                1.125 * i,
                i / 7,
                chr(ord("a") + i % 26),
                f"row {i} <&>",
                datetime(2020, 1, i % 28 + 1, i % 24, 30, 15, 250000 * (i % 4)),
                i % 2 == 0,
                f"ü{i}☃",
                [i * 10.0, i - 45.0],
                [i * 1.0, 10.0, 0.5],
                [0.0, 0.0, 1.0, 0.0, 1.0, float(i)],
                [i, -i],
            )
        )
    rows.append(
        (None,) * 5 + ("z", "last", datetime(2021, 5, 6), None, None, None, None, None, None)
    )
    return rows


ROWS = upl_rows()
SERIALIZATIONS = {"TABLEDATA": "votable/td", "BINARY": "votable/b", "BINARY2": "votable/b2"}


def check_values(
    got: list[tuple[Any, ...]], sent: list[tuple[Any, ...]], *, binary1: bool = False
) -> None:
    assert len(got) == len(sent)
    for r, (g_row, s_row) in enumerate(zip(got, sent, strict=True)):
        for column, g, value in zip(UPL_COLUMNS, g_row, s_row, strict=True):
            want = value
            if column.name == "d_float" and value is not None:
                want = float(np.float32(value))
            if binary1 and value is None and column.name in ("d_string", "d_text"):
                assert g in (None, ""), (r, column.name, g)
                continue
            if binary1 and value is None and column.name in ("shape", "d_ints"):
                assert g in (None, []), (r, column.name, g)
                continue
            assert same(g, want), f"row {r} column {column.name}: {g!r} != {want!r}"


@pytest.mark.parametrize("serialization", list(SERIALIZATIONS))
def test_reads_what_our_writer_writes(serialization: str) -> None:
    data = b"".join(write(UPL_COLUMNS, ROWS, SERIALIZATIONS[serialization]))
    table = read_upload(data)
    assert [col.name for col in table.columns] == [col.name for col in UPL_COLUMNS]
    check_values(table.rows, ROWS, binary1=serialization == "BINARY")
    types = {f.name: f.sql_type for f in table.fields}
    assert types["d_time"] == "timestamp" and types["pos"] == "spoint"
    assert types["area"] == "scircle" and types["shape"] == "spoly"
    assert types["d_ints"] == "integer[]" and types["d_float"] == "real"
    published = {col.name: col for col in table.columns}
    assert (published["d_time"].datatype, published["d_time"].xtype) == ("char", "timestamp")
    assert published["pos"].xtype == "point" and published["pos"].arraysize == "2"


def astropy_upload(serialization: str, version: str = "1.4") -> bytes:
    """The table pyvo would upload: astropy's VOTable writer, with masked NULLs."""
    from astropy.io.votable import from_table
    from astropy.table import MaskedColumn, Table

    n = 6
    table = Table()
    table["d_short"] = MaskedColumn(np.arange(n, dtype=np.int16), mask=[0] * (n - 1) + [1])
    table["d_int"] = MaskedColumn(np.arange(n, dtype=np.int32) * 1000, mask=[0] * (n - 1) + [1])
    table["d_long"] = MaskedColumn(np.arange(n, dtype=np.int64) * 10**12, mask=[0] * (n - 1) + [1])
    table["d_float"] = MaskedColumn(
        np.arange(n, dtype=np.float32) * 1.125, mask=[0] * (n - 1) + [1]
    )
    table["d_double"] = MaskedColumn(np.arange(n) / 7, mask=[0] * (n - 1) + [1])
    table["d_string"] = [f"row {i} ü" for i in range(n)]
    table["d_time"] = [f"2020-01-0{i + 1}T12:00:0{i}" for i in range(n)]
    table["d_bool"] = MaskedColumn([True, False] * 3, mask=[0] * (n - 1) + [1])
    table["pos"] = np.array([[i * 10.0, i - 45.0] for i in range(n)])
    votable = from_table(table)
    fields = {f.name: f for f in votable.get_first_table().fields}
    if serialization != "TABLEDATA":  # astropy cannot write masked integers without one
        for name in ("d_short", "d_int", "d_long"):
            fields[name].values.null = -99
    fields["d_time"].xtype = "timestamp"
    fields["pos"].xtype = "point"
    votable.version = version
    out = io.BytesIO()
    votable.to_xml(out, tabledata_format=serialization.lower())
    return out.getvalue()


# astropy warns about what it writes for masked bits and integers: that is the point here.
ASTROPY_WRITING = pytest.mark.filterwarnings("ignore:.*(Bit values|NaN given).*")


@ASTROPY_WRITING
@pytest.mark.parametrize("serialization", list(SERIALIZATIONS))
def test_reads_astropy_uploads(serialization: str) -> None:
    table = read_upload(astropy_upload(serialization))
    rows = table.rows
    assert len(rows) == 6
    first, last = rows[1], rows[5]
    assert first[:5] == (1, 1000, 10**12, 1.125, 1 / 7)
    assert first[5] == "row 1 ü" and first[6] == datetime(2020, 1, 2, 12, 0, 1)
    assert first[7] is False and first[8] == [10.0, -44.0]
    assert last[:5] == (None,) * 5
    assert last[7] is None or serialization == "BINARY"  # astropy writes bit: no NULL in BINARY
    types = {f.name: f.sql_type for f in table.fields}
    assert types == {
        "d_short": "smallint",
        "d_int": "integer",
        "d_long": "bigint",
        "d_float": "real",
        "d_double": "double precision",
        "d_string": "text",
        "d_time": "timestamp",
        "d_bool": "boolean",
        "pos": "spoint",
    }


@ASTROPY_WRITING
def test_reads_astropy_votable_1_2() -> None:
    table = read_upload(astropy_upload("TABLEDATA", version="1.2"))
    assert len(table.rows) == 6


@pytest.fixture(scope="module")
def stilts_sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The test table as STILTS writes it (what TOPCAT uploads): tcopy of our TABLEDATA."""
    tool = stilts()
    folder = tmp_path_factory.mktemp("stilts")
    source = folder / "source.vot"
    source.write_bytes(b"".join(write(UPL_COLUMNS, ROWS, "votable/td")))
    made = {}
    for name in ("votable-tabledata", "votable-binary-inline", "votable-binary2-inline"):
        target = folder / f"{name}.vot"
        subprocess.run(
            [tool, "tcopy", f"in={source}", "ifmt=votable", f"out={target}", f"ofmt={name}"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        made[name] = target
    return made


@pytest.mark.parametrize(
    "ofmt", ["votable-tabledata", "votable-binary-inline", "votable-binary2-inline"]
)
def test_reads_stilts_uploads(ofmt: str, stilts_sources: dict[str, Path]) -> None:
    data = stilts_sources[ofmt].read_bytes()
    assert b"<STREAM" in data or ofmt == "votable-tabledata"
    table = read_upload(data)
    check_values(table.rows, ROWS, binary1=ofmt == "votable-binary-inline")
    assert {f.name: f.kind for f in table.fields}["pos"] == "point"


def test_upload_from_a_file_object_and_name_mapping() -> None:
    columns = (
        c("RA (J2000)", "double"),
        c("1st", "int"),
        c("ra", "double"),
        c("RA", "double"),
        c("select", "char", "*"),
    )
    data = b"".join(write(columns, [(1.0, 2, 3.0, 4.0, "x")], "votable/td"))
    table = read_upload(io.BytesIO(data))
    assert table.sql_names == ("ra_j2000", "c_1st", "ra", "ra_2", "select")
    assert [col.name for col in table.columns] == ["RA (J2000)", "1st", "ra", "RA_2", "select"]
    assert table.name_map["RA (J2000)"] == "ra_j2000"


GOOD = b"".join(write((c("n", "int"),), [(1,), (2,)], "votable/td")).decode()
GOOD_B2 = b"".join(
    write((c("n", "int"), c("s", "char", "*")), [(1, "ab"), (2, "cd")], "votable/b2")
)


def _b2_with_stream(text: str) -> bytes:
    stream = rb"\g<1>" + text.encode() + rb"\g<2>"
    return re.sub(rb'(<STREAM encoding="base64">).*(</STREAM>)', stream, GOOD_B2, flags=re.S)


def _truncated_b2() -> bytes:
    stream = re.search(rb'<STREAM encoding="base64">(.*)</STREAM>', GOOD_B2, re.S)
    assert stream is not None
    raw = base64.b64decode(b"".join(stream.group(1).split()))
    return _b2_with_stream(base64.b64encode(raw[:-3]).decode())


DAMAGED = {
    "empty": (b"", "empty"),
    "not xml": (b"ra,dec\n1,2\n", "not well-formed XML"),
    "html": (b"<html><body>hi</body></html>", "not a VOTable"),
    "no table": (b'<VOTABLE version="1.4"><RESOURCE/></VOTABLE>', "has no TABLE"),
    "no field": (b"<VOTABLE><RESOURCE><TABLE><DATA><TABLEDATA/></DATA></TABLE></RESOURCE>"
                 b"</VOTABLE>", "no FIELD"),
    "unclosed": (GOOD[: len(GOOD) // 2 + 40].encode(), "not well-formed XML"),
    "arity": (GOOD.replace("<TD>2</TD>", "<TD>2</TD><TD>3</TD>").encode(),
              "row 2 has 2 cells for 1"),
    "bad int": (GOOD.replace("<TD>2</TD>", "<TD>two</TD>").encode(), "row 2, column n"),
    "bad base64": (_b2_with_stream("!!!not base64!!!"), "not valid base64"),
    "truncated": (_truncated_b2(), "ends in the middle of row 2"),
    "entity": (b'<?xml version="1.0"?><!DOCTYPE v [<!ENTITY a "aaaa">]><VOTABLE>&a;</VOTABLE>',
               "entity declarations"),
    "href": (GOOD_B2.replace(b'<STREAM encoding="base64">', b'<STREAM href="file:///etc/passwd">'),
             "href"),
    "no datatype": (GOOD.replace(' datatype="int"', "").encode(), "no datatype"),
    "bad datatype": (GOOD.replace('datatype="int"', 'datatype="integer"').encode(),
                     "not a VOTable datatype"),
    "fits": (GOOD.replace("<TABLEDATA>", "<FITS>").replace("</TABLEDATA>", "</FITS>").encode(),
             "FITS"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(DAMAGED))
def test_damaged_uploads_are_refused_clearly(case: str) -> None:
    data, message = DAMAGED[case]
    with pytest.raises(UploadError) as caught:
        read_upload(data, label="t1")
    assert message in caught.value.message
    assert caught.value.message.startswith("Table t1: ")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1 2", "a latitude"),
        ("10 95", "a latitude outside"),
        ("1 2 3 4", "at least 3"),
        ("1 2 3 4 5", "at least 3"),
    ],
)
def test_bad_geometry_is_refused(value: str, message: str) -> None:
    xtype = "point" if value.count(" ") == 1 else "polygon"
    arraysize = "2" if xtype == "point" else "*"
    doc = (
        f'<VOTABLE><RESOURCE><TABLE><FIELD name="g" datatype="double" arraysize="{arraysize}"'
        f' xtype="{xtype}"/><DATA><TABLEDATA><TR><TD>{value}</TD></TR></TABLEDATA></DATA>'
        "</TABLE></RESOURCE></VOTABLE>"
    )
    if value == "1 2":
        assert read_upload(doc.encode()).rows == [([1.0, 2.0],)]
        return
    with pytest.raises(UploadError, match=message):
        read_upload(doc.encode())


def test_limits() -> None:
    data = b"".join(write((c("n", "int"),), [(i,) for i in range(100)], "votable/b2"))
    with pytest.raises(UploadError, match="larger than the limit of 100 bytes"):
        read_upload(data, max_bytes=100)
    with pytest.raises(UploadError, match="larger than the limit"):
        read_upload(io.BytesIO(data), max_bytes=len(data) - 1)
    with pytest.raises(UploadError, match="more than 99 rows"):
        read_upload(data, max_rows=99)
    assert len(read_upload(data, max_rows=100, max_bytes=len(data)).rows) == 100


# -- in the database ---------------------------------------------------------------------


@pytest.fixture
def conn(database: Database) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database.url) as connection:
        yield connection


def test_round_trip_through_the_database(conn) -> None:
    """taplint's UPL check: SELECT * FROM TAP_UPLOAD.t1 returns what was uploaded."""
    uploaded = read_upload(b"".join(write(UPL_COLUMNS, ROWS, "votable/b")))
    name = create_upload_table(conn, "t1", uploaded)
    assert name == "tap_upload_t1"
    select = ", ".join(
        f"ARRAY[degrees(long({n})), degrees(lat({n}))] AS {n}"
        if n == "pos"
        else f"ARRAY[degrees(long(center({n}))), degrees(lat(center({n}))), "
        f"degrees(radius({n}))] AS {n}"
        if n == "area"
        else f"(SELECT array_agg(v) FROM unnest(string_to_array(trim(both '{{}}' from "
        f"replace(replace(replace({n}::text, '(', ''), ')', ''), 'd', '')), ',')::float8[]) v)"
        f" AS {n}"
        if n == "shape"
        else n
        for n in uploaded.sql_names
    )
    conn.execute("SELECT set_sphere_output('DEG')")
    data = b"".join(
        query_result(conn, f"SELECT {select} FROM {name}", uploaded.columns, "votable/b2")
    )
    _, rows = astropy_rows(data)
    back = read_upload(data).rows
    for r, (row, sent) in enumerate(zip(back, ROWS, strict=True)):
        for column, g, value in zip(UPL_COLUMNS, row, sent, strict=True):
            want = value
            if value is None and column.name in ("d_text", "d_string"):
                want = ""  # BINARY (the upload) has no NULL string
            elif value is None and column.name == "d_ints":
                want = []
            elif column.name == "d_float" and value is not None:
                want = float(np.float32(value))
            if isinstance(want, list) and isinstance(g, list):
                assert all(math.isclose(a, b, abs_tol=1e-9) for a, b in zip(g, want, strict=True))
                continue
            assert same(g, want), f"row {r} column {column.name}: {g!r} != {want!r}"
    assert len(rows) == len(ROWS)


def test_crossmatch_with_an_upload_in_a_read_only_transaction(conn) -> None:
    conn.execute("CREATE TABLE stars (id int, pos spoint)")
    conn.execute(
        "INSERT INTO stars SELECT i, spoint(radians(i * 10.0), radians(i - 45.0))"
        " FROM generate_series(1, 20) AS i"
    )
    conn.execute("CREATE INDEX ON stars USING gist (pos)")
    conn.commit()
    targets = [(1, [10.0001, -44.0]), (2, [55.0, 0.0]), (3, [120.0, -33.0001]), (4, None)]
    doc = b"".join(write((c("tid", "int"), c("p", "double", "2", "point")), targets, "votable/b2"))
    uploaded = read_upload(doc)
    with conn.transaction():
        name = create_upload_table(conn, "targets", uploaded)
        conn.execute("SET TRANSACTION READ ONLY")
        matches = conn.execute(
            f"SELECT u.tid, s.id FROM {name} AS u JOIN stars AS s"
            " ON s.pos <@ scircle(u.p, radians(0.01)) ORDER BY u.tid"
        ).fetchall()
        assert matches == [(1, 1), (3, 12)]
    exists = conn.execute("SELECT to_regclass('tap_upload_targets')").fetchone()
    assert exists == (None,)  # gone with the transaction


def test_upload_table_name_is_checked(conn) -> None:
    uploaded = read_upload(GOOD.encode())
    with pytest.raises(UploadError, match="not an ADQL regular identifier"):
        create_upload_table(conn, "t1; DROP TABLE x", uploaded)


def test_a_value_the_database_refuses_is_an_upload_error(conn) -> None:
    crossing = [0.0, 0.0, 10.0, 0.0, 0.0, 10.0, 10.0, 10.0]  # a bow tie
    doc = b"".join(write((c("g", "double", "*", "polygon"),), [(crossing,)], "votable/td"))
    with pytest.raises(UploadError, match="refused a value"):
        create_upload_table(conn, "t", read_upload(doc))


# -- the UPLOAD parameter ------------------------------------------------------------------


def test_upload_parameter_forms() -> None:
    assert parse_upload_param(["t1,param:t1;t2,param:t2", "T3,https://example.org/x.xml"]) == [
        UploadSpec("t1", "param:t1"),
        UploadSpec("t2", "param:t2"),
        UploadSpec("T3", "https://example.org/x.xml"),
    ]
    assert parse_upload_param([" t1 , param:a ; "]) == [UploadSpec("t1", "param:a")]
    assert parse_upload_param([]) == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("t1", "name,URI"),
        ("t1,", "name,URI"),
        ("1t,param:a", "regular identifier"),
        ("a.b,param:a", "regular identifier"),
        ("t,param:a;T,param:b", "twice"),
        ("t,file:///etc/passwd", "'file' is not supported"),
        ("t,ftp://x/y", "not supported"),
        ("t,param:", "must name a part"),
        ("t,http://[::1/x", "is not a valid URI"),
    ],
)
def test_bad_upload_parameters(value: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_upload_param([value])


def test_missing_part_is_named() -> None:
    specs = parse_upload_param(["t1,param:upload1"])
    with pytest.raises(UploadError, match=r"no part named 'upload1' \(parts: other\)"):
        read_uploads(specs, {"other": b""}, TapConfig())
    ((name, table),) = read_uploads(specs, {"upload1": GOOD.encode()}, TapConfig())
    assert name == "t1" and table.rows == [(1,), (2,)]
    with pytest.raises(UploadError, match="over the limit of 100 bytes"):
        read_uploads(specs, {"upload1": GOOD.encode()}, TapConfig(upload_bytes=100))


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/table.vot":
            body = GOOD.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-votable+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/big":
            self.send_response(200)
            self.end_headers()  # no Content-Length: the limit applies while reading
            self.wfile.write(b"x" * 5000)
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


# The fixture server runs on loopback, which only an operator's allow-list opens.
LOOPBACK = TapConfig(upload_timeout=5, upload_allow=(ipaddress.ip_network("127.0.0.0/8"),))


def test_http_uploads_are_fetched_with_limits(server: str) -> None:
    specs = parse_upload_param([f"t1,{server}/table.vot"])
    ((_, table),) = read_uploads(specs, {}, LOOPBACK)
    assert table.rows == [(1,), (2,)]
    with pytest.raises(UploadError, match="over 100 bytes, the limit for all of them together"):
        read_uploads(specs, {}, replace(LOOPBACK, upload_bytes=100))
    for path, message in [
        ("/big", "over 1,000 bytes"),
        ("/missing", "HTTP 404 Not Found"),
        ("/redirect", "redirects to a URL that is not http(s)"),
    ]:
        specs = parse_upload_param([f"t1,{server}{path}"])
        with pytest.raises(UploadError, match=re.escape(message)) as caught:
            read_uploads(specs, {}, replace(LOOPBACK, upload_bytes=1000))
        assert caught.value.message.startswith("UPLOAD t1: ")


def test_unreachable_http_upload() -> None:
    specs = parse_upload_param(["t1,http://127.0.0.1:9/x"])
    expected = (
        "UPLOAD t1: the table at http://127.0.0.1:9/x could not be fetched: no valid answer "
        "within the deadline (5 s for all the upload URLs of a request)."
    )
    with pytest.raises(UploadError, match=re.escape(expected)):
        read_uploads(specs, {}, LOOPBACK)
    with pytest.raises(UploadError, match="address not allowed"):
        read_uploads(specs, {}, TapConfig())


@pytest.mark.parametrize(
    ("datatype", "text", "result"),
    [
        ("short", "40000", "out of range for short"),
        ("unsignedByte", "-1", "out of range"),
        ("long", "9223372036854775808", "out of range"),
        ("int", "0x7fffffff", 2**31 - 1),
        ("float", "1e39", math.inf),
        ("float", "-1e39", -math.inf),
        ("boolean", "maybe", "boolean"),
        ("double", "1,5", "could not convert"),
    ],
)
def test_tabledata_values_out_of_range(datatype: str, text: str, result) -> None:
    doc = (
        f'<VOTABLE><RESOURCE><TABLE><FIELD name="v" datatype="{datatype}"/><DATA>'
        f"<TABLEDATA><TR><TD>{text}</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE>"
        "</VOTABLE>"
    ).encode()
    if isinstance(result, str):
        with pytest.raises(UploadError, match=f"row 1, column v: .*{result}"):
            read_upload(doc)
    else:
        assert read_upload(doc).rows == [(result,)]


# -- taplint's UPL stage, replayed -------------------------------------------------------

TAPLINT_TABLE = [
    'addcol d_short "i==22 ? NULL : (short)i"', 'addcol d_int "i==22 ? NULL : (int)i"',
    'addcol d_long "i==22 ? NULL : (long)i"', 'addcol d_float "i==22 ? NULL : (float)(1.125*i)"',
    'addcol d_double "i==22 ? NULL : 1.125*i"', 'addcol d_char "(char)(65+i)"',
    'addcol d_string "toString(i)"', 'addcol d_time "mjdToIso(51544+1.01*i)"', "delcols i",
]  # fmt: skip


def _stilts_table(folder: Path, serialization: str) -> Path:
    """taplint's upload test table (UploadStage.createUploadTable), written by STILTS as a
    VOTable 1.2 the way taplint sends it."""
    tool = stilts()
    source = folder / "source.vot"
    args = [
        tool,
        "tpipe",
        "in=:loop:23",
        *(f"cmd={c}" for c in TAPLINT_TABLE),
        "ofmt=votable(format=TABLEDATA,version=V12)",
        f"out={source}",
    ]
    subprocess.run(args, check=True, capture_output=True, timeout=120)
    text = source.read_text().replace('name="d_time"', 'name="d_time" xtype="timestamp"')
    source.write_text(text)
    target = folder / f"{serialization}.vot"
    subprocess.run(
        [
            tool,
            "tcopy",
            f"in={source}",
            "ifmt=votable",
            f"out={target}",
            f"ofmt=votable(format={serialization},version=V12)",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return target


@pytest.mark.parametrize("serialization", ["TABLEDATA", "BINARY"])
def test_taplint_upload_round_trip(conn, tmp_path: Path, serialization: str) -> None:
    """Upload, SELECT * back as BINARY2, compare as taplint does: STIL's rendering of every
    cell equal, timestamps equal in value, names and xtypes kept."""
    from tests.support.votable_cases import stilts_csv

    upload = _stilts_table(tmp_path, serialization)
    uploaded = read_upload(upload.read_bytes())
    assert {f.name: f.kind for f in uploaded.fields}["d_time"] == "timestamp"
    name = create_upload_table(conn, "t1", uploaded)
    result = tmp_path / "result.vot"
    select = f"SELECT {', '.join(uploaded.sql_names)} FROM {name}"
    result.write_bytes(b"".join(query_result(conn, select, uploaded.columns, None)))
    sent_header, sent = stilts_csv(upload)
    got_header, got = stilts_csv(result)
    assert got_header == sent_header
    assert len(got) == len(sent) == 23
    time_column = sent_header.index("d_time")
    for r, (g_row, s_row) in enumerate(zip(got, sent, strict=True)):
        for c, (g, s) in enumerate(zip(g_row, s_row, strict=True)):
            if c == time_column:
                assert datetime.fromisoformat(g) == datetime.fromisoformat(s), (r, g, s)
            else:
                assert g == s, f"row {r} column {sent_header[c]}: {g!r} != {s!r}"
    assert sent[22][:5] == ["", "", "", "", ""]  # the row of NULLs came back NULL
    table, _ = astropy_rows(result.read_bytes())
    assert {f.name: f.xtype for f in table.fields}["d_time"] == "timestamp"
