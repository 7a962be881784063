"""Feature extraction on Ray Data (`clustering build --engine ray`), on a Ray started here with
two CPUs: the same vectors as the local path, failures recorded, a stopped run resumed.

One Ray serves the module (starting one costs 7 s and 9 s of CPU here): builds join a Ray that
is already running and leave it running, as they do on a cluster. That a build which started
Ray itself shuts it down again is checked by test_s3_images, whose build starts its own."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from clustering.build import build_index, extract_missing
from clustering.features import FeatureExtractor
from clustering.ray_extract import extract_missing_ray
from store import ImageMeta, Store
from stylescout.errors import StyleScoutError
from tests.conftest import assert_same_vector, make_config
from tests.integration.test_engine import ENGINE, fill_store

pytestmark = pytest.mark.model  # builds a Keras backbone: not in make test-fast

pytest.importorskip("ray", reason="Ray is not installed (make setup-scale)")
RAY = {"engine": "ray", "ray_actors": 2, "ray_cpus": 2}


@pytest.fixture(scope="module")
def ray_here(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, bool]]:
    """The module's Ray, started as a build on this machine starts it: (ray, started here)."""
    from clustering.ray_extract import start_ray

    config = make_config(tmp_path_factory.mktemp("ray") / "data", features={**ENGINE, **RAY})
    ray, started = start_ray(config.features)
    try:
        yield ray, started
    finally:
        ray.shutdown()


def _stores(tmp_path: Path) -> tuple[Store, Store]:
    local, remote = Store(tmp_path / "local"), Store(tmp_path / "ray")
    for store in (local, remote):
        fill_store(store, per_family=6)
        store.images.add_image_bytes(
            b"\xff\xd8\xff\xe0 not really a jpeg" * 10, ImageMeta(10, 10, "JPEG", "test"), ["x"]
        )
    return local, remote


@pytest.mark.slow
def test_ray_extraction_gives_the_local_vectors_and_records_failures(
    tmp_path: Path, ray_here: tuple[Any, bool]
) -> None:
    config = make_config(tmp_path / "local", features={**ENGINE, **RAY})
    extractor = FeatureExtractor(config.features)
    local, remote = _stores(tmp_path)
    with local, remote:
        assert extract_missing(local, extractor)[:2] == (24, 1)
        extracted, failed, _ = extract_missing_ray(remote, config.features, extractor.key)
        assert (extracted, failed) == (24, 1)
        ids_a, a = local.features.load_features(extractor.key)
        ids_b, b = remote.features.load_features(extractor.key)
        assert list(ids_a) == list(ids_b)
        for row_a, row_b in zip(a, b, strict=True):
            assert_same_vector(row_b, row_a)
        assert list(remote.features.feature_failures(extractor.key)) == list(
            local.features.feature_failures(extractor.key)
        )
        assert extract_missing_ray(remote, config.features, extractor.key)[:2] == (0, 0)


@pytest.mark.slow
def test_a_stopped_ray_run_resumes_without_redoing_finished_shards(
    tmp_path: Path, ray_here: tuple[Any, bool]
) -> None:
    # shards of 16 images, on one actor: what is checked is the shards, not the pool
    features = {**ENGINE, **RAY, "batch_size": 2, "ray_actors": 1}
    config = make_config(tmp_path / "data", features=features)
    extractor = FeatureExtractor(config.features)
    with Store(tmp_path / "data") as store:
        fill_store(store, per_family=12)  # 48 images: three shards

        def stop_after_the_first_shard(stage: str, done: int, total: int) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            extract_missing_ray(store, config.features, extractor.key, stop_after_the_first_shard)
        left = len(store.features.images_without_features(extractor.key))
        assert left == 48 - 16
        report, index = build_index(config.engine, store, extractor)  # the build resumes on Ray
        assert report.extracted == left and len(index.ids) == 48


@pytest.mark.slow
def test_actors_run_the_drivers_converted_model_from_the_object_store(
    tmp_path: Path, ray_here: tuple[Any, bool]
) -> None:
    """An actor on another machine has none of the driver's files: it gets the converted model
    through Ray, puts it in its own model folder, and converts nothing."""
    driver_cfg = make_config(tmp_path / "data", features={**ENGINE, **RAY}).features
    driver = FeatureExtractor(driver_cfg.model_copy(update={"model_dir": tmp_path / "driver"}))
    files = driver.model_files()
    assert files is not None
    actors_cfg = driver_cfg.model_copy(update={"model_dir": tmp_path / "actors"})
    with Store(tmp_path / "data") as store:
        fill_store(store, per_family=2)
        extracted, failed, _ = extract_missing_ray(
            store, actors_cfg, driver.key, None, lambda: files
        )
        assert (extracted, failed) == (8, 0)
        ids, vectors = store.features.load_features(driver.key)
        paths = dict(store.images.image_files())
        expected = driver.extract([paths[int(i)] for i in ids]).vectors
    for got, want in zip(vectors, expected, strict=True):
        assert_same_vector(got, want)
    installed = tmp_path / "actors" / f"{driver.key}.xml"
    assert installed.read_bytes() == files[0]


def _niceness() -> int:
    return os.nice(0)


def test_a_ray_started_here_runs_its_workers_at_normal_priority(
    ray_here: tuple[Any, bool],
) -> None:
    """Ray's default niceness 15 starved the actors whenever anything else ran here."""
    ray, started = ray_here
    assert started
    niceness = ray.get(ray.remote(num_cpus=1)(_niceness).remote(), timeout=120)
    assert niceness <= os.nice(0)  # no lower a priority than this process's (Ray's: +15)


def test_ray_without_the_extra_says_which_command_installs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path / "data", features={**ENGINE, **RAY})
    monkeypatch.setitem(sys.modules, "ray", None)
    with Store(tmp_path / "data") as store:
        fill_store(store, per_family=1)
        with pytest.raises(StyleScoutError, match="make setup-scale"):
            extract_missing_ray(store, config.features, "some-model-key")
    assert np.__name__ == "numpy"
