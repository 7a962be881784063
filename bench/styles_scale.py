"""Styles at a million: `python -m bench.styles_scale [--sizes 200000,1000000]`.

- The two-level path (k-means micro-clusters, then the linkage on their centroids) against the
  exact linkage on the same 20,000 clustered vectors: the adjusted Rand index of their styles;
- time and peak memory of `cluster_styles` on 2,560-d clustered vectors memory-mapped from disk
  (as a build's or an index's vectors are), each size in its own process so the peak is its own,
  with FAISS's k-means and with scikit-learn's mini-batch k-means for the first level.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.timing import peak_rss_mb

REPO = Path(__file__).resolve().parents[1]


def families(folder: Path, n: int, seed: int = 3) -> tuple[Path, np.ndarray]:
    """n unit vectors in 12 families of 4 looks each (what the styles should recover), written
    in chunks to a .npy file; and each row's family."""
    rng = np.random.default_rng(seed)
    family_centres = rng.standard_normal((12, 2560), dtype=np.float32)
    looks = np.repeat(family_centres, 4, axis=0) + 0.6 * rng.standard_normal(
        (48, 2560), dtype=np.float32
    )
    path = folder / "families.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, 2560))
    look = rng.integers(0, 48, n)
    for start in range(0, n, 50_000):
        part = look[start : start + 50_000]
        x = looks[part] + 1.2 * rng.standard_normal((len(part), 2560), dtype=np.float32)
        out[start : start + len(part)] = x / np.linalg.norm(x, axis=1, keepdims=True)
    out.flush()
    return path, look // 4


def agreement(n: int = 20_000) -> tuple[float, float, float]:
    """ARI of the two-level path against the exact one, and of each against the families."""
    from sklearn.metrics import adjusted_rand_score

    from clustering.styles import cluster_styles
    from stylescout.settings import ClusteringConfig

    with tempfile.TemporaryDirectory() as tmp:
        path, truth = families(Path(tmp), n)
        x = np.load(path)
        exact = cluster_styles(x, ClusteringConfig(exact_limit=n))
        two_level = cluster_styles(x, ClusteringConfig(exact_limit=1_000))
    assert exact.path == "exact" and two_level.path == "micro-clusters"
    return (
        float(adjusted_rand_score(exact.labels, two_level.labels)),
        float(adjusted_rand_score(truth, exact.labels)),
        float(adjusted_rand_score(truth, two_level.labels)),
    )


def _one(path: str, first_level: str) -> dict:
    """Runs in its own process: cluster the memory-mapped vectors."""
    if first_level == "sklearn":
        sys.modules["faiss"] = None  # type: ignore[assignment]  # as if it were not installed
    from clustering.styles import cluster_styles
    from stylescout.settings import ClusteringConfig

    x = np.load(path, mmap_mode="r")
    before = peak_rss_mb()
    started = time.perf_counter()
    styles = cluster_styles(x, ClusteringConfig())
    return {
        "n": len(x),
        "first_level": first_level,
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
        "before_mb": before,
        "styles": len(styles.centroids),
        "path": styles.path,
    }


def run_one(path: Path, first_level: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.styles_scale", "--one", str(path), first_level],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200000,1000000")
    parser.add_argument("--first-levels", default="faiss,sklearn")
    parser.add_argument("--one", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_one(*args.one)))
        return 0
    both, exact, two_level = agreement()
    print(
        f"20,000 x 2,560 in 12 families: ARI two-level vs exact {both:.3f}; against the families"
        f" exact {exact:.3f}, two-level {two_level:.3f}"
    )
    for n in (int(s) for s in args.sizes.split(",") if s):
        with tempfile.TemporaryDirectory(prefix="bench-styles-") as tmp:
            path, _ = families(Path(tmp), n, seed=4)
            input_mb = n * 2560 * 4 / 2**20
            for level in args.first_levels.split(","):
                r = run_one(path, level)
                print(
                    f"{n:,} x 2,560 ({input_mb:,.0f} MB memory-mapped), first level {level}: "
                    f"{r['seconds']:.0f} s, peak RSS {r['peak_rss_mb']:,.0f} MB, "
                    f"{r['styles']} styles ({r['path']})"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
