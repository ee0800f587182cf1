"""The façade the server calls: a product's preview and thumbnail as paths of PNGs, drawn in
child processes and cached where the settings say; a collection's own graphic used as it is."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from catalog.config import Settings
from catalog.corpus import Corpus
from catalog.delivery.previews import PreviewBusy, PreviewError, PreviewService, PreviewSource
from catalog.delivery.previews.budget import Renderer
from catalog.delivery.previews.cache import PreviewCache
from catalog.delivery.previews.render import PREVIEW_SIZE, THUMBNAIL_SIZE
from tests.support.delivery import picture


@pytest.fixture
def service(tmp_path: Path) -> Iterator[PreviewService]:
    settings = Settings(data_dir=tmp_path / "data")
    settings = replace(settings, previews=replace(settings.previews, workers=1))
    made = PreviewService.from_settings(settings)
    yield made
    made.close()


def source_of(
    corpus: Corpus,
    kind: str,
    dataproduct_type: str | None = None,
    product_type: str | None = None,
    shipped: Path | None = None,
) -> PreviewSource:
    generated = next(f for f in corpus.intact if f.kind == kind)
    return PreviewSource(
        generated.hlsp_id,
        generated.path.name,
        generated.path,
        dataproduct_type,
        product_type,
        shipped,
    )


def test_previews_are_drawn_once_into_the_data_directory(
    service: PreviewService, corpus: Corpus, tmp_path: Path
) -> None:
    cube = source_of(corpus, "cube", dataproduct_type="cube", product_type="s3d")
    preview = service.get_blocking(cube, "preview")
    thumbnail = service.get_blocking(cube, "thumbnail")
    assert preview.is_relative_to(tmp_path / "data" / "previews")
    assert picture(preview).size == (PREVIEW_SIZE, PREVIEW_SIZE)
    assert picture(thumbnail).size == (THUMBNAIL_SIZE, THUMBNAIL_SIZE)
    assert service.is_cached(cube, "preview") and service.get_blocking(cube, "preview") == preview
    assert service.cache.stats.made == 2 and service.cache.stats.hits == 1
    with pytest.raises(ValueError, match="variant must be"):
        service.get_blocking(cube, "large")  # type: ignore[arg-type]


def test_a_shipped_graphic_is_the_preview_and_makes_the_thumbnail(
    service: PreviewService, corpus: Corpus, tmp_path: Path
) -> None:
    shipped = tmp_path / "hlsp_x_preview.jpg"
    ramp = np.tile(np.linspace(0, 255, 800).astype(np.uint8), (500, 1))
    Image.fromarray(ramp, mode="L").save(shipped, format="JPEG")
    product = source_of(corpus, "spectrum", shipped=shipped)
    assert service.get_blocking(product, "preview") == shipped  # as it is
    thumbnail = service.get_blocking(product, "thumbnail")
    assert picture(thumbnail).size == (THUMBNAIL_SIZE, 160)
    shipped.write_bytes(b"no longer a picture")  # replaced: a new thumbnail is tried
    with pytest.raises(PreviewError, match="not a PNG, JPEG or GIF picture"):
        service.get_blocking(product, "thumbnail")


def test_the_server_awaits_previews(service: PreviewService, corpus: Corpus) -> None:
    products = [source_of(corpus, kind) for kind in ("image", "catalog", "lightcurve")]
    damaged = next(f for f in corpus.damaged if f.damage == "not-fits")
    broken = PreviewSource(damaged.hlsp_id, damaged.path.name, damaged.path, "image", "drc")

    async def ask() -> list[Path | BaseException]:
        asked = [service.get(p, "thumbnail") for p in [*products, broken]]
        return list(await asyncio.gather(*asked, return_exceptions=True))

    *paths, error = asyncio.run(ask())
    assert [max(picture(p).size) for p in paths] == [THUMBNAIL_SIZE] * 3  # type: ignore[arg-type]
    assert isinstance(error, PreviewError) and "not a readable FITS file" in error.message


def test_an_unusable_cache_directory_is_said_not_a_crash(corpus: Corpus, tmp_path: Path) -> None:
    occupied = tmp_path / "a-file"
    occupied.write_text("not a directory")
    settings = Settings(data_dir=tmp_path)
    settings = replace(settings, previews=replace(settings.previews, directory=str(occupied)))
    service = PreviewService.from_settings(settings)
    try:
        with pytest.raises(PreviewBusy, match="HLSP_PREVIEW_DIR must be a writable directory"):
            service.get_blocking(source_of(corpus, "image"), "preview")
    finally:
        service.close()


def test_requests_beyond_the_threads_are_told_to_come_back(
    corpus: Corpus, tmp_path: Path, large_image: Path
) -> None:
    cache = PreviewCache(tmp_path / "cache", max_bytes=1 << 30)
    service = PreviewService(cache, Renderer(workers=1, queue=0, timeout=60, memory=2 << 30))
    large = PreviewSource("uv-atlas", large_image.name, large_image, "image", "img")

    async def both() -> list[Path | BaseException]:
        slow = asyncio.ensure_future(service.get(large, "thumbnail"))
        await asyncio.sleep(0)  # the first holds the only place
        quick = service.get(source_of(corpus, "image"), "thumbnail")
        return list(await asyncio.gather(slow, quick, return_exceptions=True))

    try:
        drawn, refused = asyncio.run(both())
    finally:
        service.close()
    assert isinstance(drawn, Path) and picture(drawn).size == (THUMBNAIL_SIZE, THUMBNAIL_SIZE)
    assert isinstance(refused, PreviewBusy) and "try again" in refused.message
