"""`python -m clustering compare`: backbones scored on one labelled store, features cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from clustering.compare import compare, load_comparison
from store import Store
from tests.conftest import jpeg_bytes, make_config, meta_for
from tests.integration.helpers import run_cli_here

pytestmark = pytest.mark.model  # builds a Keras backbone: not in make test-fast

BACKBONES = ["resnet50", "densenet121"]


def labelled_store(data_dir: Path, n: int = 24) -> None:
    with Store(data_dir) as store:
        for seed in range(n):
            labels = {"articleType": ["Tshirts", "Jeans", "Dresses"][seed % 3], "baseColour": "x"}
            store.images.add_image_bytes(jpeg_bytes(seed), meta_for(seed), ["t"], labels)


def test_each_backbone_gets_its_row_and_a_second_run_uses_the_cache(data_dir: Path) -> None:
    labelled_store(data_dir)
    config = make_config(
        data_dir,
        features={"weights": "none", "input_size": 32, "batch_size": 8},
        clustering={"n_styles": 3, "min_size": 2},
    )
    with Store(data_dir) as store:
        first = compare(config.engine, store, BACKBONES, ["articleType"], k=5)
        again = compare(config.engine, store, BACKBONES, ["articleType"], k=5)
    assert [r.backbone for r in first] == BACKBONES
    for row in first:
        assert row.images == 24 and row.extracted == 24 and row.images_per_s > 0
        assert row.peak_mb is not None and row.dims > 0
        assert 0 <= row.precision_at_k["articleType"] <= 1 and 0 <= row.nmi["articleType"] <= 1
        assert "random" in row.weights_note.lower()
    assert first[0].dims != first[1].dims  # 2048 against 1024 (+ the colour part)
    for before, after in zip(first, again, strict=True):  # from the cache: nothing extracted
        assert after.extracted == 0 and after.images_per_s is None
        assert after.precision_at_k == before.precision_at_k


def test_the_command_prints_one_table_and_refuses_what_it_cannot_do(
    data_dir: Path, tmp_path: Path
) -> None:
    labelled_store(data_dir, 12)
    path = tmp_path / "config.yaml"
    path.write_text(
        f"data_dir: {data_dir}\nfeatures: {{weights: none, input_size: 32}}\n"
        "clustering: {n_styles: 3, min_size: 2}\n"
    )
    done = run_cli_here(
        "clustering",
        "--config",
        str(path),
        "compare",
        "--backbones",
        "resnet50",
        "--label-column",
        "articleType",
        "--k",
        "3",
    )
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()[:2]
    assert "P@3 articleType" in header and "NMI articleType" in header and "img/s" in header
    assert row.startswith("resnet50")
    with Store(data_dir) as store:
        saved = load_comparison(store)
    assert saved is not None and saved["rows"][0]["backbone"] == "resnet50"
    bad = run_cli_here("clustering", "--config", str(path), "compare", "--backbones", "vgg16")
    assert bad.returncode == 2 and "unknown backbone 'vgg16'" in bad.stderr
    no_labels = run_cli_here(
        "clustering",
        "--config",
        str(path),
        "compare",
        "--backbones",
        "resnet50",
        "--label-column",
        "season",
    )
    assert no_labels.returncode == 3 and "no image has a 'season' label" in no_labels.stderr
