"""A store whose image folder is on S3 (moto's server on loopback): a scrape of the demo feed and a
feature build read and write the objects, and `python -m store check` notices one gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from clustering.build import build_index
from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from scraper.scrape import scrape
from store import Store
from store.check import check_store
from tests.conftest import jpeg_bytes, make_config, meta_for
from tests.integration.helpers import run_cli
from tests.integration.test_dashboard_engine import FEATURES
from tests.s3 import Bucket


@pytest.mark.slow
@pytest.mark.model
def test_a_scrape_and_a_build_on_an_s3_image_folder(data_dir: Path, s3_bucket: Bucket) -> None:
    with BackgroundServer(create_feed_app(), "127.0.0.1", 0) as feed:
        config = make_config(
            data_dir,
            demo_feed={"port": feed.port},
            store={"images_url": s3_bucket.url},
            features=FEATURES,
            clustering={"n_styles": 3, "min_size": 2},
        )
        result = scrape(config.scraping, "boho", 12, "demo-html")
    assert (result.progress.added, result.progress.failed) == (12, 0)
    keys = s3_bucket.fs().find(s3_bucket.name)
    assert len(keys) == 12 and all(k.endswith(".jpg") for k in keys)
    with Store.from_config(config) as store:
        assert check_store(store).clean
        report, index = build_index(config.engine, store)
        assert report.extracted == 12 and report.skipped == 0 and len(index.ids) == 12
    assert not (data_dir / "images").exists()


def test_store_check_cli_notices_a_missing_object(data_dir: Path, s3_bucket: Bucket) -> None:
    with Store(data_dir, images_url=s3_bucket.url) as store:
        shas = [
            store.images.add_image_bytes(jpeg_bytes(seed), meta_for(seed)).sha256
            for seed in range(3)
        ]
    env = {"STYLESCOUT_IMAGES_URL": s3_bucket.url}  # the AWS variables come from the fixture
    ok = run_cli("store", "--data-dir", str(data_dir), "check", env=env)
    assert ok.returncode == 0 and "OK: the store is consistent" in ok.stdout, ok.stderr
    assert f"image files: {s3_bucket.url}" in ok.stdout

    s3_bucket.fs().rm_file(f"{s3_bucket.name}/images/{shas[1][:2]}/{shas[1]}.jpg")
    gone = run_cli("store", "--data-dir", str(data_dir), "check", env=env)
    assert gone.returncode == 1 and "rows without their file: 1" in gone.stdout
    assert shas[1][:16] in gone.stdout


@pytest.mark.slow
@pytest.mark.model
def test_ray_actors_read_the_s3_image_folder(data_dir: Path, s3_bucket: Bucket) -> None:
    ray = pytest.importorskip("ray", reason="Ray is not installed (make setup-scale)")
    from clustering.features import FeatureExtractor
    from clustering.ray_extract import extract_missing_ray
    from tests.integration.test_engine import ENGINE, fill_store
    from tests.integration.test_ray_extraction import RAY

    config = make_config(data_dir, features={**ENGINE, **RAY})
    with Store(data_dir, images_url=s3_bucket.url) as store:
        fill_store(store, per_family=3)
        key = FeatureExtractor(config.features).key
        extracted, failed, _ = extract_missing_ray(store, config.features, key)
        assert (extracted, failed) == (12, 0)
        assert not ray.is_initialized()  # the build started its Ray, so it shut it down
        ids, vectors = store.features.load_features(key)
        assert len(ids) == 12 and vectors.shape[0] == 12
