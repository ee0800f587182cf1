"""``hlsp previews`` as an operator runs it: against a harvested corpus it fills the cache the
server reads, says what it drew and what it could not, and leaves what is cached alone."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from catalog.config import Settings
from catalog.corpus import Corpus, generate_corpus
from catalog.db import Database
from catalog.delivery.previews import PreviewService, PreviewSource
from catalog.delivery.previews.batch import pregenerate, products, report
from catalog.delivery.previews.cache import is_png
from tests.support.cli import hlsp


def test_previews_fill_the_cache_of_a_harvested_catalog(database: Database, tmp_path: Path) -> None:
    root = tmp_path / "hlsp"
    generated = generate_corpus(root, files=30, seed=4)
    env = {"HLSP_DATABASE_URL": database.url, "HLSP_PREVIEW_DIR": str(tmp_path / "previews")}
    harvested = hlsp("harvest", str(root), "--no-progress", env=env)
    assert harvested.returncode == 0, harvested.stderr
    with database.engine.connect() as conn:
        listed = products(conn)
        jwst = products(conn, "nearby-jwst")
    assert len(listed) == len(generated.files) == 30
    assert jwst and {p.hlsp_id for p in jwst} == {"nearby-jwst"}

    first = hlsp("previews", "--jobs", "2", "--no-progress", env=env)
    assert first.returncode == 0, first.stderr
    assert "30 products: 60 pictures drawn, 0 cached already, 0 cannot be drawn" in first.stdout
    entries = list((tmp_path / "previews").glob("??/*.png"))
    assert len(entries) == 60 and all(is_png(e) for e in entries)

    # A product whose file was damaged after the harvest: reported with its reason, exit 0.
    damaged = next(p for p in listed if p.product_type == "x1d" or p.dataproduct_type == "spectrum")
    data = damaged.path.read_bytes()
    damaged.path.write_bytes(data[: len(data) - 2880])
    second = hlsp("previews", "--no-progress", env=env)
    assert second.returncode == 0, second.stderr
    assert "0 pictures drawn, 58 cached already, 1 cannot be drawn" in second.stdout
    assert f"cannot draw {damaged.hlsp_id}: {damaged.path.name} cannot be drawn" in second.stderr
    assert "truncated" in second.stderr

    one = hlsp("previews", "--collection", "k2phot", "--force", "--no-progress", env=env)
    k2 = sum(1 for p in listed if p.hlsp_id == "k2phot")
    assert one.returncode == 0, one.stderr
    assert f"{k2} products: {2 * k2} pictures drawn, 0 cached already" in one.stdout

    unknown = hlsp("previews", "--collection", "no-such", env=env)
    assert unknown.returncode == 2 and "no product of a collection 'no-such'" in unknown.stderr
    assert "Traceback" not in unknown.stderr + first.stderr + second.stderr


def test_a_drawing_past_its_budget_leaves_its_product_unfinished(
    tmp_path: Path, corpus: Corpus, large_image: Path
) -> None:
    settings = Settings(data_dir=tmp_path)
    # 128 MB: a plot needs a few, the large image 256 MB (its gzip stream inflated whole).
    settings = replace(settings, previews=replace(settings.previews, memory=128 << 20))
    service = PreviewService.from_settings(settings, workers=2)
    good = next(f for f in corpus.intact if f.kind == "catalog")
    bad = next(f for f in corpus.damaged if f.damage == "not-fits")
    sources = [
        PreviewSource("nearby-hst", good.path.name, good.path, "measurements", "cat"),
        PreviewSource("nearby-hst", bad.path.name, bad.path, "image", "drc"),
        PreviewSource("uv-atlas", large_image.name, large_image, "image", "img"),
    ]
    try:
        stream = io.StringIO()
        summary = pregenerate(service, sources, jobs=2, progress=True, stream=stream)
    finally:
        service.close()
    assert (summary.products, summary.made, summary.cached) == (3, 2, 0)
    assert [s.file_name for s, _ in summary.failed] == [bad.path.name]
    assert [s.file_name for s, _ in summary.unfinished] == [large_image.name]
    assert summary.exit_code == 1
    out, err = io.StringIO(), io.StringIO()
    report(summary, service.cache.directory, Console(file=out), Console(file=err, width=200))
    assert "3 products: 2 pictures drawn, 0 cached already, 1 cannot be drawn, 1 unfinished" in (
        out.getvalue()
    )
    assert f"unfinished uv-atlas: {large_image.name} needs more than the 128 MB" in err.getvalue()
    assert "HLSP_PREVIEW_MEMORY" in err.getvalue()
