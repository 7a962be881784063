"""Extraction on Ray Data against the local path: `python -m bench.ray_extract [--images 192]`.

The same images (fashion-small-dev when present, else demo-feed images) are imported into three
fresh stores, and their ResNet50 features (224 px, random weights, batch 32) are extracted by the
local path, then on a Ray started here with 1 and with 2 actors. Images/s of the whole call
(Ray's start and each actor's model build included) and the vectors' agreement with the local
ones.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.engine import _images


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=192)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from clustering.build import extract_missing
    from clustering.features import FeatureExtractor
    from clustering.ray_extract import extract_missing_ray
    from store import ImageMeta, Store
    from stylescout.settings import FeaturesConfig

    cfg = FeaturesConfig(weights="none", input_size=224, batch_size=32, ray_cpus=2)
    extractor = FeatureExtractor(cfg)
    files = _images(args.images)
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        stores = {}
        for name in ("local", "ray-1", "ray-2"):
            store = Store(Path(tmp) / name)
            for path in files:
                store.images.add_image_bytes(
                    path.read_bytes(), ImageMeta(60, 80, "JPEG", "bench"), ["bench"]
                )
            stores[name] = store
        started = time.perf_counter()
        extract_missing(stores["local"], extractor)
        rates = {"local": len(files) / (time.perf_counter() - started)}
        for actors in (1, 2):
            name = f"ray-{actors}"
            ray_cfg = cfg.model_copy(update={"engine": "ray", "ray_actors": actors})
            started = time.perf_counter()
            extract_missing_ray(stores[name], ray_cfg, extractor.key)
            rates[name] = len(files) / (time.perf_counter() - started)
        _, base = stores["local"].features.load_features(extractor.key)
        print(f"{len(files)} images, ResNet50 224 px, random weights, batch 32, 2 cores")
        for name, rate in rates.items():
            _, vectors = stores[name].features.load_features(extractor.key)
            cosine = np.sum(vectors * base, axis=1) / (
                np.linalg.norm(vectors, axis=1) * np.linalg.norm(base, axis=1)
            )
            print(
                f"  {name:<8} {rate:6.1f} images/s  ({rate / rates['local']:.2f}x local)"
                f"  min cosine to local {cosine.min():.6f}"
            )
        for store in stores.values():
            store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
