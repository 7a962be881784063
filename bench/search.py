"""Search at scale: `python -m bench.search [--sizes 200000,1000000] [--data-dir DATA]`.

For each size, clustered synthetic unit vectors of the real descriptor size (2,560) are written
as a style index the way a build writes one (`save_index`, with `search.engine: faiss`), so the
FAISS index, its build time and its recall@10 against exact search come from the product's own
code. Then two fresh processes load that index as the dashboard does (`load_index` +
`Recommender`) and answer the same queries: today's exact numpy search and the FAISS search. Each
reports p50/p95 latency and its own peak resident memory. With `--data-dir`, the same on a real
built index (its vectors; FAISS forced on).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.timing import peak_rss_mb

REPO = Path(__file__).resolve().parents[1]
DIMS = 2560


def synthetic(folder: Path, n: int, d: int = DIMS, groups: int = 2000, seed: int = 0) -> Path:
    """n clustered unit vectors in a .npy file, written in chunks (never all in memory)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((groups, d), dtype=np.float32)
    path = folder / "synthetic.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    for start in range(0, n, 50_000):
        m = min(50_000, n - start)
        x = centres[rng.integers(0, groups, m)]
        x += 0.9 * rng.standard_normal((m, d), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[start : start + m] = x
    out.flush()
    del out
    return path


def write_index(vectors_path: Path, index_dir: Path, search: dict) -> dict:
    """Save the vectors as a style index through `save_index`, FAISS built as configured."""
    from clustering.index import IndexMeta, StyleIndex, save_index
    from stylescout.settings import SearchConfig

    vectors = np.load(vectors_path, mmap_mode="r")
    n, d = vectors.shape
    index = StyleIndex(
        ids=np.arange(1, n + 1, dtype=np.int64),
        vectors=vectors,
        labels=np.zeros(n, np.int32),
        centroids=np.asarray(vectors[:1], dtype=np.float32),
        linkage=np.zeros((0, 4)),
        mean=np.zeros(d, np.float32),
        std=np.ones(d, np.float32),
        meta=IndexMeta("bench", "bench", None, 0.0, "", ["all"], [[1]], "exact"),
    )
    started = time.perf_counter()
    _, meta = save_index(index, index_dir, SearchConfig(**search))
    return {
        "save_s": time.perf_counter() - started,
        "search": meta.search,
        "recall": meta.search_recall,
    }


def _serve_one(index_dir: str, engine: str, queries: int) -> dict:
    """Runs in its own process: load the index as the dashboard does and answer queries."""
    from clustering.index import load_index
    from clustering.recommender import Recommender
    from stylescout.settings import RecommenderConfig, SearchConfig

    started = time.perf_counter()
    index = load_index(Path(index_dir))
    recommender = Recommender(index, RecommenderConfig(), SearchConfig(engine=engine))
    load_s = time.perf_counter() - started
    rng = np.random.default_rng(1)
    picks = rng.permutation(len(index.ids))[:queries]  # the same first queries in every run
    times, answers = [], []
    for p in picks:
        query = np.asarray(index.vectors[p], dtype=np.float32)
        start = time.perf_counter()
        got = recommender.nearest(query, 10, exclude=[int(index.ids[p])])
        times.append(time.perf_counter() - start)
        answers.append([n.image_id for n in got])
    return {
        "engine": recommender.search_description,
        "load_s": load_s,
        "p50_ms": 1e3 * statistics.median(times),
        "p95_ms": 1e3 * float(np.percentile(times, 95)),
        "peak_rss_mb": peak_rss_mb(),
        "answers": answers,
    }


def serve(index_dir: Path, engine: str, queries: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.search", "--serve-one", str(index_dir), engine, str(queries)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(index_dir: Path, queries: int, exact_queries: int) -> tuple[dict, dict, float]:
    exact = serve(index_dir, "numpy", exact_queries)
    fast = serve(index_dir, "auto", queries)
    common = min(len(exact["answers"]), len(fast["answers"]))
    recall = statistics.mean(
        len(set(a) & set(b)) / 10
        for a, b in zip(exact["answers"][:common], fast["answers"][:common], strict=True)
    )
    return exact, fast, recall


def report(label: str, built: dict, exact: dict, fast: dict, recall: float) -> None:
    print(f"\n{label}: {built['search']}; written in {built['save_s']:.0f} s")
    print(f"  build's recall@10 {built['recall']}, served recall@10 vs exact {recall:.3f}")
    for row in (exact, fast):
        print(
            f"  {row['engine']:<36} load {row['load_s']:6.1f} s   p50 {row['p50_ms']:8.2f} ms"
            f"   p95 {row['p95_ms']:8.2f} ms   peak RSS {row['peak_rss_mb']:8.0f} MB"
        )
    print(f"  speed-up p50 {exact['p50_ms'] / fast['p50_ms']:.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--exact-queries", type=int, default=30)
    parser.add_argument("--data-dir", default=None, help="also a real built index")
    parser.add_argument("--serve-one", nargs=3, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_one:
        folder, engine, queries = args.serve_one
        print(json.dumps(_serve_one(folder, engine, int(queries))))
        return 0
    search = {"engine": "faiss", "exact_up_to": 0}
    for n in (int(s) for s in args.sizes.split(",") if s):
        with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
            started = time.perf_counter()
            path = synthetic(Path(tmp), n)
            seconds = time.perf_counter() - started
            print(f"\n{n:,} synthetic vectors of {DIMS} written in {seconds:.0f} s")
            built = write_index(path, Path(tmp) / "index", search)
            path.unlink()
            exact, fast, recall = compare(Path(tmp) / "index", args.queries, args.exact_queries)
            report(f"{n:,} x {DIMS}", built, exact, fast, recall)
    if args.data_dir:
        from clustering.index import load_index

        real = load_index(Path(args.data_dir) / "index")
        with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
            path = Path(tmp) / "real.npy"
            np.save(path, np.asarray(real.vectors, dtype=np.float32))
            n = len(real.ids)
            small = {"engine": "faiss", "exact_up_to": 0, "recall_queries": min(200, n)}
            built = write_index(path, Path(tmp) / "index", small)
            exact, fast, recall = compare(Path(tmp) / "index", min(args.queries, n), min(200, n))
            report(f"real index {n:,} x {real.vectors.shape[1]}", built, exact, fast, recall)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
