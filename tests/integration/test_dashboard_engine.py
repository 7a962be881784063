"""The dashboard's engine with a real (random-weight) backbone, and the Scrape page's job."""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import pytest

from clustering.build import build_index
from clustering.query import IndexMismatchError, PhotoEmbedder
from dash_app import create_app
from dash_app.jobs import JobStatus, scrape_and_build
from dash_app.recommend import recommend, uploads_folder
from dash_app.web import inputs
from dash_app.web.context import get_context
from dash_app.web.uploads import accept_upload
from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from store import Store
from tests.conftest import assert_same_vector, jpeg_bytes, make_config, meta_for

pytestmark = pytest.mark.model  # builds a Keras backbone: not in make test-fast

FEATURES = {"input_size": 32, "weights": "none", "batch_size": 8}


@pytest.mark.parametrize("garment", [False, True], ids=["descriptor", "with garment blocks"])
def test_a_photo_is_embedded_as_the_build_embedded_it(data_dir: Path, garment: bool) -> None:
    features = {**FEATURES, "garment": {"enabled": garment, "colour_weight": 0.5}}
    config = make_config(data_dir, features=features, clustering={"n_styles": 3, "min_size": 2})
    with Store(data_dir) as store:
        for seed in range(24):
            store.images.add_image_bytes(
                jpeg_bytes(seed, (96, 120)), meta_for(seed), [f"t{seed % 3}"]
            )
        _, index = build_index(config.engine, store)
    app = create_app(config)
    with app.server.test_request_context("/"):
        ctx = get_context()
        stored = jpeg_bytes(7, (96, 120))
        data_url = "data:image/jpeg;base64," + base64.b64encode(stored).decode()
        upload = accept_upload(data_url, uploads_folder(ctx.store), 10**7, 10**8)
        loaded = ctx.engine.loaded()
        vector = ctx.engine.embedder.embed(loaded.index, [(upload.sha256, upload.path)])[0]
        image_id = ctx.store.images.image_id_by_sha(upload.sha256)
        _, stored_vector = loaded.index.vectors_of([image_id])
        assert_same_vector(vector, stored_vector[0])  # same pipeline, same space, any CPU

        photos = [{"kind": "upload", "sha256": upload.sha256, "name": "me.jpg"}]
        rec = recommend(ctx.engine, inputs.photos(photos, 10), "u" + "0" * 32)
        assert len(rec.items) == 10 and image_id not in [i.image_id for i in rec.items]
        assert rec.style is not None or rec.fallback
        gone = recommend(
            ctx.engine, inputs.photos([{"kind": "upload", "sha256": "f" * 64}], 10), None
        )
        assert gone.fallback and "no longer on the server" in " ".join(gone.problems)
    assert index.meta.feature_key.startswith("resnet50-random")
    assert ("+garment-v1-128px-hog64@s1.2m1g0.3c0.5+" in index.meta.model_key) == garment
    # settings that no longer make the index's blocks are told to rebuild, not mixed in
    other = {**features, "garment": {"enabled": not garment}}
    changed = make_config(data_dir, features=other, clustering={"n_styles": 3, "min_size": 2})
    with pytest.raises(IndexMismatchError, match="garment blocks"):
        PhotoEmbedder(changed.features).check(index)


@pytest.mark.slow
def test_scrape_job_reports_progress_and_honours_cancel(data_dir: Path) -> None:
    with BackgroundServer(create_feed_app(), "127.0.0.1", 0) as feed:
        config = make_config(
            data_dir,
            demo_feed={"port": feed.port},
            scraper={"default_source": "demo-html"},
            features=FEATURES,
            clustering={"n_styles": 3, "min_size": 2},
        )
        seen: list[tuple[str, float]] = []
        done = scrape_and_build(
            config,
            "boho",
            12,
            None,
            lambda s: seen.append((s.stage, s.fraction())),
            threading.Event(),
        )
        assert done.stage == "done" and done.added == 12 and done.styles
        stages = [s for s, _ in seen]
        assert stages[0] == "scraping" and "building" in stages and stages[-1] == "done"
        fractions = [f for _, f in seen]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0

        again = scrape_and_build(config, "boho", 12, None, lambda s: None, threading.Event())
        assert again.stage == "done" and again.added == 0 and "unchanged" in again.message

        cancel = threading.Event()

        def cancel_when_scraping(status: JobStatus) -> None:
            if status.added >= 3:
                cancel.set()

        stopped = scrape_and_build(config, "minimal", 40, None, cancel_when_scraping, cancel)
        assert stopped.stage == "cancelled" and 3 <= stopped.added < 40
        with Store(data_dir) as store:
            assert store.runs.recent(1)[0]["status"] == "interrupted"
            assert store.stats().images == 12 + stopped.added  # what was added is kept
