"""VOTable/CSV/TSV writers: what astropy, STILTS and Python's csv read back from them."""

from __future__ import annotations

import csv
import io
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tap.errors import UsageError
from tap.votable import DESCRIPTIONS, Info, error_document, resolve_format, write
from tap.votable.xmltext import xml_ids
from tests.support.votable_cases import (
    COLUMNS,
    NAMES,
    ROWS,
    astropy_rows,
    expected,
    same,
    statuses,
    stilts_csv,
    stilts_value,
    votlint,
)

SERIALIZATIONS = {"TABLEDATA": "votable/td", "BINARY": "votable/b", "BINARY2": "votable/b2"}
NS = "{http://www.ivoa.net/xml/VOTable/v1.3}"


def render(fmt: str, rows=ROWS, maxrec=None, infos=(), columns=COLUMNS) -> bytes:
    return b"".join(write(columns, rows, fmt, infos=infos, maxrec=maxrec))


def astropy_expected(name: str, value, serialization: str):
    """astropy's reading: NULL strings come back as '' and NaN floats as masked."""
    value = expected(name, value, serialization)
    if value is None and name in ("c1", "c4", "cs", "u", "t", "s_region"):
        return ""
    if value is None and name in ("pg", "ia") and serialization != "BINARY2":
        return []  # a NULL variable-length array reads as an empty one
    if isinstance(value, float) and math.isnan(value):
        return None
    if name == "c1" and value == " " and serialization == "TABLEDATA":
        return ""  # XML parsing strips a lone blank TD
    return value


@pytest.mark.parametrize("serialization", list(SERIALIZATIONS))
def test_astropy_reads_every_type_and_null(serialization: str) -> None:
    data = render(SERIALIZATIONS[serialization])
    table, rows = astropy_rows(data)
    assert len(rows) == len(ROWS)
    for r, (got, sent) in enumerate(zip(rows, ROWS, strict=True)):
        for name, g, s in zip(NAMES, got, sent, strict=True):
            want = astropy_expected(name, s, serialization)
            assert same(g, want), f"row {r} column {name}: {g!r} != {want!r} ({serialization})"
    fields = {f.name: f for f in table.fields}
    assert list(fields) == NAMES
    assert fields["i"].unit == "count" and fields["i"].ucd == "meta.number"
    assert fields["l"].utype == "obscore:DataID.observationID"
    assert fields["pt"].xtype == "point" and fields["pt"].arraysize == "2"
    assert fields["pg"].xtype == "polygon" and fields["pg"].arraysize == "*"
    assert fields["t"].xtype == "timestamp" and fields["t"].datatype == "char"
    assert fields["u"].datatype == "unicodeChar"
    assert fields["size"].ID == "size"
    assert fields["d"].description == "the d column"
    assert fields["b"].unit is None and fields["b"].ucd is None  # NULL metadata: no attribute


@pytest.mark.parametrize("serialization", list(SERIALIZATIONS))
def test_stilts_reads_every_type_and_null(serialization: str, tmp_path: Path) -> None:
    path = tmp_path / "result.vot"
    path.write_bytes(render(SERIALIZATIONS[serialization]))
    header, rows = stilts_csv(path)
    assert header == NAMES
    assert len(rows) == len(ROWS)
    for r, (got, sent) in enumerate(zip(rows, ROWS, strict=True)):
        for column, name, g, s in zip(COLUMNS, NAMES, got, sent, strict=True):
            value = stilts_value(g, column)
            want = expected(name, s, serialization)
            if isinstance(want, float) and math.isnan(want):
                want = None  # STIL treats NaN as blank
            if serialization == "BINARY" and name in ("pt", "ci") and s is None:
                want = [math.nan] * len(value or [])  # BINARY has no NULL array: NaNs
            if want in ("", []) or (name == "c1" and want == " "):
                assert value in (None, "", [], " "), f"row {r} {name}: {value!r}"
                continue
            if serialization == "BINARY" and s is None and name in ("pg", "ia", "c1"):
                assert value in (None, [], "\0"), f"row {r} {name}: {value!r}"
                continue
            assert same(value, want), f"row {r} column {name}: {value!r} != {want!r}"


@pytest.mark.parametrize("serialization", list(SERIALIZATIONS))
def test_votlint_finds_nothing_to_report(serialization: str, tmp_path: Path) -> None:
    # votlint (STILTS 3.4.7) flags things STIL itself writes: an empty TD for a NULL array
    # ("Bad double string"), xtype="polygon" in BINARY2 (its own BINARY2 output fails the
    # same way), and warns about an empty TD for a NULL single character.
    columns = [c for c in COLUMNS if c.name not in ("pg", "pt", "ci", "ia", "c1")]
    keep = [i for i, c in enumerate(COLUMNS) if c in columns]
    rows = [tuple(row[i] for i in keep) for row in ROWS]
    path = tmp_path / "result.vot"
    path.write_bytes(render(SERIALIZATIONS[serialization], rows=rows, columns=columns))
    assert votlint(path) == []


@pytest.mark.parametrize("serialization", list(SERIALIZATIONS))
@pytest.mark.parametrize(
    ("nrows", "maxrec", "sent", "overflow"),
    [
        (0, None, 0, False),
        (1, None, 1, False),
        (4, 4, 4, False),
        (4, 3, 3, True),
        (4, 0, 0, True),
        (0, 0, 0, True),
        (4, 10, 4, False),
        (1, 1, 1, False),
    ],
)
def test_maxrec_and_overflow(
    serialization: str, nrows: int, maxrec: int | None, sent: int, overflow: bool
) -> None:
    data = render(SERIALIZATIONS[serialization], rows=ROWS[:nrows], maxrec=maxrec)
    _, rows = astropy_rows(data)
    assert len(rows) == sent
    want = [("OK", True)] + ([("OVERFLOW", False)] if overflow else [])
    assert statuses(data) == want


def test_maxrec_stops_reading_the_source() -> None:
    consumed = []

    def source():
        for i in range(1000):
            consumed.append(i)
            yield (i,)

    column = COLUMNS[3]
    data = b"".join(write([column], source(), "votable/td", maxrec=5))
    assert data.count(b"<TR>") == 5
    assert len(consumed) == 6  # five rows and the one that proves the overflow
    assert statuses(data)[-1] == ("OVERFLOW", False)


def test_infos_and_status_come_before_the_table() -> None:
    adql = "SELECT TOP 5 *\nFROM ivoa.obscore WHERE s_ra < 10 AND \"x\" = 'y'"
    infos = [
        Info("QUERY", adql),
        Info("SQL", "SELECT 1"),
        Info("standardID", "ivo://ivoa.net/std/TAP"),
    ]
    data = render("votable/b2", infos=infos)
    root = ET.fromstring(data)
    assert root.tag == f"{NS}VOTABLE" and root.get("version") == "1.4"
    resource = root.find(f"{NS}RESOURCE")
    assert resource is not None and resource.get("type") == "results"
    children = [(c.tag.removeprefix(NS), c.get("name"), c.get("value")) for c in resource]
    assert children[:4] == [
        ("INFO", "QUERY_STATUS", "OK"),
        ("INFO", "QUERY", adql),
        ("INFO", "SQL", "SELECT 1"),
        ("INFO", "standardID", "ivo://ivoa.net/std/TAP"),
    ]
    assert children[4][0] == "TABLE" and len(children) == 5
    assert b"xmlns:" not in data.split(b"<RESOURCE")[1]  # no prefixed elements (TOPCAT XPath)


def test_error_document_is_read_by_astropy() -> None:
    from astropy.io.votable import parse

    message = "Syntax error at line 1, column 8: unexpected <FROM> & more"
    data = error_document(message, infos=[Info("QUERY", "SELECT FROM")])
    votable = parse(io.BytesIO(data), verify="exception")
    resource = votable.resources[0]
    assert resource.type == "results" and resource.tables == []
    status = [i for i in resource.infos if i.name == "QUERY_STATUS"]
    assert [(i.value, i.content) for i in status] == [("ERROR", message)]
    assert statuses(data) == [("ERROR", True)]


def test_error_document_never_has_an_empty_message() -> None:
    root = ET.fromstring(error_document("   "))
    info = root.find(f"{NS}RESOURCE/{NS}INFO")
    assert info is not None and info.get("value") == "ERROR" and (info.text or "").strip()


def test_failure_part_way_ends_the_table_with_an_error_status() -> None:
    def rows():
        yield ROWS[0]
        raise RuntimeError("connection lost")

    for fmt in SERIALIZATIONS.values():
        data = b"".join(write(COLUMNS, rows(), fmt))
        found = statuses(data)
        assert found[0] == ("OK", True) and found[-1] == ("ERROR", False), fmt
        assert b"connection lost" in data


def test_csv_is_rfc4180_with_a_header() -> None:
    data = render("csv").decode("utf-8")
    assert "\r\n" in data
    rows = list(csv.reader(io.StringIO(data, newline="")))
    assert rows[0] == NAMES
    assert len(rows) == 1 + len(ROWS)
    first = dict(zip(NAMES, rows[1], strict=True))
    assert first["cs"] == ROWS[0][9] and first["u"] == ROWS[0][10]
    assert first["pt"] == "10.0 20.0" and first["pg"] == "1.0 2.0 3.0 2.0 2.0 4.0"
    assert first["b"] == "true" and first["t"] == "2020-01-02T03:04:05.123456"
    assert first["l"] == "9223372036854775807" and first["f"] == "1.5"
    assert rows[2] == [""] * len(NAMES)  # NULLs are empty
    third = dict(zip(NAMES, rows[3], strict=True))
    assert third["f"] == "+Inf" and third["d"] == "NaN" and third["ia"] == ""
    fourth = dict(zip(NAMES, rows[4], strict=True))
    assert fourth["cs"] == "tab\there\nnewline\rcr"


def test_tsv_escapes_tabs_and_newlines() -> None:
    data = render("tsv").decode("utf-8")
    lines = data.split("\n")
    assert lines[-1] == "" and len(lines) == 2 + len(ROWS)
    assert lines[0].split("\t") == NAMES
    for line in lines[1:-1]:
        assert len(line.split("\t")) == len(NAMES)
    fourth = dict(zip(NAMES, lines[4].split("\t"), strict=True))
    assert fourth["cs"] == "tab\\there\\nnewline\\rcr"
    assert lines[2] == "\t" * (len(NAMES) - 1)


def test_csv_and_tsv_stop_at_maxrec() -> None:
    assert len(render("csv", maxrec=2).decode().splitlines()) == 3
    assert len(render("tsv", maxrec=0).decode().splitlines()) == 1


@pytest.mark.parametrize(
    ("value", "key", "mime"),
    [
        (None, "votable-binary2", "application/x-votable+xml"),
        ("votable", "votable-binary2", "application/x-votable+xml"),
        ("application/x-votable+xml", "votable-binary2", "application/x-votable+xml"),
        ("text/xml", "votable-tabledata", "text/xml"),
        ("votable/td", "votable-tabledata", "application/x-votable+xml;serialization=TABLEDATA"),
        (
            "application/x-votable+xml;serialization=TABLEDATA",
            "votable-tabledata",
            "application/x-votable+xml;serialization=TABLEDATA",
        ),
        (
            "application/x-votable+xml; serialization=binary",
            "votable-binary",
            "application/x-votable+xml; serialization=binary",
        ),
        (
            "APPLICATION/X-VOTABLE+XML;SERIALIZATION=BINARY2",
            "votable-binary2",
            "APPLICATION/X-VOTABLE+XML;SERIALIZATION=BINARY2",
        ),
        ("votable/b2", "votable-binary2", "application/x-votable+xml;serialization=BINARY2"),
        ("csv", "csv", "text/csv;header=present"),
        ("text/csv", "csv", "text/csv"),
        ("text/csv;header=present", "csv", "text/csv;header=present"),
        ("tsv", "tsv", "text/tab-separated-values"),
        ("text/tab-separated-values", "tsv", "text/tab-separated-values"),
    ],
)
def test_resolve_format(value: str | None, key: str, mime: str) -> None:
    fmt = resolve_format(value)
    assert (fmt.key, fmt.mime) == (key, mime)


@pytest.mark.parametrize(
    "value",
    [
        "fits",
        "application/json",
        "text/csv;header=absent",
        "application/x-votable+xml;serialization=FITS",
    ],
)
def test_unknown_format_says_what_is_supported(value: str) -> None:
    with pytest.raises(UsageError) as caught:
        resolve_format(value)
    assert repr(value) in caught.value.message
    assert "votable/b2" in caught.value.message and "text/csv" in caught.value.message


def test_every_described_format_resolves() -> None:
    for description in DESCRIPTIONS:
        for value in (description.mime, *description.aliases):
            assert resolve_format(value).key
    ids = {d.ivo_id for d in DESCRIPTIONS if d.ivo_id}
    assert ids == {
        f"ivo://ivoa.net/std/TAPRegExt#output-votable-{s}" for s in ("td", "binary", "binary2")
    }


def test_xml_ids_are_valid_and_unique() -> None:
    ids = xml_ids(["ra", "RA", '"size"', "1st", "a b", "", "ra"])
    assert len({i.lower() for i in ids}) == len(ids)
    for i in ids:
        assert i[0].isalpha() or i[0] == "_"
        assert all(ch.isalnum() or ch in "_.-" for ch in i)


@pytest.mark.parametrize(
    ("value", "result"),
    [(None, 1000), ("", 1000), ("0", 0), (" 15 ", 15), ("5000", 5000), ("999999", 10000)],
)
def test_resolve_maxrec(value: str | None, result: int) -> None:
    from tap.votable import resolve_maxrec

    assert resolve_maxrec(value, default=1000, hard=10000) == result


@pytest.mark.parametrize("value", ["-1", "ten", "1.5", "1e3"])
def test_bad_maxrec_says_what_to_do(value: str) -> None:
    from tap.votable import resolve_maxrec

    with pytest.raises(UsageError, match="not a non-negative integer") as caught:
        resolve_maxrec(value, default=1000, hard=10000)
    assert "10,000" in caught.value.message


def test_the_default_format_can_be_chosen() -> None:
    assert resolve_format(None, default="votable/b").key == "votable-binary"
    assert resolve_format("csv", default="votable/b").key == "csv"
    assert resolve_format("", default="text/xml").mime == "text/xml"
