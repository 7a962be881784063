"""The learned style space through the real build (random-weight ResNet50): a synthetic store
where each image's tag is a known function of its pixels."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clustering.build import build_index
from clustering.evaluate import learned_split
from clustering.query import PhotoEmbedder
from store import Store
from stylescout.settings import Config
from tests.conftest import assert_same_vector, make_config, meta_for

pytestmark = pytest.mark.model  # builds a Keras backbone: not in make test-fast

PATTERNS = ("stripes", "bars", "checks")


def _image(seed: int) -> tuple[bytes, str]:
    """A random background colour (what the raw space mostly sees: it is in no tag) and, in the
    middle, a black-and-white pattern: the tag."""
    rng = np.random.default_rng(seed)
    pattern = PATTERNS[seed % 3]
    pixels = np.empty((64, 64, 3), np.uint8)
    pixels[:] = rng.integers(0, 256, 3, dtype=np.uint8)
    pixels += rng.integers(0, 24, (64, 64, 3), dtype=np.uint8)
    y, x = np.mgrid[0:32, 0:32]
    ink = {"stripes": y // 4 % 2, "bars": x // 4 % 2, "checks": (x // 4 + y // 4) % 2}[pattern]
    pixels[16:48, 16:48] = (ink * 255).astype(np.uint8)[..., None]
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue(), pattern


def _config(data_dir: Path, **features: object) -> Config:
    return make_config(
        data_dir,
        features={
            "input_size": 32,
            "weights": "none",
            "batch_size": 16,
            "learning": {"min_images": 40, "min_tag_images": 3},
            **features,
        },
        clustering={"n_styles": 6, "min_size": 2},
    )


def _fill(store: Store, n: int) -> None:
    for seed in range(n):
        data, pattern = _image(seed)
        meta = meta_for(seed, width=64, height=64, format="PNG")
        store.images.add_image_bytes(data, meta, [pattern], {"pattern": pattern})


def test_the_learned_space_puts_same_tag_images_together_better_than_the_raw_one(
    data_dir: Path, tmp_path: Path
) -> None:
    config = _config(data_dir)
    with Store(data_dir) as store:
        _fill(store, 150)
        report, index = build_index(config.engine, store)
        assert "learned space from 150 tagged images and 3 tags" in report.summary()
        assert index.meta.space == "learned" and "+learned" in index.meta.model_key
        assert (index.meta.learned_images, index.meta.learned_tags) == (150, 3)

        result = learned_split(config.engine, store, index.meta.feature_key, 0.5)
        assert (result["learned_on"], result["held_out"]) == (75, 75)
        precision = {(r["label_column"], r["space"]): r["precision_at_k"] for r in result["rows"]}
        assert precision[("pattern", "learned")] > precision[("pattern", "raw")] + 0.1, precision
        assert index.learned.colour_weight == 0  # the colour is in no tag: not kept

        # a photo of a stored item is embedded into the learned space where the build put it
        image_id, path = store.images.image_files()[7]
        vector = PhotoEmbedder(config.features).embed(index, [("x" * 64, path)])[0]
        _, stored = index.vectors_of([image_id])
        assert_same_vector(vector, stored[0])

        raw_config = _config(data_dir, space="raw")  # the switch back
        raw_report, raw_index = build_index(raw_config.engine, store)
    assert raw_index.meta.space == "raw" and "+learned" not in raw_index.meta.model_key
    assert "raw space" in raw_report.summary() and raw_index.learned is None
    assert raw_index.vectors.shape[1] > index.vectors.shape[1]


def test_too_few_tagged_images_builds_the_raw_space_and_says_why(data_dir: Path) -> None:
    with Store(data_dir) as store:
        _fill(store, 24)
        report, index = build_index(_config(data_dir).engine, store)
    assert index.meta.space == "raw" and index.learned is None
    assert "raw space (too few tagged images to learn from: 24 of the 40 needed" in report.summary()
