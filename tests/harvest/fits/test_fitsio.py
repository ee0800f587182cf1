"""The header reader against astropy: the same (keyword, value, comment) for every card.

Headers are generated with hypothesis and written by astropy (strings with quotes and
blanks, long strings continued with CONTINUE, HIERARCH, logicals, big integers, reals,
complex, undefined values, comments, COMMENT/HISTORY) in multi-HDU files with image and
binary-table data of random sizes, plain and gzip-compressed. Card images themselves are
fuzzed against astropy's Card from a grammar of the tricky pieces of the format.
"""

from __future__ import annotations

import gzip
import io
import shutil
import string
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from astropy.io.fits.card import Undefined
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from catalog.harvest.fits.cards import CardError, parse_card, parse_cards, parse_continued
from catalog.harvest.fits.reader import Card, Header, read_headers
from tests.support.db import SHARED, shared_path

PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
RESERVED = {
    "SIMPLE", "BITPIX", "NAXIS", "EXTEND", "XTENSION", "PCOUNT", "GCOUNT", "GROUPS", "TFIELDS",
    "THEAP", "END", "CONTINUE", "COMMENT", "HISTORY", "BSCALE", "BZERO", "BLANK", "EXTNAME",
    "EXTVER", "EXTLEVEL", "CHECKSUM", "DATASUM", "INHERIT",
}  # fmt: skip
TABLE_PREFIXES = ("NAXIS", "TTYPE", "TFORM", "TUNIT", "TNULL", "TSCAL", "TZERO", "TDISP",
                  "TDIM", "TBCOL", "PTYPE", "PSCAL", "PZERO", "Z")  # fmt: skip


def norm(value: Any) -> tuple[str, str]:
    """A value compared exactly: its type and repr (1 != 1.0 != True, -0.0 != 0.0)."""
    if isinstance(value, Undefined):
        value = None
    return type(value).__name__, repr(value)


def astropy_hdus(path: Path) -> list[tuple[int, int, list[tuple[str, tuple[str, str], str]]]]:
    """(header offset, data bytes, cards) of every HDU as astropy reads them.

    The cards are those of the header blocks in the file: astropy's HDU objects may amend
    their header (a missing EXTEND, say), so the blocks are parsed with Header.fromfile.
    """
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, disable_image_compression=True) as hdus:
            layout = [(h._header_offset, h._data_offset, h.size) for h in hdus]
        return [
            (
                start,
                size,
                [
                    (c.keyword, norm(c.value), c.comment)
                    for c in fits.Header.fromfile(io.BytesIO(raw[start:data])).cards
                ],
            )
            for start, data, size in layout
        ]


def our_hdus(path: Path) -> list[tuple[int, int, list[tuple[str, tuple[str, str], str]]]]:
    return [
        (h.offset, h.data_bytes, [(c.keyword, norm(c.value), c.comment) for c in h.cards])
        for h in read_headers(path)
    ]


def assert_same_as_astropy(path: Path) -> list[Header]:
    expected = astropy_hdus(path)
    got = our_hdus(path)
    assert len(got) == len(expected)
    for index, (ours, theirs) in enumerate(zip(got, expected, strict=True)):
        assert ours[:2] == theirs[:2], f"HDU {index}: offset/data size"
        assert ours[2] == theirs[2], f"HDU {index}: cards"
    return read_headers(path)


# --- hypothesis: headers written by astropy ---------------------------------------------


def _plain_keyword(keyword: str) -> bool:
    return keyword not in RESERVED and not keyword.startswith(TABLE_PREFIXES)


keywords = st.from_regex(r"[A-Z][A-Z0-9_-]{0,7}", fullmatch=True).filter(_plain_keyword)
hierarch_keywords = st.lists(
    st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,9}", fullmatch=True), min_size=2, max_size=4
).map(" ".join)
texts = st.text(alphabet=PRINTABLE, max_size=30)
quoted = st.text(alphabet=PRINTABLE + "''''  ", max_size=40)  # quotes and blanks, often
long_strings = st.text(alphabet=PRINTABLE + "'&  ", min_size=60, max_size=200)
values = st.one_of(
    quoted,
    long_strings,
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(-1e6, 1e6),
    st.complex_numbers(allow_nan=False, allow_infinity=False, max_magnitude=1e300),
    st.none(),
)
commentary = st.tuples(
    st.sampled_from(["COMMENT", "HISTORY", ""]), st.text(PRINTABLE, max_size=120)
)
valued = st.tuples(st.one_of(keywords, hierarch_keywords), values, texts)


def header_cards(items: list[tuple[Any, ...]]) -> list[fits.Card]:
    """astropy cards for the generated items, leaving out those astropy refuses to write."""
    cards = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for item in items:
            keyword, value, *comment = item
            if " " in keyword:
                keyword = f"HIERARCH {keyword}"
            try:
                card = fits.Card(keyword, value, *comment)
                str(card)  # formats the image (CONTINUE cards, HIERARCH), or raises
            except (ValueError, TypeError):
                continue
            cards.append(card)
    return cards


dtypes = st.sampled_from([">u1", ">i2", ">i4", ">i8", ">f4", ">f8"])


@st.composite
def hdu_lists(draw: st.DrawFn) -> fits.HDUList:
    def header() -> fits.Header:
        items = draw(st.lists(st.one_of(valued, commentary), max_size=25))
        return fits.Header(header_cards(items))

    shape = draw(st.lists(st.integers(1, 40), max_size=3))
    data = np.zeros(shape, dtype=draw(dtypes)) if shape else None
    hdus: list[Any] = [fits.PrimaryHDU(data, header=header())]
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            shape = draw(st.lists(st.integers(1, 60), min_size=1, max_size=3))
            hdus.append(fits.ImageHDU(np.ones(shape, dtype=draw(dtypes)), header=header()))
        else:
            rows = draw(st.integers(0, 300))
            columns = [
                fits.Column("flux", "E", array=np.arange(rows, dtype="f4")),
                fits.Column("name", "12A", array=np.array(["x"] * rows)),
            ]
            if draw(st.booleans()):  # variable-length arrays: PCOUNT > 0 (a heap)
                arrays = np.array([np.arange(i % 7) for i in range(rows)], dtype=object)
                columns.append(fits.Column("var", "PJ()", array=arrays))
            hdus.append(fits.BinTableHDU.from_columns(columns, header=header()))
    return fits.HDUList(hdus)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(hdus=hdu_lists(), compressed=st.booleans())
def test_generated_headers_read_as_astropy_reads_them(
    tmp_path: Path, hdus: fits.HDUList, compressed: bool
) -> None:
    path = tmp_path / ("x.fits.gz" if compressed else "x.fits")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hdus.writeto(path, overwrite=True, output_verify="silentfix")
    headers = assert_same_as_astropy(path)
    assert [h.index for h in headers] == list(range(len(hdus)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path) as theirs:
            for ours, hdu in zip(headers, theirs, strict=True):
                for keyword in {c.keyword for c in ours.cards} - {"COMMENT", "HISTORY", ""}:
                    assert norm(ours.get(keyword)) == norm(hdu.header.get(keyword)), keyword


# --- real files ----------------------------------------------------------------------------

FITS_DIR = ("data", "fits")
REAL_FILES = sorted(
    str(p.relative_to(SHARED.joinpath(*FITS_DIR)))
    for p in SHARED.joinpath(*FITS_DIR).glob("*/*.fits")
)


@pytest.mark.shared
def test_all_ten_real_files_are_there() -> None:
    assert len(list(shared_path(*FITS_DIR).glob("*/*.fits"))) == 10


@pytest.mark.shared
@pytest.mark.parametrize("name", REAL_FILES or ["(absent)"])
def test_real_file_card_by_card(name: str, tmp_path: Path) -> None:
    path = shared_path(*FITS_DIR, name)
    headers = assert_same_as_astropy(path)
    packed = tmp_path / "packed.fits.gz"
    with path.open("rb") as source, gzip.open(packed, "wb", compresslevel=1) as target:
        shutil.copyfileobj(source, target)
    assert our_hdus(packed) == our_hdus(path)
    assert headers[0].kind == "PRIMARY"
    assert all(h.get("XTENSION") for h in headers[1:])


# --- the header model --------------------------------------------------------------------


def write(path: Path, *cards: str, data: bytes = b"") -> Path:
    text = "".join(card.ljust(80) for card in (*cards, "END"))
    path.write_bytes(text.encode().ljust(-(-len(text) // 2880) * 2880) + data)
    return path


PRIMARY = (
    "SIMPLE  =                    T",
    "BITPIX  =                    8",
    "NAXIS   =                    0",
)


def test_lookups_follow_astropy_first_card_and_case_insensitive_hierarch(tmp_path: Path) -> None:
    path = write(
        tmp_path / "h.fits",
        *PRIMARY,
        "DUP     =                    1 / first",
        "DUP     =                    2 / second",
        "HIERARCH ESO det CHIP id = 'ccd' / hierarch",
        "COMMENT one",
        "COMMENT two",
        "        blank keyword text",
        "UNDEF   =                      / nothing",
        "DP1     = 'AXIS.1: 2' / record-valued",
    )
    assert_same_as_astropy(path)
    (header,) = read_headers(path)
    assert header["DUP"] == 1 and header.comment("DUP") == "first"
    assert header.get("ESO DET CHIP ID") == header.get("hierarch eso det chip id") == "ccd"
    assert "eso det chip id" in header
    assert header.commentary() == ["one", "two"]
    assert header.commentary("") == ["blank keyword text"]
    assert "UNDEF" in header and header["UNDEF"] is None
    assert header["DP1.AXIS.1"] == 2.0
    assert header.cards[-1] == Card("DP1.AXIS.1", 2.0, "record-valued")


def test_offsets_and_data_sizes_let_every_extension_be_found(tmp_path: Path) -> None:
    path = tmp_path / "layout.fits"
    table = fits.BinTableHDU.from_columns([fits.Column("a", "J", array=np.arange(1000))])
    fits.HDUList(
        [fits.PrimaryHDU(np.zeros((3, 5), ">i2")), table, fits.ImageHDU(np.zeros(7, ">f8"))]
    ).writeto(path)
    headers = assert_same_as_astropy(path)
    assert [(h.offset, h.data_bytes) for h in headers] == [(0, 30), (5760, 4000), (14400, 56)]
    assert [h.kind for h in headers] == ["PRIMARY", "BINTABLE", "IMAGE"]


def test_random_groups_do_not_count_naxis1(tmp_path: Path) -> None:
    path = tmp_path / "groups.fits"
    data = fits.GroupData(
        np.arange(60, dtype=">f4").reshape(5, 3, 4),
        parnames=["u", "v"],
        pardata=[np.arange(5.0), np.arange(5.0)],
        bitpix=-32,
    )
    fits.HDUList([fits.GroupsHDU(data), fits.ImageHDU(np.zeros(3, ">i4"))]).writeto(path)
    headers = assert_same_as_astropy(path)
    assert headers[0]["NAXIS1"] == 0 and headers[0]["GROUPS"] is True
    assert headers[0].data_bytes == 4 * 5 * (2 + 3 * 4)


def test_cards_repeated_across_files_are_equal_and_cached_safely(tmp_path: Path) -> None:
    first = write(tmp_path / "a.fits", *PRIMARY, "OBJECT  = 'M31     '")
    second = write(tmp_path / "b.fits", *PRIMARY, "OBJECT  = 'M33     '")
    assert read_headers(first)[0]["OBJECT"] == "M31"
    assert read_headers(second)[0]["OBJECT"] == "M33"
    assert read_headers(first)[0].cards == read_headers(first)[0].cards


# --- card images against astropy's Card -------------------------------------------------

PIECES = [
    "'", "''", " ", "   ", "/", "=", "= ", ":", ": ", "&", "T", "F", "1", "0", "-", "+", ".",
    "E", "D", "e", "d", "(", ")", ",", "AXIS.1", "abc", "HIERARCH ", "CONTINUE", "COMMENT",
    "HISTORY", "END", "X", "12345678901234567890", "1.5", " 'x' ", "x'y", "'AXIS.1: 1'",
    "'a: 1.5E3' / c", "1D3", " = ", "ESO A b = ", "'' / ", "' ", "'/",
]  # fmt: skip
KEY_FIELDS = ["SIMPLE  ", "KEY     ", "DP1     ", "HIERARCH", "CONTINUE", "COMMENT ", "        ",
              "A       ", "key     ", "HIERARCH ESO", "END     ", "ab=     ", ""]  # fmt: skip
images = st.builds(
    lambda key, rest: (key + "".join(rest))[:80].ljust(80),
    st.sampled_from(KEY_FIELDS),
    st.lists(st.sampled_from(PIECES), max_size=25),
)
continuations = images.map(lambda image: "CONTINUE" + image[8:])


def astropy_card(group: Iterable[str]) -> tuple[Any, ...]:
    card = fits.Card.fromstring("".join(group))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = card.value
            return card.keyword, norm(value), card.comment
        except Exception:  # astropy raises assorted errors for unparsable cards
            return ("unparsable",)


def our_card(group: list[str]) -> tuple[Any, ...]:
    try:
        keyword, value, comment = (parse_card if len(group) == 1 else parse_continued)(
            group[0] if len(group) == 1 else group  # type: ignore[arg-type]
        )
    except CardError:
        return ("unparsable",)
    return keyword, norm(value), comment


@settings(max_examples=3000, deadline=None)
@given(group=st.tuples(images, st.lists(continuations, max_size=3)).map(lambda t: [t[0], *t[1]]))
@example(group=["TARGNAME= '' / proposer's name for the target          '".ljust(80)])
def test_card_images_parse_as_astropy_parses_them(group: list[str]) -> None:
    assert our_card(group) == astropy_card(group)


def astropy_header(images: list[str]) -> list[tuple[Any, ...]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header = fits.Header.fromstring("".join(images) + "END".ljust(80))
    return [
        astropy_card(card._image[i : i + 80] for i in range(0, len(card._image), 80))
        for card in header.cards
    ]


def groups(images: list[str]) -> list[int]:
    """Number of the first image of each card, CONTINUE cards joined as astropy joins them."""
    return [n for n, image in enumerate(images, 1) if n == 1 or image[:8] != "CONTINUE"]


@settings(max_examples=500, deadline=None)
@given(group=st.lists(st.one_of(images, continuations), min_size=1, max_size=40))
@example(
    group=["KEY     = 'unterminated".ljust(80), "       x' / quote in the next card".ljust(80)]
)
@example(group=["TARGNAME= '' / proposer's name for the target          '".ljust(80)])
def test_whole_headers_parse_as_astropy_header_parses_them(group: list[str]) -> None:
    group = [image for image in group if image != "END".ljust(80)]
    expected = astropy_header(group)
    try:
        cards = parse_cards(group, lambda *fields: fields)
    except CardError as error:
        assert error.card is not None
        bad = groups(group).index(error.card)
        assert expected[bad] == ("unparsable",)
        assert ("unparsable",) not in expected[:bad]
        return
    assert [(k, norm(v), c) for k, v, c in cards] == expected


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("KEY     = 'it''s  ' / c", ("KEY", "it's", "c")),
        ("KEY     = '  lead'", ("KEY", "  lead", "")),
        ("KEY     = ''", ("KEY", "", "")),
        ("KEY     = 1.5D3 / d exponent", ("KEY", 1500.0, "d exponent")),
        ("KEY     = 1.", ("KEY", 1.0, "")),
        ("KEY     = - 5", ("KEY", -5, "")),
        ("KEY     = 123456789012345678901234567890", ("KEY", 123456789012345678901234567890, "")),
        ("KEY     = (1, -2.5E1)", ("KEY", complex(1, -25), "")),
        ("KEY     = T/c", ("KEY", True, "c")),
        ("KEY     =         / only a comment", ("KEY", None, "only a comment")),
        ("lower   = 3", ("LOWER", 3, "")),
        ("HIERARCH ESO DET CHIP ID = 'x' / c", ("ESO DET CHIP ID", "x", "c")),
        ("COMMENT   text  ", ("COMMENT", "  text", "")),
        ("NOVALUE  no indicator", ("NOVALUE", " no indicator", "")),
    ],
)
def test_card_examples(image: str, expected: tuple[Any, ...]) -> None:
    assert parse_card(image.ljust(80)) == expected
    assert our_card([image.ljust(80)]) == astropy_card([image.ljust(80)])


def test_continue_cards_join_with_their_comments() -> None:
    group = [
        "LONG    = 'abc&'".ljust(80),
        "CONTINUE  'def&' / first".ljust(80),
        "CONTINUE  '' / second".ljust(80),
    ]
    assert parse_continued(group) == ("LONG", "abcdef", "first second")
    assert parse_cards(group, Card) == [Card("LONG", "abcdef", "first second")]
    assert our_card(group) == astropy_card(group)


def test_unparsable_values_raise() -> None:
    for image in ["DATE    = 2020-01-01", "KEY     = 'unterminated", "KEY     = TRUE"]:
        with pytest.raises(CardError):
            parse_card(image.ljust(80))
        assert astropy_card([image.ljust(80)]) == ("unparsable",)
    with pytest.raises(CardError):
        parse_continued(["KEY     = 5".ljust(80), "CONTINUE  'x'".ljust(80)])


def test_printable_alphabet_is_what_the_reader_accepts() -> None:
    assert set(PRINTABLE) == set(string.printable) - set("\t\n\r\x0b\x0c")


@pytest.mark.parametrize("hierarch", [False, True])
def test_first_values_keep_the_first_card_of_each_keyword_as_written(hierarch: bool) -> None:
    cards = [
        Card("SIMPLE", True),
        Card("A", 1),
        Card("COMMENT", "c"),
        Card("B", "x"),
        Card("A", 2),
        Card("HISTORY", "h"),
        Card("", "blank"),
        Card("B", None),
    ]
    if hierarch:
        cards += [Card("ESO det ID", "d1"), Card("ESO det ID", "d2")]
    header = Header(0, cards)
    expected = {c.keyword: c.value for c in reversed(cards)}
    for keyword in ("COMMENT", "HISTORY", ""):
        expected.pop(keyword)
    values = header.first_values()
    assert values == expected and list(values) == [
        k for k in dict.fromkeys(c.keyword for c in cards) if k in expected
    ]
    values["A"] = 99  # a copy: the header's own look-ups are untouched
    assert header.get("A") == 1 and header.first_values()["A"] == 1
