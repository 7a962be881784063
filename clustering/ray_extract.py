"""Feature extraction on Ray Data: the same extractor in an actor pool, shard by shard.

The images still without features are read as a Ray dataset, `map_batches` runs a callable class
whose model is loaded once per actor, and the driver writes each shard's vectors (and the images
that could not be read) to the store as the results stream back. Writes replace, so a shard
written twice is harmless; and a killed run leaves every finished shard in the store, so the next
run asks only for the rest. Each actor extracts exactly as the local path does (the same
`FeatureExtractor.extract`, same batch shape), so the vectors agree with the local ones up to
float round-off.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from store import Store
from store.files import ImageFolder, StoredFile
from stylescout.errors import SCALE_HINT, StyleScoutError
from stylescout.settings import FeaturesConfig

log = logging.getLogger(__name__)

INSTALL_HINT = f"--engine ray needs Ray Data: {SCALE_HINT}"
REPO = Path(__file__).resolve().parents[1]
Progress = Callable[[str, int, int], None]


class _Embed:
    """One Ray actor: a model built once, then batches of images to vectors (or failures).
    Files travel as text and are opened through the store's image folder (local or remote)."""

    def __init__(
        self,
        cfg: FeaturesConfig,
        folder: ImageFolder,
        model_key: str,
        model_files: Any,
    ) -> None:
        """`model_files`: the driver's (XML, weights), or a Ray reference to them, or None."""
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        from clustering.calibration import KnownModel
        from clustering.features import FeatureExtractor

        if model_files is not None:  # OpenVINO: the driver's converted model, on any machine
            import ray

            if isinstance(model_files, ray.ObjectRef):  # Ray Data hands constructor args as put
                model_files = ray.get(model_files)
            FeatureExtractor.install_model(cfg, model_key, model_files)
        self.extractor = FeatureExtractor(cfg, calibration=KnownModel(model_key))
        if self.extractor.key != model_key:
            raise StyleScoutError(f"a Ray actor made {self.extractor.key}, not {model_key}")
        self.folder = folder

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ids = [int(i) for i in batch["image_id"]]
        result = self.extractor.extract([self.folder.open_file(str(p)) for p in batch["path"]])
        vectors = np.zeros((len(ids), self.extractor.dim), np.float32)
        vectors[result.ok] = result.vectors
        ok = np.zeros(len(ids), bool)
        ok[result.ok] = True
        failures = np.array([result.failures.get(i, "") for i in range(len(ids))], dtype=object)
        return {
            "image_id": np.array(ids, np.int64),
            "ok": ok,
            "vector": vectors,
            "failure": failures,
        }


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise StyleScoutError(INSTALL_HINT) from None
    return ray


def start_ray(cfg: FeaturesConfig) -> tuple[Any, bool]:
    """Join the configured cluster, or start one on this machine (loopback only); the module
    and whether this call started it (then the caller shuts it down)."""
    ray = _ray()
    if ray.is_initialized():
        return ray, False
    env = {"PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    common = {"log_to_driver": False, "logging_level": logging.WARNING}
    if cfg.ray_address:  # a cluster's own settings stand, its workers' priority included
        ray.init(address=cfg.ray_address, runtime_env={"env_vars": env}, **common)
    else:
        # Ray runs its workers at niceness 15; on this machine they do the build a person
        # asked for, and at 15 anything else running starves them (actors took minutes to
        # start, then a 25-image shard did not finish in 5 minutes with both cores busy)
        local = {**env, "RAY_worker_niceness": "0"}
        ray.init(
            runtime_env={"env_vars": local},
            num_cpus=cfg.ray_cpus or os.cpu_count() or 1,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            **common,
        )
    ray.data.DataContext.get_current().enable_progress_bars = False
    return ray, True


def extract_missing_ray(
    store: Store,
    cfg: FeaturesConfig,
    model_key: str,
    progress: Progress | None = None,
    model_files: Callable[[], tuple[bytes, bytes] | None] | None = None,
) -> tuple[int, int, float]:
    """Features for stored images that have none for `model_key`, on Ray; (extracted, failed,
    seconds). Shards are written as they come back. `model_files`: gives the converted OpenVINO
    model every actor runs (`FeatureExtractor.model_files`), asked only when there is work, so no
    actor converts or calibrates."""
    todo = store.features.images_without_features(model_key)
    started = time.perf_counter()
    if not todo:
        return 0, 0, 0.0
    ray, started_here = start_ray(cfg)
    try:
        files = model_files() if model_files else None
        done, failed = _run(ray, store, cfg, (model_key, files), todo, progress)
    finally:
        if started_here:
            ray.shutdown()
    return done - failed, failed, time.perf_counter() - started


def _run(
    ray: Any,
    store: Store,
    cfg: FeaturesConfig,
    model: tuple[str, tuple[bytes, bytes] | None],
    todo: list[tuple[int, StoredFile]],
    progress: Progress | None,
) -> tuple[int, int]:
    """Stream the shards through the actor pool, writing each as it comes back."""
    model_key, files = model
    items = [{"image_id": image_id, "path": str(path)} for image_id, path in todo]
    shard = cfg.batch_size * 8
    blocks = max(1, min(len(items) // cfg.batch_size, max(cfg.ray_actors, len(items) // shard)))
    shipped = None if files is None else ray.put(files)  # one copy in the object store
    vectors = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
        _Embed,
        fn_constructor_args=(cfg, store.files, model_key, shipped),
        batch_size=cfg.batch_size,
        compute=ray.data.ActorPoolStrategy(size=min(cfg.ray_actors, blocks)),  # each gets work
        num_cpus=1,
    )
    done = failed = 0
    for batch in vectors.iter_batches(batch_size=shard, batch_format="numpy"):
        ids = batch["image_id"].astype(np.int64)
        why = batch["failure"]
        ok = batch["ok"].astype(bool)
        if ok.any():
            store.features.save_features(model_key, ids[ok], batch["vector"][ok])
        if (~ok).any():
            failures = {int(i): str(w) for i, w in zip(ids[~ok], why[~ok], strict=True)}
            store.features.save_feature_failures(model_key, failures)
            for image_id, reason in failures.items():
                log.warning("skipped image %d: %s", image_id, reason)
        done += len(ids)
        failed += int((~ok).sum())
        if progress:
            progress("features", done, len(todo))
    return done, failed
