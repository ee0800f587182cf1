"""The FITS writer: card images per the standard, checked against astropy as the reference."""

from __future__ import annotations

import gzip
import io
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from catalog.corpus.fitswrite import (
    BLOCK,
    HDU,
    CardSpec,
    Column,
    bintable_hdu,
    card_block,
    card_images,
    fits_bytes,
    header_bytes,
    image_hdu,
    primary_hdu,
    write_fits,
)

PRINTABLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200)


def strict_open(data: bytes) -> fits.HDUList:
    """Open FITS bytes with astropy, every warning an error, and verify them strictly."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hdul = fits.open(io.BytesIO(data))
        hdul.verify("exception")
        for hdu in hdul:
            _ = hdu.data
    return hdul


def primary_header(*cards: CardSpec) -> fits.Header:
    return strict_open(fits_bytes([primary_hdu(cards)]))[0].header


# ---------------------------------------------------------------------------- card images


def test_fixed_format_values_end_in_column_30() -> None:
    assert card_images("NAXIS", 2, "number of axes") == [
        "NAXIS   =                    2 / number of axes".ljust(80)
    ]
    assert card_images("SIMPLE", True)[0][:30] == "SIMPLE  =                    T"
    assert card_images("FLAG", False)[0][29] == "F"
    assert card_images("EXPTIME", 1.5)[0][:30] == "EXPTIME =                  1.5"
    assert card_images("BIG", -(2**63))[0][:30] == "BIG     = -9223372036854775808"


def test_strings_start_in_column_11_with_at_least_8_characters() -> None:
    card = card_images("TELESCOP", "HST", "telescope")[0]
    assert card == "TELESCOP= 'HST     '           / telescope".ljust(80)
    assert card_images("OBJECT", "O'Brien")[0].startswith("OBJECT  = 'O''Brien'")
    assert card_images("EMPTY", "")[0].startswith("EMPTY   = '        '")


def test_reals_keep_every_digit_and_use_an_upper_case_exponent() -> None:
    assert card_images("X", 1e-5)[0][10:30].strip() == "1E-05"
    assert card_images("X", 0.1 + 0.2)[0][10:30].strip() == "0.30000000000000004"
    tiny = card_images("X", -2.2250738585072014e-308)[0]
    assert tiny.startswith("X       = -2.2250738585072014E-308")  # free format past column 30


def test_undefined_value_and_complex() -> None:
    assert card_images("UNDEF", None, "no value")[0].startswith("UNDEF   =                      /")
    assert card_images("Z", 1 + 2j)[0][10:30].strip() == "(1.0, 2.0)"


def test_commentary_cards_split_long_text() -> None:
    images = card_images("COMMENT", "x" * 100)
    assert [i[:8] for i in images] == ["COMMENT ", "COMMENT "]
    assert "".join(i[8:] for i in images).rstrip() == "x" * 100
    assert card_images("", "section")[0] == "        section".ljust(80)
    assert card_images("HISTORY", None) == ["HISTORY".ljust(80)]


def test_hierarch_for_long_or_spaced_keywords() -> None:
    assert card_images("ESO DET ID", "CCD-44")[0].startswith("HIERARCH ESO DET ID = 'CCD-44'")
    assert card_images("LONGKEYWORD", 3)[0].startswith("HIERARCH LONGKEYWORD = 3")
    assert card_images("HIERARCH short", 1)[0].startswith("HIERARCH SHORT = 1")


def test_long_comments_are_truncated_to_one_card() -> None:
    (card,) = card_images("KEY", 1, "c" * 100)
    assert len(card) == 80
    assert card.endswith("c" * 47)


def test_long_strings_use_continue_cards() -> None:
    images = card_images("LONG", "a" * 100, "the comment")
    assert images[0].startswith("LONG    = 'aaaa") and images[0].endswith("&'")
    assert images[1].startswith("CONTINUE  'aaa")
    assert images[-1].rstrip().endswith("' / the comment")
    assert all(len(i) == 80 for i in images)


def test_hierarch_accepts_printable_words() -> None:
    assert card_images("BAD KEY!", 1)[0].startswith("HIERARCH BAD KEY! = 1")


@pytest.mark.parametrize(
    ("keyword", "value", "comment"),
    [
        ("END", 1, ""),
        ("CONTINUE", "x", ""),
        ("KEY=1", 1, ""),
        ("NAME", "caf\u00e9", ""),
        ("NAME", "tab\there", ""),
        ("NAME", 1, "caf\u00e9"),
        ("X", math.nan, ""),
        ("X", math.inf, ""),
        ("COMMENT", "text", "a comment"),
        ("COMMENT", 3, ""),
        ("HIERARCH " + "W" * 75, 1, ""),
        ("HIERARCH " + "W" * 70, "text", ""),
        ("X", b"bytes", ""),
    ],
)
def test_invalid_cards_are_refused(keyword: str, value: object, comment: str) -> None:
    with pytest.raises(ValueError):
        card_images(keyword, value, comment)  # type: ignore[arg-type]


def test_header_bytes_end_and_padding() -> None:
    raw = header_bytes([("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0)])
    assert len(raw) == BLOCK
    assert raw[240:320] == b"END" + b" " * 77
    assert raw[320:] == b" " * (BLOCK - 320)
    cards = [(f"KEY{i}", i) for i in range(36)]
    assert len(header_bytes(cards)) == 2 * BLOCK  # 36 cards + END need a second block


def test_card_blocks_are_reused_verbatim() -> None:
    block = card_block([("ORIGIN", "STScI"), ("DOI", "10.17909/abcd-1234", "collection DOI")])
    assert len(block) == 2
    assert header_bytes([block]) == header_bytes(
        [("ORIGIN", "STScI"), ("DOI", "10.17909/abcd-1234", "collection DOI")]
    )


# ---------------------------------------------------------------------------- astropy round trip


@settings(max_examples=60, deadline=None)
@given(
    text=PRINTABLE.map(str.rstrip),
    real=st.floats(allow_nan=False, allow_infinity=False),
    integer=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    flag=st.booleans(),
    comment=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
)
def test_values_round_trip_through_astropy(
    text: str, real: float, integer: int, flag: bool, comment: str
) -> None:
    # astropy's card parser ends a string at a quote followed by a slash, even an escaped
    # quote: the value "'/" reads back as "'", from astropy's own cards too.
    assume("'/" not in text)
    header = primary_header(
        ("TEXT", text, comment.strip()),
        ("REAL", real),
        ("INTEGER", integer),
        ("FLAG", flag),
        ("ESO OBS NAME", text[:30]),
    )
    assert header["TEXT"] == text
    # A comment that does not fit after a one-card string is cut at column 80, as astropy
    # cuts it (CONTINUE is for long values); what is read back is the given comment or,
    # when the card is full, its beginning.
    given, read = comment.strip(), header.comments["TEXT"]
    images = card_images("TEXT", text, given)
    full = len(images) == 1 and len(images[0].rstrip()) == 80
    assert read == given or (full and given.startswith(read.rstrip()))
    assert header["REAL"] == real
    assert isinstance(header["REAL"], float)
    assert header["INTEGER"] == integer
    assert header["FLAG"] is flag
    assert header["ESO OBS NAME"] == text[:30]


def test_long_strings_with_quotes_round_trip() -> None:
    value = "It's a long 'quoted' string " * 12 + "x'"
    comment = "a comment long enough to need its own CONTINUE cards " * 3
    header = primary_header(("LONGSTR", value, comment.strip()), ("AFTER", 1))
    assert header["LONGSTR"] == value
    assert header.comments["LONGSTR"] == comment.strip()
    assert header["AFTER"] == 1
    # a quote pair is never split across two cards
    for n in range(60, 80):
        assert primary_header(("Q", "'" * n))["Q"] == "'" * n


def test_misc_cards_round_trip() -> None:
    header = primary_header(
        ("UNDEF", None, "undefined"),
        ("CPLX", 1.5 - 2j),
        ("COMMENT", "first comment"),
        ("HISTORY", "history " * 20),
        ("BIGINT", 10**25),
        ("CAL_VER", "CALCOS 3.4 / CALSTIS 3.4", "slash inside the string"),
        ("HIERARCH " + "W" * 60, "v" * 30 + "'" * 5 + "x" * 40, "comment"),
    )
    assert header["W" * 60] == "v" * 30 + "'" * 5 + "x" * 40
    assert header["UNDEF"] is None
    assert header["CPLX"] == 1.5 - 2j
    assert list(header["COMMENT"]) == ["first comment"]
    assert "".join(header["HISTORY"]).replace(" ", "") == "history" * 20
    assert header["BIGINT"] == 10**25
    assert header["CAL_VER"] == "CALCOS 3.4 / CALSTIS 3.4"


@pytest.mark.parametrize(
    ("bitpix", "dtype"),
    [(8, ">u1"), (16, ">i2"), (32, ">i4"), (64, ">i8"), (-32, ">f4"), (-64, ">f8")],
)
def test_images_round_trip(bitpix: int, dtype: str) -> None:
    values = [1, 2, 3, 4, 5, 6]
    hdus = [
        image_hdu([("OBJECT", "M31")], shape=(2, 3), bitpix=bitpix, data=values, primary=True),
        image_hdu([("EXTNAME", "SCI")], shape=(3, 2), bitpix=bitpix, data=values),
    ]
    raw = fits_bytes(hdus)
    assert len(raw) % BLOCK == 0
    hdul = strict_open(raw)
    assert hdul[0].data.shape == (2, 3)
    assert hdul[0].data.dtype == np.dtype(dtype)
    assert hdul[0].data.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert hdul[1].name == "SCI"
    assert hdul[1].data.tolist() == [[1, 2], [3, 4], [5, 6]]
    assert hdul[0].header["OBJECT"] == "M31"


def test_data_units_are_zero_padded() -> None:
    hdu = image_hdu(shape=(3,), bitpix=16, data=[1, 2, 3], primary=True, extend=False)
    raw = hdu.to_bytes()
    assert len(raw) == 2 * BLOCK
    assert raw[BLOCK + 6 :] == bytes(BLOCK - 6)


def test_image_data_must_match_the_shape() -> None:
    with pytest.raises(ValueError, match="shape"):
        image_hdu(shape=(2, 2), bitpix=16, data=[1, 2, 3])
    with pytest.raises(ValueError, match="BITPIX"):
        image_hdu(shape=(1,), bitpix=12, data=b"\0")


def test_binary_tables_round_trip() -> None:
    columns = [
        Column("TIME", "D", [1.5, 2.5, 3.5], "d"),
        Column("FLUX", "E", [1.0, math.nan, 3.0], "e-/s"),
        Column("QUALITY", "J", [0, 1, -2]),
        Column("CADENCE", "K", [2**40, 0, -(2**62)]),
        Column("SHORT", "I", [1, -1, 32767]),
        Column("BYTE", "B", [0, 128, 255]),
        Column("GOOD", "L", [True, False, True]),
        Column("SOURCE", "12A", ["alpha", "", "twelve chars"]),
        Column("SPEC", "3E", [[1, 2, 3], [4, 5, 6], (7, 8, 9)], "Jy"),
    ]
    table = bintable_hdu(columns, [("RADESYS", "ICRS")], extname="CATALOG")
    hdul = strict_open(fits_bytes([primary_hdu(), table]))
    hdu = hdul["CATALOG"]
    assert hdu.header["NAXIS1"] == 8 + 4 + 4 + 8 + 2 + 1 + 1 + 12 + 12
    assert hdu.header["NAXIS2"] == 3
    assert hdu.header["RADESYS"] == "ICRS"
    assert hdu.columns.names == [c.name for c in columns]
    assert hdu.columns.formats == ["D", "E", "J", "K", "I", "B", "L", "12A", "3E"]
    assert hdu.columns.units[0] == "d"
    data = hdu.data
    assert data["TIME"].tolist() == [1.5, 2.5, 3.5]
    assert math.isnan(data["FLUX"][1])
    assert data["QUALITY"].tolist() == [0, 1, -2]
    assert data["CADENCE"].tolist() == [2**40, 0, -(2**62)]
    assert data["SHORT"].tolist() == [1, -1, 32767]
    assert data["BYTE"].tolist() == [0, 128, 255]
    assert data["GOOD"].tolist() == [True, False, True]
    assert data["SOURCE"].tolist() == ["alpha", "", "twelve chars"]
    assert data["SPEC"].tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]


@pytest.mark.parametrize(
    "column",
    [
        Column("S", "3A", ["toolong"]),
        Column("A", "2E", [[1.0]]),
        Column("X", "Q", [1]),
        Column("S", "4A", [5]),
    ],
)
def test_bad_columns_are_refused(column: Column) -> None:
    with pytest.raises(ValueError):
        bintable_hdu([column])


def test_columns_must_have_equal_lengths() -> None:
    with pytest.raises(ValueError, match="lengths"):
        bintable_hdu([Column("A", "J", [1, 2]), Column("B", "J", [1])])


# ---------------------------------------------------------------------------- files


def sample_hdus() -> list[HDU]:
    return [
        primary_hdu([("OBJECT", "NGC 1385"), ("HIERARCH ESO OBS ID", 42)]),
        bintable_hdu([Column("TIME", "D", [1.0, 2.0])], extname="LIGHTCURVE"),
    ]


def test_write_fits_plain_and_gzip(tmp_path: Path) -> None:
    plain = write_fits(tmp_path / "a.fits", sample_hdus())
    packed = write_fits(tmp_path / "a.fits.gz", sample_hdus(), gzip=True)
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()
    for path in (plain, packed):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with fits.open(path) as hdul:
                hdul.verify("exception")
                assert hdul[0].header["OBJECT"] == "NGC 1385"
                assert hdul[0].header["ESO OBS ID"] == 42
                assert hdul["LIGHTCURVE"].data["TIME"].tolist() == [1.0, 2.0]
    again = write_fits(tmp_path / "b.fits.gz", sample_hdus(), gzip=True)
    assert again.read_bytes() == packed.read_bytes()  # mtime 0: reproducible


def test_write_fits_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "x.fits"
    target.write_bytes(b"old")
    write_fits(target, sample_hdus())
    assert target.read_bytes()[:6] == b"SIMPLE"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.fits"]

    def fail(self: Path, other: Path) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr(Path, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_fits(target, sample_hdus(), gzip=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.fits"]  # no temporary left
    assert target.read_bytes()[:6] == b"SIMPLE"  # the old content is intact


def test_write_fits_accepts_ready_bytes(tmp_path: Path) -> None:
    data = fits_bytes(sample_hdus())
    assert write_fits(tmp_path / "r.fits", data).read_bytes() == data
