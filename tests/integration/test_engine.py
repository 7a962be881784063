"""The style engine end to end with a real Keras backbone (random weights, 64 px inputs)."""

from __future__ import annotations

import io
import json
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from clustering.build import build_index
from clustering.features import FeatureExtractor
from clustering.index import load_index
from store import ImageMeta, Store
from stylescout.settings import Config
from tests.conftest import FASHION, make_config
from tests.integration.helpers import run_cli_here

pytestmark = pytest.mark.model  # builds a Keras backbone: not in make test-fast

FAMILIES = {  # colour family x pattern: what the clustering must recover
    "redstripes": ((200, 30, 40), "stripes"),
    "bluedots": ((30, 60, 190), "dots"),
    "greenchecks": ((40, 150, 60), "checks"),
    "yellowsolid": ((230, 200, 40), "solid"),
}
ENGINE = {"input_size": 64, "weights": "none", "batch_size": 16}


def family_image(colour: tuple[int, int, int], pattern: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    jitter = tuple(int(np.clip(c + rng.integers(-25, 25), 0, 255)) for c in colour)
    img = Image.new("RGB", (96, 96), (245, 245, 245))
    draw = ImageDraw.Draw(img)
    step, offset = int(rng.integers(10, 16)), int(rng.integers(0, 8))
    if pattern == "stripes":
        for y in range(offset, 96, step):
            draw.rectangle((8, y, 88, y + step // 2), fill=jitter)
    elif pattern == "dots":
        for y in range(offset, 96, step):
            for x in range(offset, 96, step):
                draw.ellipse((x, y, x + step // 2, y + step // 2), fill=jitter)
    elif pattern == "checks":
        for y in range(0, 96, step):
            for x in range(0, 96, step):
                if (x // step + y // step) % 2:
                    draw.rectangle((x, y, x + step, y + step), fill=jitter)
    else:
        draw.rectangle((10 + offset, 10, 86, 86), fill=jitter)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def fill_store(store: Store, per_family: int = 12) -> dict[int, str]:
    truth = {}
    for f, (name, (colour, pattern)) in enumerate(FAMILIES.items()):
        for n in range(per_family):
            data = family_image(colour, pattern, 1000 * f + n)
            result = store.images.add_image_bytes(
                data, ImageMeta(96, 96, "JPEG", "test"), [name, "ootd"]
            )
            truth[result.image_id] = name
    return truth


@pytest.fixture(scope="module")
def extractor() -> FeatureExtractor:
    return FeatureExtractor(make_config(Path("/tmp/unused"), features=ENGINE).features)


def engine_config(data_dir: Path, **clustering: object) -> Config:
    return make_config(
        data_dir, features=ENGINE, clustering={"n_styles": 4, "min_size": 3, **clustering}
    )


@pytest.mark.slow
def test_families_are_recovered_and_a_second_build_extracts_nothing(
    data_dir: Path, extractor: FeatureExtractor
) -> None:
    config = engine_config(data_dir)
    with Store(data_dir) as store:
        truth = fill_store(store)
        report, index = build_index(config.engine, store, extractor)
        assert report.extracted == 48 and report.styles == 4 and report.weights_note
        purity = sum(
            Counter(truth[int(i)] for i in index.ids[index.labels == s]).most_common(1)[0][1]
            for s in range(4)
        ) / len(index.ids)
        assert purity >= 0.9
        assert sorted(n.split(" · ")[0] for n in index.meta.names) == sorted(FAMILIES)
        assert index.meta.model_key.startswith("resnet50-random7v2-64pad-max")
        again, _ = build_index(config.engine, store, extractor)
        assert again.extracted == 0 and again.images == 48


@pytest.mark.slow
def test_unreadable_images_are_skipped_and_reported(
    data_dir: Path, extractor: FeatureExtractor
) -> None:
    with Store(data_dir) as store:
        fill_store(store, per_family=4)
        bad = store.images.add_image_bytes(
            b"\xff\xd8\xff\xe0 not really a jpeg" * 10,
            ImageMeta(10, 10, "JPEG", "test"),
            ["broken"],
        )
        report, index = build_index(
            engine_config(data_dir, n_styles=2, min_size=1).engine, store, extractor
        )
        assert report.skipped == 1 and bad.image_id not in index.ids
        assert "skipped 1 unreadable" in report.summary()


@pytest.mark.slow
def test_readers_never_see_half_an_index(data_dir: Path, extractor: FeatureExtractor) -> None:
    config = engine_config(data_dir, n_styles=3, min_size=1)
    with Store(data_dir) as store:
        fill_store(store, per_family=3)
        build_index(config.engine, store, extractor)
        problems: list[str] = []
        stop = threading.Event()

        def read() -> None:
            while not stop.is_set():
                try:
                    index = load_index(store.index_dir)
                    assert len(index.ids) == len(index.vectors) == len(index.labels)
                    assert len(index.meta.names) == len(index.centroids)
                except Exception as exc:  # collected for the assertion below
                    problems.append(repr(exc))

        reader = threading.Thread(target=read)
        reader.start()
        for n in range(6):  # each build swaps in a new index
            build_index(
                engine_config(data_dir, n_styles=2 + n % 2, min_size=1).engine, store, extractor
            )
        stop.set()
        reader.join()
        assert problems == []
        assert len(list(store.index_dir.glob("build-*"))) == 3  # current + two kept


def recommend_json(config_file: Path, photo: Path) -> dict:
    """`python -m clustering recommend PHOTO --json`, checked and parsed."""
    result = run_cli_here(
        "clustering", "--config", str(config_file), "recommend", str(photo), "--json"
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
def test_recommend_cli_excludes_the_query_and_falls_back(data_dir: Path, tmp_path: Path) -> None:
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        f"data_dir: {data_dir}\nfeatures:\n  input_size: 64\n  weights: none\n"
        "clustering:\n  n_styles: 4\n  min_size: 3\n"
    )
    with Store(data_dir) as store:
        fill_store(store)
    build = run_cli_here("clustering", "--config", str(config_file), "build")
    assert build.returncode == 0, build.stderr
    assert "RANDOM weights" in build.stdout and "in 4 styles" in build.stdout
    with Store(data_dir) as store:
        [(query_id, query_path)] = store.images.image_files([1])
    answer = recommend_json(config_file, query_path)
    assert answer["style"].startswith("redstripes") and not answer["fallback"]
    assert len(answer["items"]) == 10 and query_id not in [i["id"] for i in answer["items"]]
    assert all("redstripes" in item["tags"] for item in answer["items"][:5])
    assert answer["random_weights"] is True

    config_file.write_text(config_file.read_text() + "recommender:\n  match_threshold: 1.0\n")
    fallback = recommend_json(config_file, query_path)
    assert fallback["fallback"] is True and fallback["style"] is None
    assert len(fallback["popular"]) == 10


@pytest.mark.slow
@pytest.mark.skipif(not FASHION.is_dir(), reason=f"needs the shared data set at {FASHION}")
def test_evaluate_on_fashion_small_dev(data_dir: Path, extractor: FeatureExtractor) -> None:
    from clustering.evaluate import evaluate
    from scraper.importer import import_folder

    with Store(data_dir) as store:
        import_folder(store, FASHION)
        config = make_config(data_dir, features=ENGINE)
        _, index = build_index(config.engine, store, extractor)
        result = evaluate(store, index, "articleType", config.clustering)
    ours, baseline = result["results"]
    assert result["images"] >= 1190 and result["classes"] == 24
    assert ours["method"] == "style index" and baseline["method"].startswith("colour histogram")
    assert all(0 <= row[m] <= 1 for row in (ours, baseline) for m in ("precision_at_k", "purity"))
    assert ours["precision_at_k"] > baseline["precision_at_k"] + 0.1


@pytest.mark.slow
def test_a_large_index_gets_a_faiss_search_that_the_query_path_uses(
    data_dir: Path, extractor: FeatureExtractor
) -> None:
    pytest.importorskip("faiss", reason="faiss-cpu is not installed (make setup-scale)")
    from clustering.recommender import Recommender

    search = {"engine": "faiss", "exact_up_to": 10, "nlist": 4, "nprobe": 4, "recall_queries": 48}
    config = make_config(
        data_dir,
        features=ENGINE,
        clustering={"n_styles": 4, "min_size": 3},
        search=search,
    )
    with Store(data_dir) as store:
        truth = fill_store(store)
        report, built = build_index(config.engine, store, extractor)
    assert "search FAISS IVF4,SQ8 (recall@10" in report.summary()
    assert built.meta.search_recall is not None and built.meta.search_recall >= 0.9
    index = load_index(data_dir / "index")
    assert (index.folder / "search.faiss").is_file() and index.meta.search.startswith("FAISS")
    assert isinstance(index.vectors, np.memmap)  # shared pages, not a copy per process
    faiss_side = Recommender(index, config.recommender, config.search)
    exact_side = Recommender(
        index, config.recommender, config.search.model_copy(update={"engine": "numpy"})
    )
    assert faiss_side.search_description.startswith("FAISS") and faiss_side.approximate
    assert exact_side.search_description == "exact (numpy)"
    overlap = []
    for row in range(0, 48, 6):
        me = int(index.ids[row])
        got = faiss_side.nearest(index.vectors[row], 5, exclude=[me])
        want = exact_side.nearest(index.vectors[row], 5, exclude=[me])
        assert len(got) == 5 and me not in {n.image_id for n in got}
        overlap.append(len({n.image_id for n in got} & {n.image_id for n in want}) / 5)
        assert Counter(truth[n.image_id] for n in got).most_common(1)[0][0] == truth[me]
    assert np.mean(overlap) >= 0.9
