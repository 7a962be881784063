"""Style engine benchmarks: `python -m bench.engine [--part extraction|runtimes|agreement|query|
clustering|all]`.

- runtimes: TensorFlow fp32 against OpenVINO fp32 and int8 on this CPU, with the instruction sets
  and kernels used, and the start-up cold and warm (`bench.runtimes`);
- agreement: the fast paths' vectors and P@10 per label column against TensorFlow fp32 on a
  labelled folder (`--sample`, fashion-small-dev by default);
- extraction: 224 px ResNet50 on the default path, images/s end to end from files on disk
  (decode + resize + model, overlapped) against (a) the bare model on ready tensors and (b) a
  per-image TensorFlow `predict` loop, the way most published recommenders extract;
- query: top-10 latency at 10k / 44k / 200k random 2048-d unit vectors, our exact search against a
  brute-force scikit-learn NearestNeighbors refitted per query (what those recommenders do), and
  the PCA mode's recall@10 and latency;
- clustering: time and peak memory of `cluster_styles` at 5k / 20k / 100k items (each size in its
  own process, so the peak is its own).
Medians of --repeats runs; ratios against baselines measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.timing import median_rate, peak_rss_mb

REPO = Path(__file__).resolve().parents[1]
FASHION = REPO.parent / "shared" / "data" / "fashion-small-dev" / "images"


def _images(n: int) -> list[Path]:
    """n image files: the shared fashion set when present, else demo-feed images on disk."""
    if FASHION.is_dir():
        files = sorted(FASHION.glob("*.jpg"))[:n]
        if len(files) == n:
            return files
    from sandbox.demo_feed.catalog import Catalog, ImageRenderer
    from stylescout.settings import DemoFeedConfig

    catalog = Catalog(DemoFeedConfig())
    renderer = ImageRenderer(catalog)
    folder = Path(tempfile.mkdtemp(prefix="bench-images-"))
    out = []
    for post in catalog.posts[:n]:
        path = folder / f"{post.id}.jpg"
        path.write_bytes(renderer.jpeg(post.id))
        out.append(path)
    return out


def extraction(repeats: int, n: int, model_dir: Path) -> dict:
    """The default path (OpenVINO fp32) end to end from files, against its bare model and a
    per-image TensorFlow `predict` loop."""
    from clustering.features import FeatureExtractor
    from stylescout.settings import FeaturesConfig

    cfg = FeaturesConfig(weights="none", input_size=224, batch_size=32, model_dir=model_dir)
    extractor = FeatureExtractor(cfg)
    keras = FeatureExtractor(cfg.model_copy(update={"runtime": "tensorflow"}))
    paths = _images(n)
    ready = np.stack([extractor.prepare(p) for p in paths])
    extractor.extract(paths[:32])  # warm-up (conversion, compilation) outside the timings
    built = keras._load()

    def bare() -> None:
        for s in range(0, n, 32):
            extractor.run_batch(ready[s : s + 32])

    def per_image() -> None:
        for p in paths:
            x = built.preprocess(keras.prepare(p)[None].astype(np.float32))
            built.model.predict(x, verbose=0)

    ours = median_rate(lambda: extractor.extract(paths), n, repeats)
    base = median_rate(bare, n, repeats)
    loop = median_rate(per_image, n, repeats)
    return {
        "path": f"{cfg.runtime} {cfg.precision}",
        "images": n,
        "end_to_end": ours,
        "bare_model": base,
        "per_image_predict": loop,
        "ratio_to_bare": ours / base,
        "ratio_to_loop": ours / loop,
    }


def runtimes(repeats: int, n: int, model_dir: Path) -> None:
    """Each runtime's speed, the kernels it runs, and the start-up cold and warm."""
    from bench.runtimes import (
        dashboard_start,
        extractors,
        print_dashboard_start,
        print_speed,
        print_startup,
        speed,
        startup,
    )

    files = _images(max(n, 300) if FASHION.is_dir() else n)
    paths = extractors(files, model_dir)
    ready = np.stack([paths["tensorflow fp32"].prepare(p) for p in files[:n]])
    rates = speed(paths, ready, repeats)
    print_speed(rates, {k: x.kernels for k, x in paths.items()}, n, repeats)
    print_startup(startup(files[0], repeats), repeats)
    print_dashboard_start(dashboard_start(files, repeats), repeats)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 95))


def query(sizes: list[int], queries: int) -> list[dict]:
    from sklearn.neighbors import NearestNeighbors

    from clustering.index import IndexMeta, StyleIndex
    from clustering.recommender import Recommender
    from stylescout.settings import RecommenderConfig

    rows = []
    rng = np.random.default_rng(0)
    for n in sizes:
        x = rng.standard_normal((n, 2048), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        meta = IndexMeta("bench", "bench", None, 0.0, "", ["s"], [[]], "exact")
        index = StyleIndex(
            np.arange(n, dtype=np.int64),
            x,
            np.zeros(n, np.int32),
            x[:1],
            np.zeros((0, 4)),
            np.zeros(2048, np.float32),
            np.ones(2048, np.float32),
            meta,
        )
        exact = Recommender(index, RecommenderConfig())
        qs = x[rng.choice(n, queries, replace=False)] + 0.01 * rng.normal(size=(queries, 2048))
        qs = (qs / np.linalg.norm(qs, axis=1, keepdims=True)).astype(np.float32)
        ours, truth = [], []
        for q in qs:
            start = time.perf_counter()
            truth.append({r.image_id for r in exact.nearest(q, 10)})
            ours.append(time.perf_counter() - start)
        baseline, as_list = [], []
        listed = list(x)  # how the published recipes keep features: a list from a pickle
        for q in qs[: max(3, queries // 10)]:  # the baselines are slow: fewer queries
            start = time.perf_counter()
            NearestNeighbors(n_neighbors=10, algorithm="brute").fit(x).kneighbors(q[None])
            baseline.append(time.perf_counter() - start)
            start = time.perf_counter()
            NearestNeighbors(n_neighbors=10, algorithm="brute").fit(listed).kneighbors(q[None])
            as_list.append(time.perf_counter() - start)
        del listed
        pca = Recommender(index, RecommenderConfig(pca_components=256))
        pca_times, recall = [], []
        for q, want in zip(qs, truth, strict=True):
            start = time.perf_counter()
            got = {r.image_id for r in pca.nearest(q, 10)}
            pca_times.append(time.perf_counter() - start)
            recall.append(len(got & want) / 10)
        p50, p95 = _percentiles(ours)
        b50, b95 = _percentiles(baseline)
        c50, _ = _percentiles(pca_times)
        l50, _ = _percentiles(as_list)
        rows.append(
            {
                "list_refit_p50_ms": l50 * 1e3,
                "list_speedup_p50": l50 / p50,
                "n": n,
                "exact_p50_ms": p50 * 1e3,
                "exact_p95_ms": p95 * 1e3,
                "refit_p50_ms": b50 * 1e3,
                "refit_p95_ms": b95 * 1e3,
                "speedup_p50": b50 / p50,
                "pca256_p50_ms": c50 * 1e3,
                "pca256_recall_at_10": float(np.mean(recall)),
            }
        )
        del x, index, exact, pca
    return rows


def real_index_recall(data_dir: Path, queries: int = 200) -> list[tuple[int, float, float]]:
    """recall@10 and latency of PCA search against exact search on a built index."""
    from clustering.index import load_index
    from clustering.recommender import Recommender
    from stylescout.settings import RecommenderConfig

    index = load_index(data_dir / "index")
    exact = Recommender(index, RecommenderConfig())
    picks = np.random.default_rng(0).choice(
        len(index.ids), min(queries, len(index.ids)), replace=False
    )
    out = []
    for dims in (32, 64, 128, 256):
        pca = Recommender(index, RecommenderConfig(pca_components=dims))
        recall, times = [], []
        for i in picks:
            me = [int(index.ids[i])]
            want = {n.image_id for n in exact.nearest(index.vectors[i], 10, me)}
            start = time.perf_counter()
            got = {n.image_id for n in pca.nearest(index.vectors[i], 10, me)}
            times.append(time.perf_counter() - start)
            recall.append(len(got & want) / 10)
        out.append((dims, float(np.mean(recall)), float(np.median(times)) * 1e3))
    return out


def _cluster_one(n: int) -> dict:
    """Runs in its own process: time and peak memory of clustering n items."""
    from clustering.styles import cluster_styles
    from stylescout.settings import ClusteringConfig

    rng = np.random.default_rng(n)
    centres = rng.standard_normal((40, 2560), dtype=np.float32)
    x = centres[rng.integers(0, 40, n)]
    for start in range(0, n, 10_000):  # float32 throughout: no float64 copy inflates the peak
        x[start : start + 10_000] += 0.8 * rng.standard_normal(
            (min(10_000, n - start), 2560), dtype=np.float32
        )
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    before = peak_rss_mb()
    start = time.perf_counter()
    styles = cluster_styles(x, ClusteringConfig())
    seconds = time.perf_counter() - start
    peak = peak_rss_mb()
    return {
        "n": n,
        "seconds": seconds,
        "peak_rss_mb": peak,
        "input_mb": x.nbytes / 2**20,
        "before_mb": before,
        "path": styles.path,
        "styles": len(styles.centroids),
    }


def clustering(sizes: list[int]) -> list[dict]:
    rows = []
    for n in sizes:
        out = subprocess.run(
            [sys.executable, "-m", "bench.engine", "--cluster-one", str(n)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--part",
        choices=["extraction", "runtimes", "agreement", "query", "clustering", "all"],
        default="all",
        help="all: every part but agreement (which needs --sample)",
    )
    parser.add_argument(
        "--sample",
        default=str(FASHION.parent),
        help="agreement: a labelled folder (images/ and styles.csv, Kaggle layout)",
    )
    parser.add_argument(
        "--pooling", choices=["max", "avg"], default="max", help="agreement: global pooling"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", type=int, default=192)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument(
        "--data-dir",
        default=None,
        help="also measure PCA recall on the index built in this data folder",
    )
    parser.add_argument("--cluster-one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.cluster_one:
        print(json.dumps(_cluster_one(args.cluster_one)))
        return 0
    model_dir = Path(tempfile.mkdtemp(prefix="bench-models-"))  # every conversion measured
    if args.part in ("runtimes", "all"):
        runtimes(args.repeats, args.images, model_dir)
    if args.part == "agreement":
        from bench.runtimes import agreement, print_agreement

        print_agreement(agreement(Path(args.sample), model_dir, args.pooling))
    if args.part in ("extraction", "all"):
        r = extraction(args.repeats, args.images, model_dir)
        print(
            f"extraction, 224 px ResNet50 on {r['path']}, {r['images']} images,"
            f" median of {args.repeats}"
        )
        print(f"  end to end from files   {r['end_to_end']:6.1f} images/s")
        print(
            f"  bare model, ready input {r['bare_model']:6.1f} images/s"
            f"   ours / bare = {r['ratio_to_bare']:.2f}"
        )
        print(
            f"  per-image predict loop  {r['per_image_predict']:6.1f} images/s"
            f"   ours / loop = {r['ratio_to_loop']:.2f}"
        )
    if args.part in ("query", "all"):
        print(f"query, top-10 of random 2048-d unit vectors, {args.queries} queries")
        print(
            "| items | exact p50 / p95 | refit on an array, p50 / p95 | speed-up | "
            "refit on a list (as published), p50 | speed-up | PCA-256 p50 | "
            "PCA-256 recall@10 |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for r in query([10_000, 44_000, 200_000], args.queries):
            print(
                f"| {r['n']:,} | {r['exact_p50_ms']:.1f} / {r['exact_p95_ms']:.1f} ms | "
                f"{r['refit_p50_ms']:.0f} / {r['refit_p95_ms']:.0f} ms | "
                f"{r['speedup_p50']:.1f}x | {r['list_refit_p50_ms']:.0f} ms | "
                f"{r['list_speedup_p50']:.1f}x | {r['pca256_p50_ms']:.1f} ms | "
                f"{r['pca256_recall_at_10']:.2f} |"
            )
        if args.data_dir:
            print(f"PCA mode on the real index in {args.data_dir} (leave-one-out queries)")
            for dims, recall, ms in real_index_recall(Path(args.data_dir)):
                print(f"  PCA-{dims}: recall@10 {recall:.2f}, p50 {ms:.2f} ms")
    if args.part in ("clustering", "all"):
        print("clustering, 2560-d unit vectors around 40 centres")
        print("| items | path | time | peak memory (input) | styles |")
        print("|---|---|---|---|---|")
        for r in clustering([5_000, 20_000, 100_000]):
            print(
                f"| {r['n']:,} | {r['path']} | {r['seconds']:.1f} s | "
                f"{r['peak_rss_mb']:.0f} MB ({r['input_mb']:.0f} MB) | {r['styles']} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
