"""The backbone on OpenVINO (`features.runtime: openvino`): the same vectors as TensorFlow at
fp32, a converted model kept on disk and loaded again without TensorFlow, int8 calibrated on the
store's own images and kept for the store, and keys that never let two paths share an index."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from clustering.build import build_index
from clustering.calibration import StoreCalibration
from clustering.features import FeatureError, FeatureExtractor
from clustering.openvino_model import OpenVINOError, capabilities, ir_path
from clustering.query import IndexMismatchError, PhotoEmbedder
from store import Store
from stylescout.settings import FeaturesConfig
from tests.conftest import assert_same_vector, make_config
from tests.integration.test_engine import ENGINE, fill_store

pytestmark = pytest.mark.model  # converts a Keras backbone: not in make test-fast
pytest.importorskip("openvino", reason="OpenVINO is not installed (make setup)")

REPO = Path(__file__).resolve().parents[2]


def _fresh_process(script: str) -> dict:
    """Run `script` in a new interpreter here; the JSON object its last line prints."""
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _images(store: Store) -> list:
    return [file for _, file in store.images.image_files()]


def test_openvino_fp32_gives_tensorflows_vectors_and_a_key_of_its_own(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    fill_store(store, per_family=3)
    files = _images(store)
    cfg = FeaturesConfig(**ENGINE, runtime="openvino", model_dir=tmp_path / "models")
    fast = FeatureExtractor(cfg)
    slow = FeatureExtractor(cfg.model_copy(update={"runtime": "tensorflow"}))
    assert fast.key == slow.key + "-ovfp32"
    a, b = fast.extract(files), slow.extract(files)
    assert a.ok == b.ok and len(a.ok) == len(files)
    for x, y in zip(a.vectors, b.vectors, strict=True):
        assert_same_vector(x, y)
    assert ir_path(tmp_path / "models", fast.key).is_file()
    used = fast.kernels
    assert sum(used.values()) > 50 and all(isinstance(k, str) for k in used)


@pytest.mark.parametrize(("backbone", "size"), [("densenet121", 32), ("inception_v3", 75)])
def test_each_backbones_preprocessing_runs_inside_the_converted_model(
    tmp_path: Path, backbone: str, size: int
) -> None:
    """DenseNet scales and normalises (torch mode), Inception scales to -1..1 (tf mode)."""
    store = Store(tmp_path / "data")
    fill_store(store, per_family=1)
    files = _images(store)[:4]
    cfg = FeaturesConfig(
        backbone=backbone,
        input_size=size,
        weights="none",
        batch_size=4,
        runtime="openvino",
        model_dir=tmp_path / "models",
    )
    fast = FeatureExtractor(cfg).extract(files).vectors
    slow = FeatureExtractor(cfg.model_copy(update={"runtime": "tensorflow"})).extract(files)
    for x, y in zip(fast, slow.vectors, strict=True):
        assert_same_vector(x, y)


def test_a_converted_model_loads_again_without_tensorflow(tmp_path: Path) -> None:
    cfg = FeaturesConfig(**ENGINE, runtime="openvino", model_dir=tmp_path / "models")
    FeatureExtractor(cfg).warm()  # converted and saved
    script = (
        "import json, sys, numpy as np\n"
        "from stylescout.settings import FeaturesConfig\n"
        "from clustering.features import FeatureExtractor\n"
        f"cfg = FeaturesConfig.model_validate_json({cfg.model_dump_json()!r})\n"
        "x = FeatureExtractor(cfg)\n"
        "v = x.run_batch(np.full((2, 64, 64, 3), 128, np.uint8))\n"
        "print(json.dumps({'key': x.key, 'tf': 'tensorflow' in sys.modules, 'd': v.shape[1]}))\n"
    )
    answer = _fresh_process(script)
    assert answer == {"key": FeatureExtractor(cfg).key, "tf": False, "d": 2048}


def test_int8_is_calibrated_on_the_store_and_stays_the_stores(tmp_path: Path) -> None:
    config = make_config(
        tmp_path / "data",
        features={
            **ENGINE,
            "runtime": "openvino",
            "precision": "int8",
            "model_dir": str(tmp_path / "models"),
            "space": "raw",
        },
    )
    with Store.from_config(config) as store:
        fill_store(store, per_family=4)
        report, index = build_index(config.engine, store)
        key = index.meta.feature_key
        assert "-ovint8c" in key and report.extracted == len(_images(store))
        # the store grows: the calibration (and with it every stored vector) stays
        fill_store(store, per_family=6)
        report, again = build_index(config.engine, store)
        assert again.meta.feature_key == key
        assert report.extracted == len(_images(store)) - index.ids.size
        # close to the fp32 model's vectors, in another key
        fp32 = config.engine.features.model_copy(update={"precision": "fp32"})
        reference = FeatureExtractor(fp32, calibration=StoreCalibration(store))
        assert reference.key != key
        files = _images(store)[:8]
        fast = FeatureExtractor(config.engine.features, calibration=StoreCalibration(store))
        assert fast.key == key
        for x, y in zip(fast.extract(files).vectors, reference.extract(files).vectors, strict=True):
            assert_same_vector(x, y, min_cosine=0.99, rtol=0.2)
        # people's photos go through the store's int8 model; fp32 settings refuse the index
        embedder = PhotoEmbedder(config.engine.features, calibration=StoreCalibration(store))
        embedder.check(again)
        # a dashboard that worked out its key before the store had int8 features (here: on
        # a sample of the store's images other than the build's) follows the index's model
        early = PhotoEmbedder(config.engine.features, calibration=StoreCalibration(store))
        other = FeatureExtractor(
            config.engine.features, calibration=_FirstOnly(StoreCalibration(store), 5)
        )
        early._extractor = other
        assert other.key != key
        early.check(again)
        assert early.extractor().key == key
        with pytest.raises(IndexMismatchError):
            PhotoEmbedder(fp32, calibration=StoreCalibration(store)).check(again)


class _FirstOnly:
    """A store's calibration cut to its first n images, and no pinned key."""

    def __init__(self, inner: StoreCalibration, n: int) -> None:
        self.inner, self.n = inner, n

    def pinned(self, prefix: str) -> str | None:
        return None

    def sample(self, n: int) -> tuple[list, list[str]]:
        return self.inner.sample(min(n, self.n))


def test_int8_without_a_store_or_images_says_so(tmp_path: Path) -> None:
    cfg = FeaturesConfig(**ENGINE, runtime="openvino", precision="int8", model_dir=tmp_path)
    with pytest.raises(FeatureError, match="calibrated on a store"):
        FeatureExtractor(cfg)
    with Store(tmp_path / "empty") as store, pytest.raises(FeatureError, match="has none yet"):
        FeatureExtractor(cfg, calibration=StoreCalibration(store))


@pytest.mark.skipif("BF16" in capabilities(), reason="this CPU has bf16")
def test_bf16_is_refused_on_a_cpu_without_it(tmp_path: Path) -> None:
    cfg = FeaturesConfig(**ENGINE, runtime="openvino", precision="bf16", model_dir=tmp_path)
    with pytest.raises(OpenVINOError, match="no bf16"):
        FeatureExtractor(cfg)


def test_a_shipped_model_is_installed_where_it_is_missing(tmp_path: Path) -> None:
    """What a Ray actor on another machine does with the driver's converted model."""
    cfg = FeaturesConfig(**ENGINE, runtime="openvino", model_dir=tmp_path / "driver")
    driver = FeatureExtractor(cfg)
    files = driver.model_files()
    assert files is not None
    there = cfg.model_copy(update={"model_dir": tmp_path / "actor"})
    FeatureExtractor.install_model(there, driver.key, files)
    batch = np.full((2, 64, 64, 3), 90, np.uint8)
    actor = FeatureExtractor(there)
    assert actor.key == driver.key
    for x, y in zip(actor.run_batch(batch), driver.run_batch(batch), strict=True):
        assert_same_vector(x, y)


def test_a_second_build_runs_without_tensorflow(tmp_path: Path) -> None:
    """The dashboard's builds run in a fresh process each (`clustering.build.rebuild`): once the
    model is converted, such a process loads it without importing TensorFlow (the warm start)."""
    config = make_config(
        tmp_path / "data",
        features={**ENGINE, "model_dir": str(tmp_path / "models"), "space": "raw"},
    )
    with Store.from_config(config) as store:
        fill_store(store, per_family=2)
        build_index(config.engine, store)  # converts
        fill_store(store, per_family=3)  # new images: the next build extracts
    script = (
        "import json, sys\n"
        "from clustering.build import rebuild\n"
        "from stylescout.settings import EngineSettings\n"
        f"cfg = EngineSettings.model_validate_json({config.engine.model_dump_json()!r})\n"
        "line = rebuild(cfg, lambda *a: None)\n"
        "print(json.dumps({'line': line, 'tf': 'tensorflow' in sys.modules}))\n"
    )
    answer = _fresh_process(script)
    assert answer["tf"] is False and "4 new features" in answer["line"], answer
