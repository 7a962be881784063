"""The backbone's runtimes compared on this CPU (`python -m bench.engine --part runtimes`).

- speed: 224 px ResNet50 images/s on ready batches of 32 for TensorFlow fp32, OpenVINO fp32 and
  OpenVINO int8 (calibrated on 300 photos), interleaved repeats, medians; each ratio is against
  TensorFlow fp32 measured in the same run;
- start-up: a fresh process from its start to its first vector, cold (nothing converted yet:
  TensorFlow import, Keras build, conversion) and warm (the converted model on disk);
- instruction sets: the CPU's flags, what OpenVINO's CPU plugin says it computes fast, and the
  kernels each compiled model really runs (e.g. `brgconv_avx2_f32`, `jit_avx512_core_amx_I8`);
- agreement: on a labelled folder (fashion-small-dev), the cosine of each fast-path vector with
  the TensorFlow fp32 one, and P@10 per label column for both, raw and standardised as the index
  standardises them.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PATHS = {"tensorflow fp32": ("tensorflow", "fp32"), "openvino fp32": ("openvino", "fp32")}
PATHS_INT8 = {"openvino int8": ("openvino", "int8")}
FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


class FolderCalibration:
    """`features.Calibration` on a list of image files (the bench has no store)."""

    def __init__(self, files: Sequence[Path]) -> None:
        self.files = list(files)

    def pinned(self, prefix: str) -> str | None:
        return None

    def sample(self, n: int) -> tuple[list[Any], list[str]]:
        chosen = self.files[:n]
        return chosen, [p.name for p in chosen]


def _config(runtime: str, precision: str, model_dir: Path, size: int, pooling: str) -> Any:
    from stylescout.settings import FeaturesConfig

    return FeaturesConfig(
        weights="none",
        input_size=size,
        batch_size=32,
        pooling=pooling,
        runtime=runtime,
        precision=precision,
        model_dir=model_dir,
    )


def cpu_flags() -> list[str]:
    """The instruction sets of FLAGS this CPU has."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    have = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            have = set(line.split(":", 1)[1].split())
            break
    return [f for f in FLAGS if f in have]


def extractors(
    images: Sequence[Path], model_dir: Path, size: int = 224, pooling: str = "max"
) -> dict[str, Any]:
    """Each path's extractor, converted (and calibrated) now, outside any timing."""
    from clustering.features import FeatureExtractor

    out = {}
    calibration = FolderCalibration(images[:300])
    for name, (runtime, precision) in {**PATHS, **PATHS_INT8}.items():
        cfg = _config(runtime, precision, model_dir, size, pooling)
        extractor = FeatureExtractor(cfg, calibration=calibration)
        extractor.warm()
        out[name] = extractor
    return out


def speed(paths: dict[str, Any], ready: np.ndarray, repeats: int) -> dict[str, float]:
    """Median images/s of each path on ready batches of 32, the paths interleaved per repeat so
    that a noisy neighbour hits them alike."""
    times: dict[str, list[float]] = {name: [] for name in paths}
    for extractor in paths.values():
        extractor.run_batch(ready[:32])  # first call: tracing, memory pools
    for _ in range(repeats):
        for name, extractor in paths.items():
            started = time.perf_counter()
            for s in range(0, len(ready), 32):
                extractor.run_batch(ready[s : s + 32])
            times[name].append(len(ready) / (time.perf_counter() - started))
    return {name: statistics.median(rates) for name, rates in times.items()}


def _first_vector(runtime: str, precision: str, model_dir: Path, image: Path) -> dict:
    """Runs in a fresh process: seconds from the interpreter's start to the first vector."""
    script = (
        "import json, sys, time\n"
        "from clustering.features import FeatureExtractor\n"
        "from bench.runtimes import FolderCalibration, _config\n"
        "from pathlib import Path\n"
        f"cfg = _config({runtime!r}, {precision!r}, Path({str(model_dir)!r}), 224, 'max')\n"
        f"x = FeatureExtractor(cfg, calibration=FolderCalibration([Path({str(image)!r})]))\n"
        f"x.extract([Path({str(image)!r})])\n"
        "print(json.dumps({'tensorflow': 'tensorflow' in sys.modules}))\n"
    )
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    seconds = time.perf_counter() - started
    return {"seconds": seconds, **json.loads(out.stdout.strip().splitlines()[-1])}


def startup(image: Path, repeats: int) -> dict[str, dict]:
    """Fresh-process start to first vector: TensorFlow, OpenVINO cold (an empty model folder)
    and OpenVINO warm (the model converted by the cold run), medians of `repeats`."""
    rows: dict[str, list[dict]] = {"tensorflow": [], "openvino cold": [], "openvino warm": []}
    for _ in range(repeats):
        folder = Path(tempfile.mkdtemp(prefix="bench-models-"))
        rows["tensorflow"].append(_first_vector("tensorflow", "fp32", folder, image))
        rows["openvino cold"].append(_first_vector("openvino", "fp32", folder, image))
        rows["openvino warm"].append(_first_vector("openvino", "fp32", folder, image))
    return {
        name: {
            "seconds": statistics.median(r["seconds"] for r in runs),
            "tensorflow_imported": any(r["tensorflow"] for r in runs),
        }
        for name, runs in rows.items()
    }


def labels_of(folder: Path, files: Sequence[Path]) -> dict[str, np.ndarray]:
    """Every label column of `styles.csv` (Kaggle layout), one value per image file."""
    with (folder / "styles.csv").open(newline="", encoding="utf-8") as handle:
        rows = {r["id"]: r for r in csv.DictReader(handle)}
    columns = [c for c in next(iter(rows.values())) if c not in ("id", "year")]
    return {c: np.array([rows[p.stem].get(c, "") for p in files]) for c in columns}


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two (n, d) arrays."""
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return (a * b).sum(1) / np.maximum(norms, 1e-12)


def agreement(
    folder: Path, model_dir: Path, pooling: str = "max", size: int = 224
) -> dict[str, Any]:
    """Each fast path against TensorFlow fp32 on the labelled folder's photos."""
    from clustering.descriptors import standardisation
    from clustering.evaluate import precision_at_k

    files = sorted((folder / "images").glob("*.jpg"))
    labels = labels_of(folder, files)
    paths = extractors(files, model_dir, size, pooling)
    vectors = {name: x.extract(files).vectors for name, x in paths.items()}
    ref = vectors["tensorflow fp32"]
    ref_mean, ref_std = standardisation(ref, True)
    ref_z = (ref - ref_mean) / ref_std
    out: dict[str, Any] = {"images": len(files), "pooling": pooling, "paths": {}}
    for name, v in vectors.items():
        cos = _cosines(v, ref)
        mean, std = standardisation(v, True)
        z = (v - mean) / std
        cos_z = _cosines(z, ref_z)  # as the index compares them: raw cosines near 1 say little
        out["paths"][name] = {
            "cosine_min": float(cos.min()),
            "cosine_p5": float(np.percentile(cos, 5)),
            "cosine_median": float(np.median(cos)),
            "z_cosine_p5": float(np.percentile(cos_z, 5)),
            "z_cosine_median": float(np.median(cos_z)),
            "p10_raw": {c: precision_at_k(v, y) for c, y in labels.items()},
            "p10_z": {c: precision_at_k(z, y) for c, y in labels.items()},
        }
    return out


def print_speed(
    rates: dict[str, float], kernels: dict[str, dict], images: int, repeats: int
) -> None:
    base = rates["tensorflow fp32"]
    print(f"runtimes, 224 px ResNet50, {images} ready images in batches of 32, median of {repeats}")
    print(f"  CPU flags: {', '.join(cpu_flags()) or 'none of ' + ', '.join(FLAGS)}")
    from clustering.openvino_model import capabilities

    print(f"  OpenVINO CPU capabilities: {', '.join(capabilities())}")
    print("| path | images/s | vs TensorFlow fp32 | kernels (layers) |")
    print("|---|---|---|---|")
    for name, rate in rates.items():
        used = ", ".join(f"{k} ({n})" for k, n in _top(kernels.get(name, {})))
        print(f"| {name} | {rate:.1f} | {rate / base:.2f}x | {used or 'oneDNN via TensorFlow'} |")


def _top(counts: dict[str, int], n: int = 3) -> list[tuple[str, int]]:
    """The n kernels that run the most layers."""
    return sorted(counts.items(), key=lambda kv: -kv[1])[:n]


def print_startup(rows: dict[str, dict], repeats: int) -> None:
    print(f"start-up, a fresh process to its first vector, median of {repeats}")
    for name, r in rows.items():
        tf = "imports TensorFlow" if r["tensorflow_imported"] else "no TensorFlow"
        print(f"  {name:14s} {r['seconds']:5.1f} s  ({tf})")


def print_agreement(result: dict[str, Any]) -> None:
    print(
        f"agreement with TensorFlow fp32 on {result['images']} labelled photos,"
        f" {result['pooling']} pooling"
    )
    ref = result["paths"]["tensorflow fp32"]
    columns = list(ref["p10_raw"])
    print(
        "| path | cosine min / 5th pct / median | standardised: 5th pct / median | "
        + " | ".join(columns)
        + " |"
    )
    print("|---|---|---|" + "---|" * len(columns))
    for name, r in result["paths"].items():
        cells = []
        for c in columns:
            if name == "tensorflow fp32":
                cells.append(f"{r['p10_raw'][c]:.3f} / {r['p10_z'][c]:.3f}")
            else:
                d_raw = r["p10_raw"][c] - ref["p10_raw"][c]
                d_z = r["p10_z"][c] - ref["p10_z"][c]
                cells.append(f"{d_raw:+.4f} / {d_z:+.4f}")
        cos = f"{r['cosine_min']:.4f} / {r['cosine_p5']:.4f} / {r['cosine_median']:.4f}"
        cos_z = f"{r['z_cosine_p5']:.4f} / {r['z_cosine_median']:.4f}"
        print(f"| {name} | {cos} | {cos_z} | " + " | ".join(cells) + " |")
    print("  (TensorFlow: P@10 raw / standardised; the others: the change from it)")


def dashboard_start(images: Sequence[Path], repeats: int) -> dict[str, float]:
    """A build started from the dashboard's Scrape page (`dash_app.jobs.run_build`, a spawned
    process) on a store that gained 8 images: seconds from the request to those images'
    features, cold (the model converted in that build) and warm (the next builds), medians."""
    import threading

    from dash_app.jobs import run_build
    from store import ImageMeta, Store
    from stylescout.loader import parse_config

    folder = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    raw = {
        "data_dir": str(folder / "data"),
        "features": {"weights": "none", "model_dir": str(folder / "models"), "space": "raw"},
    }
    config = parse_config(raw, "bench", folder)
    pending = list(images)

    def add(n: int) -> None:
        with Store.from_config(config) as store:
            for path in pending[:n]:
                store.images.add_image_bytes(
                    path.read_bytes(), ImageMeta(60, 80, "JPEG", "bench"), ["bench"]
                )
        del pending[:n]

    def one() -> float:
        add(8)
        started = time.perf_counter()
        first: list[float] = []

        def seen(stage: str, done: int, total: int) -> None:
            if stage == "features" and done and not first:
                first.append(time.perf_counter() - started)

        run_build(config, seen, threading.Event())
        return first[0]

    add(40)
    cold = one()
    warm = [one() for _ in range(repeats)]
    return {"cold": cold, "warm": statistics.median(warm)}


def print_dashboard_start(times: dict[str, float], repeats: int) -> None:
    print("a build started from the dashboard (spawned), request to the new images' features")
    print(f"  cold (converts)  {times['cold']:5.1f} s")
    print(f"  warm             {times['warm']:5.1f} s  (median of {repeats})")
