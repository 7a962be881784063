"""Model keys say which runtime and precision made a vector, and are worked out without a model."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from clustering import features as features_module
from clustering.features import FeatureExtractor
from stylescout.settings import FeaturesConfig


def test_each_runtime_and_precision_has_its_own_key_and_none_loads_a_model(
    tmp_path: Path,
) -> None:
    base = FeaturesConfig(weights="none", input_size=64, model_dir=tmp_path)
    keys = {
        FeatureExtractor(base.model_copy(update={"runtime": "tensorflow"})).key,
        FeatureExtractor(base).key,
    }
    assert keys == {"resnet50-random7v2-64pad-max", "resnet50-random7v2-64pad-max-ovfp32"}


def test_imagenet_weights_are_known_from_a_converted_model_without_their_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_download(backbone: str) -> Path:
        raise AssertionError("the weights file was looked for")

    monkeypatch.setattr(features_module, "imagenet_file", no_download)
    (tmp_path / "resnet50-imagenet-64pad-max-ovfp32.xml").write_text("<net/>")
    cfg = FeaturesConfig(weights="auto", input_size=64, model_dir=tmp_path)
    extractor = FeatureExtractor(cfg)
    assert extractor.key == "resnet50-imagenet-64pad-max-ovfp32"
    assert extractor.weights_note == "" and not extractor.uses_random_weights
    assert extractor._built is None


def test_auto_weights_offline_fall_back_to_random_without_tensorflow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(backbone: str) -> Path:
        raise OSError("no network")

    monkeypatch.setattr(features_module, "imagenet_file", offline)
    had_tf = "tensorflow" in sys.modules
    extractor = FeatureExtractor(FeaturesConfig(weights="auto", input_size=64, model_dir=tmp_path))
    assert extractor.key == "resnet50-random7v2-64pad-max-ovfp32" and extractor.uses_random_weights
    assert ("tensorflow" in sys.modules) == had_tf
