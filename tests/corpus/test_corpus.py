"""The corpus generator: every file is what GeneratedFile says, checked with astropy."""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import re
import tomllib
import warnings
import zlib
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from astropy.io import fits

from catalog.corpus import (
    DAMAGES,
    FLAWS,
    MANIFEST_NAME,
    MIN_FILES,
    Corpus,
    GeneratedFile,
    generate_corpus,
)

FILES = 300
DOI = re.compile(r"^10\.17909/[a-z0-9]{4}-[a-z0-9]{4}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")
CURRENT = {"nearby-jwst", "nearby-hst", "uv-stars", "uv-atlas", "mock-deep", "tess-ffilc"}
LEGACY = {"ffi-gaia", "k2phot"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return generate_corpus(tmp_path_factory.mktemp("corpus"), files=FILES, damage=True)


def open_strict(path: Path) -> fits.HDUList:
    """Open with astropy, every warning an error, verified, every data unit read."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hdul = fits.open(path)
        hdul.verify("exception")
        for hdu in hdul:
            _ = hdu.data
    return hdul


def lookup(hdul: fits.HDUList, keyword: str) -> object:
    """The value of ``keyword`` in the first HDU that has it (None if none has)."""
    return next((hdu.header[keyword] for hdu in hdul if keyword in hdu.header), None)


def separation_arcsec(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    cos = math.sin(d1) * math.sin(d2) + math.cos(d1) * math.cos(d2) * math.cos(r1 - r2)
    return math.degrees(math.acos(min(1.0, cos))) * 3600


def fields(file: GeneratedFile) -> list[str]:
    name = file.path.name.removesuffix(".gz").removesuffix(".fits")
    return name.split("_")


# ---------------------------------------------------------------------------- contents


def test_counts_per_collection_and_kind(corpus: Corpus) -> None:
    assert len(corpus.files) == FILES + len(DAMAGES)
    assert len(corpus.intact) == FILES
    per_collection = Counter(f.hlsp_id for f in corpus.intact)
    assert set(per_collection) == CURRENT | LEGACY
    assert sum(per_collection.values()) == FILES
    assert per_collection["tess-ffilc"] > per_collection["ffi-gaia"] > per_collection["mock-deep"]
    kinds = Counter(f.kind for f in corpus.intact)
    assert set(kinds) == {"image", "spectrum", "lightcurve", "catalog", "cube"}
    assert kinds["lightcurve"] > kinds["image"] > kinds["spectrum"] > kinds["cube"] >= 2
    assert {f.kind for f in corpus.by_collection("nearby-jwst")} == {"image", "cube"}
    assert {f.kind for f in corpus.by_collection("nearby-hst")} == {"image", "catalog"}
    assert all(f.simulated == (f.hlsp_id == "mock-deep") for f in corpus.files)
    assert {f.observatory for f in corpus.files} == {"HST", "JWST", "TESS", "K2", "GALEX"}
    assert len({f.path for f in corpus.files}) == len(corpus.files)  # no file overwritten


def test_every_intact_file_opens_cleanly_and_matches_its_record(corpus: Corpus) -> None:
    for file in corpus.intact:
        with open_strict(file.path) as hdul:
            legacy = file.hlsp_id in LEGACY
            assert lookup(hdul, "OBJECT" if legacy else "HLSPTARG") == file.target_name
            assert lookup(hdul, "RA_OBJ" if legacy else "RA_TARG") == file.ra
            assert lookup(hdul, "DEC_OBJ" if legacy else "DEC_TARG") == file.dec
            start = {"ffi-gaia": "MJD_BEG", "k2phot": "LC_START"}.get(file.hlsp_id, "MJD-BEG")
            end = {"ffi-gaia": "MJD_END", "k2phot": "LC_END"}.get(file.hlsp_id, "MJD-END")
            assert lookup(hdul, start) == file.t_min_mjd
            assert lookup(hdul, end) == file.t_max_mjd
            assert file.t_min_mjd is not None and file.t_max_mjd is not None
            assert file.t_min_mjd < file.t_max_mjd
            assert lookup(hdul, "INSTRUME") == file.instrument
            optical = (
                lookup(hdul, "DISPERSR") if file.kind == "spectrum" else lookup(hdul, "FILTER")
            )
            assert optical == file.filter
            assert lookup(hdul, "SIMULATD") is (True if file.simulated else None)
            if not legacy:
                assert hdul[0].header["OBSERVAT"] == file.observatory
                assert hdul[0].header["HLSPID"] == file.hlsp_id.upper()


def test_cards_per_file_stay_small(corpus: Corpus) -> None:
    for file in corpus.intact:
        with fits.open(file.path) as hdul:
            cards = sum(len(hdu.header) for hdu in hdul)
        assert 40 <= cards <= 130, file.path.name
        assert file.path.stat().st_size <= 20_000


def test_current_style_files_carry_the_common_keywords(corpus: Corpus) -> None:
    for file in corpus.intact:
        if file.hlsp_id in LEGACY or file.flaws:
            continue
        with open_strict(file.path) as hdul:
            primary = hdul[0].header
            assert DOI.match(primary["DOI"])
            assert primary["DOI"] == corpus.collection(file.hlsp_id).doi
            for keyword in ("HLSPNAME", "HLSPLEAD", "TELESCOP", "CREATOR", "ORIGIN", "PROCVER"):
                assert primary[keyword]
            assert primary["HLSPVER"] in {"v1", "v1.0", "v2"}
            assert fields(file)[6].replace("p", ".") == primary["HLSPVER"]
            assert primary["LICENSE"] == "CC BY 4.0"
            assert primary["LICENURL"] == "https://creativecommons.org/licenses/by/4.0/"
            assert primary["REFERENC"]
            assert ISO.match(str(lookup(hdul, "DATE-BEG")))
            assert ISO.match(str(lookup(hdul, "DATE-END")))
            mid = lookup(hdul, "MJD-MID")
            assert file.t_min_mjd < mid < file.t_max_mjd  # type: ignore[operator]
            assert lookup(hdul, "TIMESYS") in {"UTC", "TDB"}
            assert float(lookup(hdul, "XPOSURE")) > 0  # type: ignore[arg-type]
            assert float(lookup(hdul, "TELAPSE")) > 0  # type: ignore[arg-type]
            assert lookup(hdul, "RADESYS") == "ICRS"
            assert lookup(hdul, "EQUINOX") is None
            assert "FILEID01" in primary or "PROVENANCE" in hdul or file.simulated
            if file.kind in ("image", "cube"):
                science = next(h for h in hdul if h.data is not None and h.header["NAXIS"] >= 2)
                assert science.header["CTYPE1"] == "RA---TAN"
                assert ("CD1_1" in science.header) != ("PC1_1" in science.header) or (
                    "CDELT1" in science.header and "PC1_1" not in science.header
                )


def test_legacy_files_lack_hlsp_keywords(corpus: Corpus) -> None:
    for file in corpus.intact:
        if file.hlsp_id not in LEGACY:
            continue
        with open_strict(file.path) as hdul:
            for keyword in ("HLSPID", "DOI", "LICENSE", "HLSPVER", "MJD-BEG", "XPOSURE"):
                assert lookup(hdul, keyword) is None
        assert file.path.name.endswith(("_llc.fits", "_llc.fits.gz"))


def test_provenance_extension_of_coadded_spectra(corpus: Corpus) -> None:
    coadds = [f for f in corpus.by_collection("uv-stars") if f.filter == "MULTI" and not f.damage]
    assert coadds
    for file in coadds:
        with open_strict(file.path) as hdul:
            rows = hdul["PROVENANCE"].data
            assert len(rows) >= 2
            assert {"FILENAME", "INSTRUMENT", "DISPERSER", "MJD_BEG", "XPOSURE"} <= set(
                rows.columns.names
            )
            assert min(rows["MJD_BEG"]) == pytest.approx(file.t_min_mjd)
            spectrum = hdul["SCI"].data
            assert spectrum["WAVELENGTH"].shape == spectrum["FLUX"].shape == (1, 64)


def test_light_curve_and_catalog_tables(corpus: Corpus) -> None:
    tess = next(f for f in corpus.by_collection("tess-ffilc") if not f.flaws and not f.damage)
    with open_strict(tess.path) as hdul:
        table = hdul["LIGHTCURVE"]
        assert table.columns.names == ["TIME", "FLUX", "FLUX_ERR", "QUALITY"]
        header = table.header
        assert header["TIMESYS"] == "TDB" and header["BJDREFI"] == 2457000
        assert header["TSTART"] + 2457000 - 2400000.5 == pytest.approx(tess.t_min_mjd)
        assert header["TSTART"] <= min(table.data["TIME"]) <= max(table.data["TIME"])
        assert hdul[0].header["TICID"] == int(tess.target_name.removeprefix("TIC "))
    catalog = next(f for f in corpus.by_collection("nearby-hst") if f.kind == "catalog")
    with open_strict(catalog.path) as hdul:
        data = hdul["CATALOG"].data
        assert {"SOURCE", "RA", "DEC", "F814W", "F814W_ERR", "F814W_FLAG"} <= set(data.names)
        assert hdul["CATALOG"].columns["RA"].unit == "deg"
        assert all(
            separation_arcsec(ra, dec, catalog.ra, catalog.dec) < 200  # type: ignore[arg-type]
            for ra, dec in zip(data["RA"], data["DEC"], strict=True)
        )


# ---------------------------------------------------------------------------- names and layout


def test_file_names_follow_the_convention(corpus: Corpus) -> None:
    for file in corpus.files:
        parts = fields(file)
        assert len(parts) == 8, file.path.name
        assert parts[0] == "hlsp" and parts[1] == file.hlsp_id
        if "upper-case-name" not in file.flaws:
            assert file.path.name == file.path.name.lower()
        if file.hlsp_id in CURRENT and not file.flaws:
            assert re.match(r"^v\d+([.p]\d+)*$", parts[6])
            assert len(file.path.name) <= 90
        assert file.path.name.endswith((".fits", ".fits.gz"))
        assert file.path.is_relative_to(corpus.root / file.hlsp_id)


def test_directory_layouts(corpus: Corpus) -> None:
    relative = {f.path.relative_to(corpus.root).as_posix() for f in corpus.files}
    assert any(
        p.startswith("tess-ffilc/s0001/0000/0000/2515/5310/hlsp_tess-ffilc_tess_ffi_s0001-")
        for p in relative
    )
    assert all(
        re.match(r"^ffi-gaia/s\d{4}/cam\d-ccd\d/(\d{4}/){4}hlsp_ffi-gaia_tess_ffi_gaiaid-", p)
        for p in relative
        if p.startswith("ffi-gaia/")
    )
    assert all(
        re.match(r"^k2phot/c(\d\d)/(\d{4})00000/\d{5}/hlsp_k2phot_k2_lightcurve_\2\d{5}-c\1_", p)
        for p in relative
        if p.startswith("k2phot/")
    )
    assert any(p.startswith("nearby-hst/ngc1385/catalogs/") for p in relative)


def test_gzip_fraction(corpus: Corpus, tmp_path: Path) -> None:
    packed = [f for f in corpus.intact if f.path.name.endswith(".gz")]
    assert 0.04 * FILES < len(packed) < 0.2 * FILES
    assert all(f.path.read_bytes()[:2] == b"\x1f\x8b" for f in packed)
    none = generate_corpus(tmp_path, files=MIN_FILES, gzip_fraction=0.0, flaws=False)
    assert not [f for f in none.files if f.path.name.endswith(".gz")]


def test_readmes_and_manifests(corpus: Corpus) -> None:
    assert len(corpus.collections) == 8
    assert len(corpus.readmes) == 8
    for info in corpus.collections:
        directory = corpus.root / info.hlsp_id
        readme = directory / f"hlsp_{info.hlsp_id}_readme.md"
        assert readme in corpus.readmes
        text = readme.read_text()
        assert info.title in text and info.lead in text and info.reference in text
        manifest = directory / MANIFEST_NAME
        assert manifest.exists() == info.manifest == (manifest in corpus.manifests)
        if info.manifest:
            data = tomllib.loads(manifest.read_text())
            assert set(data) == {
                "hlsp_id",
                "title",
                "lead",
                "doi",
                "description",
                "release_date",
                "reference",
                "landing_url",
            }
            assert data["hlsp_id"] == info.hlsp_id and data["doi"] == info.doi
            assert data["release_date"].isoformat() == info.release_date
            assert data["landing_url"] == f"https://archive.stsci.edu/hlsp/{info.hlsp_id}"
    assert {c.hlsp_id for c in corpus.collections if c.manifest} == {
        "nearby-jwst",
        "uv-stars",
        "mock-deep",
        "tess-ffilc",
    }


# ---------------------------------------------------------------------------- cross-matching


def test_shared_star_in_both_tess_collections(corpus: Corpus) -> None:
    current = [f for f in corpus.by_collection("tess-ffilc") if f.target_name == "TIC 25155310"]
    legacy = [f for f in corpus.by_collection("ffi-gaia") if f.target_name == "TIC25155310"]
    assert current and legacy
    with open_strict(legacy[0].path) as hdul:
        assert hdul[0].header["TICID"] == "25155310"  # a string, as TGLC writes it
        assert hdul[0].header["OBJECT"] == "TIC25155310"
    with open_strict(current[0].path) as hdul:
        assert hdul[0].header["TICID"] == 25155310
    for a in current:
        for b in legacy:
            assert separation_arcsec(a.ra, a.dec, b.ra, b.dec) < 1.0  # type: ignore[arg-type]


def test_shared_galaxies_across_hst_jwst_and_galex(corpus: Corpus) -> None:
    def positions(hlsp_id: str, name: str) -> list[tuple[float, float]]:
        return [
            (f.ra, f.dec)  # type: ignore[misc]
            for f in corpus.by_collection(hlsp_id)
            if f.target_name == name and not f.flaws
        ]

    jwst = positions("nearby-jwst", "NGC 1385")
    hst = positions("nearby-hst", "NGC1385")
    galex = positions("uv-atlas", "NGC 1385")
    assert jwst and hst and galex
    for ra1, dec1 in jwst:
        for ra2, dec2 in hst + galex:
            assert separation_arcsec(ra1, dec1, ra2, dec2) < 1.0


def test_many_distinct_targets_over_the_sky(corpus: Corpus) -> None:
    targets = {(f.hlsp_id, f.target_name) for f in corpus.intact}
    assert len(targets) > FILES // 3
    ras = [f.ra for f in corpus.intact if f.ra is not None and not f.flaws]
    decs = [f.dec for f in corpus.intact if f.dec is not None]
    assert max(ras) - min(ras) > 300
    assert min(decs) < -45 and max(decs) > 45
    assert len({int(ra // 30) for ra in ras}) == 12  # every 2-hour band of RA


# ---------------------------------------------------------------------------- flaws and damage


def test_each_flaw_once_and_really_there(corpus: Corpus) -> None:
    flawed = {f.flaws[0]: f for f in corpus.flawed}
    assert all(len(f.flaws) == 1 for f in corpus.flawed)
    assert sorted(flawed) == sorted(FLAWS)
    for flaw, file in flawed.items():
        assert file.hlsp_id in CURRENT
        with open_strict(file.path) as hdul:
            primary = hdul[0].header
            version = fields(file)[6]
            if flaw == "missing-doi":
                assert lookup(hdul, "DOI") is None
            elif flaw == "license-cc-by":
                assert primary["LICENSE"] == "CC-BY"
            elif flaw == "equinox-with-icrs":
                header = next(h.header for h in hdul if "RADESYS" in h.header)
                assert header["RADESYS"] == "ICRS" and header["EQUINOX"] == 2000.0
            elif flaw == "cd-and-pc":
                assert "CD1_1" in hdul["SCI"].header and "PC1_1" in hdul["SCI"].header
            elif flaw == "upper-case-name":
                assert fields(file)[4] != fields(file)[4].lower()
            elif flaw == "bad-version":
                assert version == "dr0.5" == primary["HLSPVER"]
            elif flaw == "unknown-product-type":
                assert fields(file)[7] == "fullspec"
            elif flaw == "ra-out-of-range":
                assert lookup(hdul, "RA_TARG") == file.ra and file.ra >= 360  # type: ignore[operator]
            elif flaw == "hlspver-mismatch":
                assert primary["HLSPVER"].replace("p", ".") != version.replace("p", ".")


def test_no_flaws_when_disabled(tmp_path: Path) -> None:
    clean = generate_corpus(tmp_path, files=40, flaws=False)
    assert not clean.flawed
    assert not clean.damaged


def test_each_damage_once_and_really_damaged(corpus: Corpus) -> None:
    damaged = {str(f.damage): f for f in corpus.damaged}
    assert sorted(damaged) == sorted(DAMAGES)
    assert corpus.files[-len(DAMAGES) :] == tuple(corpus.damaged)
    for kind, file in damaged.items():
        if kind == "unreadable":
            assert file.path.stat().st_mode & 0o777 == 0
            if os.geteuid() != 0:  # root reads anything
                with pytest.raises(PermissionError):
                    file.path.read_bytes()
            continue
        data = file.path.read_bytes()
        if kind == "zero-length":
            assert data == b""
        elif kind == "not-fits":
            assert not data.startswith(b"SIMPLE") and b"<html>" in data
        elif kind == "truncated-header":
            assert data.startswith(b"SIMPLE") and len(data) < 2880
            assert b"END" + b" " * 77 not in data
        elif kind == "missing-end":
            assert data.startswith(b"SIMPLE") and len(data) % 2880 == 0
            cards = [data[i : i + 80] for i in range(0, len(data), 80)]
            assert b"END" + b" " * 77 not in cards
        elif kind == "truncated-data":
            assert len(data) % 2880 != 0
            with pytest.raises(Exception), warnings.catch_warnings():  # noqa: B017
                warnings.simplefilter("error")
                with fits.open(file.path) as hdul:
                    _ = [hdu.data for hdu in hdul]
            continue
        elif kind == "bad-gzip":
            assert file.path.name.endswith(".fits.gz") and data[:2] == b"\x1f\x8b"
            with pytest.raises((OSError, EOFError, zlib.error)):
                gzip.decompress(data)
        elif kind == "non-ascii":
            header = data[: data.index(b"END" + b" " * 77)]
            assert any(byte > 0x7E for byte in header)
        with pytest.raises(Exception), warnings.catch_warnings():  # noqa: B017
            warnings.simplefilter("error")
            with fits.open(file.path) as hdul:
                hdul.verify("exception")
                _ = [hdu.data for hdu in hdul]


# ---------------------------------------------------------------------------- determinism


def digest(corpus: Corpus) -> list[tuple[str, GeneratedFile]]:
    """(content hash, record with a root-relative path) of every file."""
    rows = []
    for file in corpus.files:
        content = b"" if file.damage == "unreadable" else file.path.read_bytes()
        relative = replace(file, path=file.path.relative_to(corpus.root))
        rows.append((hashlib.sha256(content).hexdigest(), relative))
    return rows


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    first = generate_corpus(tmp_path / "a", files=60, seed=7, damage=True)
    second = generate_corpus(tmp_path / "b", files=60, seed=7, damage=True, workers=2)
    other = generate_corpus(tmp_path / "c", files=60, seed=8, damage=True)
    assert digest(first) == digest(second)
    for readme_a, readme_b in zip(first.readmes, second.readmes, strict=True):
        assert readme_a.read_bytes() == readme_b.read_bytes()
    assert [h for h, _ in digest(first)] != [h for h, _ in digest(other)]
    assert {f.target_name for f in other.files} & {"TIC 25155310", "NGC 1385"}  # always shared


def test_too_few_files_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least"):
        generate_corpus(tmp_path, files=MIN_FILES - 1)
    smallest = generate_corpus(tmp_path, files=MIN_FILES, damage=True)
    assert len(smallest.flawed) == len(FLAWS)
