"""The demo as a new user meets it: every demo product is downloadable and previewable from
its DataLink document, found from an ObsCore query."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pyvo
import sqlalchemy as sa
from pyvo.dal.adhoc import DatalinkResults

from catalog.db import Database
from tests.support.cli import hlsp, serving
from tests.support.delivery import picture


def test_every_demo_product_downloads_and_previews_from_its_datalink(
    database: Database, tmp_path: Path
) -> None:
    env = {"HLSP_DATABASE_URL": database.url, "HLSP_DATA_DIR": str(tmp_path)}
    demo = hlsp("demo", "--no-serve", env=env)
    assert demo.returncode == 0, demo.stderr
    with database.engine.connect() as conn:
        paths: dict[str, str] = dict(
            conn.execute(
                sa.text(
                    "SELECT o.obs_publisher_did, p.file_path FROM ivoa.obscore o "
                    "JOIN hlsp.product p USING (product_id)"
                )
            ).all()
        )
    assert len(paths) >= 300
    with serving("serve", env=env) as base, httpx.Client(timeout=120) as client:
        result = pyvo.dal.TAPService(base + "/tap").search(
            "SELECT obs_publisher_did, access_url FROM ivoa.obscore", maxrec=10_000
        )
        assert len(result) == len(paths)

        def check(did: str) -> str:
            links = DatalinkResults.from_result_url(
                f"{base}/datalink/links?{urlencode({'ID': did})}"
            )
            this = next(links.bysemantics("#this"))
            data = client.get(this.access_url).content
            want = hashlib.sha256(Path(paths[did]).read_bytes()).hexdigest()
            assert hashlib.sha256(data).hexdigest() == want, did
            preview = next(links.bysemantics("#preview"))
            response = client.get(preview.access_url)
            assert response.status_code == 200, (did, response.text)
            assert max(picture(response.content).size) <= 1024
            return did

        dids = [str(r["obs_publisher_did"]) for r in result]
        with ThreadPoolExecutor(4) as pool:
            assert sorted(pool.map(check, dids)) == sorted(paths)
