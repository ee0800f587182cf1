"""Damaged files: each kind of damage gives a FitsReadError with its code, nothing else.

Also: random truncations and byte flips never raise anything but FitsReadError, and a file
with a ~1 GB data unit (sparse on disk) or a gzip stream of 200 MB is read in bounded memory.
"""

from __future__ import annotations

import errno
import gzip
import io
import os
import pickle
import tracemalloc
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.harvest.findings import RULES, Severity
from catalog.harvest.fits.reader import FitsReadError, Header, read_headers

BLOCK = 2880
CODES = {f"HLSP-R{n:03d}" for n in range(1, 12)}


def header(*cards: str) -> bytes:
    text = "".join(card.ljust(80) for card in (*cards, "END"))
    return text.encode("latin-1").ljust(-(-len(text) // BLOCK) * BLOCK)


PRIMARY = ("SIMPLE  =                    T", "BITPIX  =                    8",
           "NAXIS   =                    0", "EXTEND  =                    T")  # fmt: skip
IMAGE = ("XTENSION= 'IMAGE   '", "BITPIX  =                   16", "NAXIS   =                    1",
         "NAXIS1  =                 2000", "PCOUNT  =                    0",
         "GCOUNT  =                    1")  # fmt: skip
IMAGE_DATA = b"\x01\x02" * 2000 + b"\0" * (-4000 % BLOCK)
GOOD = header(*PRIMARY) + header(*IMAGE) + IMAGE_DATA


def valid_file() -> bytes:
    """A realistic three-HDU file written by astropy (image, table with a heap)."""
    buffer = io.BytesIO()
    rows = 50
    table = fits.BinTableHDU.from_columns(
        [
            fits.Column("flux", "E", array=np.arange(rows, dtype="f4")),
            fits.Column(
                "var", "PJ()", array=np.array([np.arange(i % 5) for i in range(rows)], dtype=object)
            ),
        ]
    )
    table.header["LONGSTR"] = "a long string value " * 6
    table.header["HIERARCH ESO DET ID"] = "ccd"
    primary = fits.PrimaryHDU(np.arange(100, dtype=">i2").reshape(10, 10))
    primary.header["COMMENT"] = "a comment"
    fits.HDUList([primary, table, fits.ImageHDU(np.ones(7, ">f8"))]).writeto(buffer)
    return buffer.getvalue()


VALID = valid_file()


def read(tmp_path: Path, data: bytes, name: str = "x.fits") -> list[Header]:
    path = tmp_path / name
    path.write_bytes(data)
    return read_headers(path)


def error(tmp_path: Path, data: bytes, name: str = "x.fits") -> FitsReadError:
    with pytest.raises(FitsReadError) as caught:
        read(tmp_path, data, name)
    assert caught.value.code in CODES
    assert caught.value.reason == str(caught.value)
    return caught.value


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=1)


def test_every_reading_code_is_registered_as_an_error_with_a_fix() -> None:
    assert set(RULES) >= CODES
    for code in CODES:
        assert RULES[code].severity is Severity.ERROR
        assert RULES[code].fix.endswith(".") and RULES[code].title


def test_the_valid_files_read(tmp_path: Path) -> None:
    assert len(read(tmp_path, VALID)) == 3
    assert len(read(tmp_path, gz(VALID), "x.fits.gz")) == 3
    assert len(read(tmp_path, gz(GOOD), "no-gz-suffix.fits")) == 2  # gzip by magic bytes
    assert len(read(tmp_path, GOOD, "plain-despite.fits.gz")) == 2


@pytest.mark.parametrize(
    ("data", "code", "words"),
    [
        (b"", "HLSP-R002", "empty"),
        (gz(b""), "HLSP-R002", "empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "HLSP-R003", "PNG"),
        (b"<!DOCTYPE html><html>404 Not Found</html>", "HLSP-R003", "HTML page"),
        (b"plain text, not FITS\n" * 200, "HLSP-R003", "SIMPLE = T"),
        (header("SIMPLE  =                    F", *PRIMARY[1:]), "HLSP-R003", "SIMPLE"),
        (GOOD[:1000], "HLSP-R004", "ends inside"),
        (GOOD[: BLOCK + 100], "HLSP-R004", "HDU 1"),
        (GOOD[:BLOCK].replace(b"END ", b"    "), "HLSP-R005", "no END"),
        (GOOD[:BLOCK].replace(b"END ", b"    ") + bytes(range(256)) * 12, "HLSP-R005", "END"),
        (header(*PRIMARY, "OBJECT  = 'caf\xe9'"), "HLSP-R006", "0xe9"),
        (header(*PRIMARY, "OBJECT  = 'a\tb'"), "HLSP-R006", "card 5, column 13"),
        (header(*PRIMARY, "COMMENT nul \0 byte"), "HLSP-R006", "0x00"),
        (header(*PRIMARY, "DATE    = 2020-01-01"), "HLSP-R007", "card 5"),
        (header(*PRIMARY, "NUM     = 5", "CONTINUE  'x'"), "HLSP-R007", "CONTINUE"),
        (header(*PRIMARY, "OBJECT  = 'unterminated"), "HLSP-R007", "OBJECT"),
        (header(*PRIMARY[:2], "EXTEND  =                    T"), "HLSP-R008", "no NAXIS"),
        (header(*PRIMARY[:2], "NAXIS   =                   -1"), "HLSP-R008", "negative"),
        (header(*PRIMARY[:2], "NAXIS   =                    T"), "HLSP-R008", "NAXIS = True"),
        (header(*PRIMARY[:2], "NAXIS   =                 1000"), "HLSP-R008", "999"),
        (header(PRIMARY[0], "BITPIX  =                    7", PRIMARY[2]), "HLSP-R008", "7"),
        (
            header(
                *PRIMARY[:2], "NAXIS   =                    2", "NAXIS1  =                   10"
            ),
            "HLSP-R008",
            "NAXIS2",
        ),
        (
            header(*PRIMARY[:2], "NAXIS   =                    1", "NAXIS1  = 'ten'"),
            "HLSP-R008",
            "not an integer",
        ),
        (
            header(*PRIMARY) + header("XTENSION=                    5", *IMAGE[1:]) + IMAGE_DATA,
            "HLSP-R008",
            "XTENSION",
        ),
        (GOOD[: -BLOCK + 100], "HLSP-R009", "4,000 bytes"),
        (header(*PRIMARY) + header(*IMAGE), "HLSP-R009", "only 0"),
        (gz(GOOD[: -BLOCK + 100]), "HLSP-R009", "4,000 bytes"),
        (gz(GOOD)[:-20], "HLSP-R010", "gzip"),
        (gz(GOOD)[:200], "HLSP-R010", "gzip"),
        (gz(GOOD)[:10] + b"\xff" * 50 + gz(GOOD)[60:], "HLSP-R010", "corrupt"),
        (gz(GOOD) + b"trailing junk", "HLSP-R010", "not gzip"),
        (GOOD + b"junk after the last HDU", "HLSP-R011", "after"),
        (GOOD + b" " * BLOCK, "HLSP-R011", "HDU 1"),
        (GOOD + header("SIMPLE  =                    T"), "HLSP-R011", "XTENSION"),
    ],
)
def test_damage_gives_its_code(tmp_path: Path, data: bytes, code: str, words: str) -> None:
    failure = error(tmp_path, data)
    assert failure.code == code, failure.reason
    assert words in failure.reason
    assert RULES[code].fix in failure.reason


def test_a_corrupt_checksum_in_the_gzip_trailer_is_caught(tmp_path: Path) -> None:
    packed = bytearray(gz(GOOD))
    packed[-8] ^= 0xFF  # CRC32 of the member
    assert error(tmp_path, bytes(packed)).code == "HLSP-R010"


def test_tolerated_irregularities(tmp_path: Path) -> None:
    """What astropy reads too: zero padding after the end, a last data unit without padding,
    several gzip members, zero padding after the gzip stream, END with junk after it."""
    assert len(read(tmp_path, GOOD + bytes(3 * BLOCK))) == 2
    assert len(read(tmp_path, GOOD[: -(-4000 % BLOCK)])) == 2
    assert len(read(tmp_path, gz(GOOD[:5000]) + gz(GOOD[5000:]) + bytes(100))) == 2
    junk_end = GOOD.replace(b"END" + b" " * 77, b"END     junk".ljust(80), 1)
    assert len(read(tmp_path, junk_end)) == 2


def test_unreadable_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert read_error(tmp_path / "missing.fits").code == "HLSP-R001"
    assert "not a regular file" in read_error(tmp_path).reason
    os.mkfifo(tmp_path / "pipe.fits")
    assert read_error(tmp_path / "pipe.fits").code == "HLSP-R001"  # and does not block
    assert read_error(f"{tmp_path}/nul\0.fits").code == "HLSP-R001"
    path = tmp_path / "x.fits"
    path.write_bytes(GOOD)

    def denied(*args: object) -> int:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "open", denied)
    assert "Permission denied" in read_error(path).reason
    monkeypatch.undo()

    def failing(*args: object) -> bytes:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "read", failing)
    assert "Input/output error" in read_error(path).reason


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_a_file_without_read_permission(tmp_path: Path) -> None:
    path = tmp_path / "secret.fits"
    path.write_bytes(GOOD)
    path.chmod(0)
    assert read_error(path).code == "HLSP-R001"


def read_error(path: Path | str) -> FitsReadError:
    with pytest.raises(FitsReadError) as caught:
        read_headers(path)
    assert caught.value.code == "HLSP-R001"
    return caught.value


def test_errors_survive_pickling(tmp_path: Path) -> None:
    failure = error(tmp_path, b"")
    copy = pickle.loads(pickle.dumps(failure))
    assert (copy.code, copy.reason) == (failure.code, failure.reason)


# --- random damage ------------------------------------------------------------------------

flips = st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=8)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.none() | st.integers(0, len(VALID)), changes=flips, compressed=st.booleans())
def test_random_damage_reads_or_fails_cleanly(
    tmp_path: Path, cut: int | None, changes: list[tuple[int, int]], compressed: bool
) -> None:
    data = bytearray(gz(VALID) if compressed else VALID)
    for position, byte in changes:
        data[position % len(data)] = byte
    try:
        headers = read(tmp_path, bytes(data[:cut]))
    except FitsReadError as failure:
        assert failure.code in CODES
    else:
        assert headers


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(0, len(VALID)))
def test_truncated_files_fail_or_agree_with_astropy(tmp_path: Path, cut: int) -> None:
    """A cut file is an error, or complete where the cut falls after a data unit (then
    astropy finds the same HDUs)."""
    data = VALID[:cut]
    try:
        headers = read(tmp_path, data)
    except FitsReadError as failure:
        assert failure.code in {"HLSP-R002", "HLSP-R003", "HLSP-R004", "HLSP-R009"}
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(io.BytesIO(data)) as hdus:
            assert len(hdus) == len(headers)


def test_a_cut_inside_the_next_xtension_keyword_is_a_truncated_header(tmp_path: Path) -> None:
    """Found by the test above: 1-7 bytes of 'XTENSION' after an HDU are a cut header, not
    foreign trailing bytes."""
    end_of_primary = VALID.index(b"XTENSION")
    for extra in range(1, 8):
        with pytest.raises(FitsReadError) as failure:
            read(tmp_path, VALID[: end_of_primary + extra])
        assert failure.value.code == "HLSP-R004"


# --- bounded memory -------------------------------------------------------------------------


def bytes_primary(size: int) -> bytes:
    """A primary header announcing a data unit of ``size`` bytes."""
    return header(
        PRIMARY[0],
        "BITPIX  =                    8",
        "NAXIS   =                    1",
        f"NAXIS1  = {size:20d}",
    )


def read_traced(path: Path) -> tuple[list[Header], int]:
    """The headers of the file at ``path`` and the peak of memory allocated to read them."""
    tracemalloc.start()
    try:
        return read_headers(path), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_gigabyte_data_unit_is_skipped_not_read(tmp_path: Path) -> None:
    size = 2**30
    primary = bytes_primary(size)
    path = tmp_path / "sparse.fits"
    with path.open("wb") as out:
        out.write(primary)
        out.seek(len(primary) + size + (-size % BLOCK))
        out.write(header(*IMAGE) + IMAGE_DATA)
    headers, peak = read_traced(path)
    assert [h.data_bytes for h in headers] == [size, 4000]
    assert headers[1].offset == len(primary) + size + (-size % BLOCK)
    assert peak < 2**19, f"peak {peak:,} bytes"


def test_a_large_gzip_stream_is_decompressed_in_bounded_chunks(tmp_path: Path) -> None:
    size = 200 * 2**20
    primary = bytes_primary(size)
    path = tmp_path / "big.fits.gz"
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    with path.open("wb") as out:
        out.write(packer.compress(primary))
        zeros = bytes(2**20)
        for _ in range(size // len(zeros)):
            out.write(packer.compress(zeros))
        padding = bytes(-size % BLOCK)
        out.write(packer.compress(padding + header(*IMAGE) + IMAGE_DATA) + packer.flush())
    headers, peak = read_traced(path)
    assert [h.data_bytes for h in headers] == [size, 4000]
    assert peak < 2 * 2**20, f"peak {peak:,} bytes"
