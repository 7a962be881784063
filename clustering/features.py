"""Image features from a Keras backbone (`include_top=False`, global pooling), batched.

TensorFlow is imported when a FeatureExtractor is built, never when this package is imported.
Decoding and resizing run in background threads while the model works on the previous batch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from clustering.images import fit, load_rgb
from clustering.weights import imagenet_file
from store.config import FeaturesConfig
from store.errors import StyleScoutError

log = logging.getLogger(__name__)

# backbone -> (keras.applications module, constructor, smallest input side)
BACKBONES = {
    "resnet50": ("resnet50", "ResNet50", 32),
    "resnet101": ("resnet", "ResNet101", 32),
    "densenet121": ("densenet", "DenseNet121", 32),
    "inception_v3": ("inception_v3", "InceptionV3", 75),
}
RANDOM_WEIGHTS_NOTE = (
    "ImageNet weights could not be loaded: the index uses the same architecture with RANDOM "
    "weights (fixed seed). Set features.weights to a local .h5 file for real features."
)


class FeatureError(StyleScoutError):
    """The backbone or its weights cannot be loaded."""


@dataclass
class Extraction:
    """Vectors for the images that could be read, and why the others could not."""

    vectors: np.ndarray  # float32 (m, d)
    ok: list[int] = field(default_factory=list)  # indices into the input paths
    failures: dict[int, str] = field(default_factory=dict)


def _file_identity(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return f"file{digest.hexdigest()[:12]}"


def _reinitialise(model: object, seed: int) -> None:
    """Give every randomly initialised weight a value drawn from its own initialiser, seeded
    from `seed` and the weight's position: the same weights in every process, without reseeding
    the global random generators (Python, NumPy, TensorFlow) as `keras.utils.set_random_seed`
    would."""
    n = 0
    for layer in model.layers:
        for attr in ("kernel", "depthwise_kernel", "pointwise_kernel", "bias", "gamma", "beta"):
            weight = getattr(layer, attr, None)
            init = getattr(layer, f"{attr}_initializer", None)
            if weight is None or init is None:
                continue
            n += 1
            config = init.get_config()
            if (
                "seed" in config
            ):  # random initialisers; constant ones (zeros, ones) stay as they are
                config["seed"] = (seed * 1_000_003 + n) % 2**31
                fresh = type(init).from_config(config)
                weight.assign(fresh(tuple(weight.shape), dtype=weight.dtype))


class FeatureExtractor:
    """A backbone with its preprocessing. `key` names backbone, weights, input size and pooling."""

    def __init__(self, cfg: FeaturesConfig) -> None:
        if cfg.backbone not in BACKBONES:
            raise FeatureError(f"unknown backbone {cfg.backbone!r}; known: {', '.join(BACKBONES)}")
        module_name, constructor, smallest = BACKBONES[cfg.backbone]
        if cfg.input_size < smallest:
            raise FeatureError(f"{cfg.backbone} needs an input size of at least {smallest}")
        self.cfg = cfg
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import importlib

        import keras

        apps = importlib.import_module(f"keras.applications.{module_name}")
        self._preprocess = apps.preprocess_input
        build = getattr(apps, constructor)
        shape = (cfg.input_size, cfg.input_size, 3)
        self.weights_note = ""

        def make(weights: str | None) -> keras.Model:
            return build(include_top=False, weights=weights, input_shape=shape, pooling=cfg.pooling)

        def random_model() -> keras.Model:
            # Keras draws default seeds for unseeded initialisers from Python's generator while
            # it builds; the caller's sequence is put back, and the weights are then drawn from
            # seeds of their own
            state = random.getstate()
            try:
                model = make(None)
            finally:
                random.setstate(state)
            _reinitialise(model, cfg.seed)
            return model

        choice = cfg.weights.strip()
        if choice.lower() == "none":
            self.model, identity = random_model(), f"random{cfg.seed}v2"
            self.weights_note = RANDOM_WEIGHTS_NOTE.replace("could not be loaded", "are off")
        elif choice.lower() in ("imagenet", "auto"):
            try:
                self.model, identity = make(str(imagenet_file(cfg.backbone))), "imagenet"
            except Exception as exc:  # offline, blocked, corrupt download: all mean the same
                if choice.lower() == "imagenet":
                    raise FeatureError(
                        f"cannot load ImageNet weights for {cfg.backbone} ({type(exc).__name__}):"
                        " download the *_notop.h5 file and set features.weights to its path"
                    ) from None
                log.info(RANDOM_WEIGHTS_NOTE)  # callers show it: CLI line, index, banner
                self.model, identity = random_model(), f"random{cfg.seed}v2"
                self.weights_note = RANDOM_WEIGHTS_NOTE
        else:
            path = Path(choice).expanduser()
            if not path.is_file():
                raise FeatureError(f"features.weights: no such file {path}")
            try:
                self.model = make(str(path))
            except (ValueError, OSError) as exc:
                raise FeatureError(
                    f"features.weights: {path} does not fit {cfg.backbone}: "
                    f"{str(exc).splitlines()[0][:200]}"
                ) from None
            identity = _file_identity(path)
        self.weights_identity = identity
        self.dim = int(self.model.output_shape[-1])
        layout = "pad" if cfg.pad else "squash"
        self.key = f"{cfg.backbone}-{identity}-{cfg.input_size}{layout}-{cfg.pooling}"

    @property
    def uses_random_weights(self) -> bool:
        return self.weights_identity.startswith("random")

    def prepare(self, path: Path | str) -> np.ndarray:
        """One image as the model's uint8 input."""
        return fit(load_rgb(path), self.cfg.input_size, self.cfg.pad, self.cfg.pad_colour)

    def run_batch(self, batch: np.ndarray) -> np.ndarray:
        """The model on a ready (b, s, s, 3) uint8/float batch."""
        x = self._preprocess(batch.astype(np.float32))
        return np.asarray(self.model.predict_on_batch(x), dtype=np.float32)

    def _batches(
        self, paths: Sequence[Path | str]
    ) -> Iterator[tuple[list[int], np.ndarray, dict[int, str]]]:
        """Decoded batches, made two ahead by background threads."""
        size = self.cfg.batch_size
        out: queue.Queue = queue.Queue(maxsize=2)
        stop = threading.Event()

        def load(index: int) -> tuple[int, np.ndarray | None, str]:
            try:
                return index, self.prepare(paths[index]), ""
            except Exception as exc:  # any unreadable file is reported, never fatal
                return index, None, f"{type(exc).__name__}: {exc}"[:300]

        def produce() -> None:
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="decode") as pool:
                for start in range(0, len(paths), size):
                    if stop.is_set():
                        break
                    results = list(pool.map(load, range(start, min(start + size, len(paths)))))
                    ok = [i for i, arr, _ in results if arr is not None]
                    failures = {i: err for i, arr, err in results if arr is None}
                    arrays = [arr for _, arr, _ in results if arr is not None]
                    out.put((ok, np.stack(arrays) if arrays else None, failures))
            out.put(None)

        thread = threading.Thread(target=produce, name="decode-batches", daemon=True)
        thread.start()
        try:
            while (item := out.get()) is not None:
                yield item
        finally:
            stop.set()
            while thread.is_alive():  # drain so the producer can finish
                try:
                    out.get(timeout=0.1)
                except queue.Empty:
                    continue

    def extract(
        self, paths: Sequence[Path | str], progress: Callable[[int], None] | None = None
    ) -> Extraction:
        """Features for every readable image, in input order."""
        vectors, ok, failures = [], [], {}
        size = self.cfg.batch_size
        for batch_ok, batch, batch_failures in self._batches(paths):
            failures.update(batch_failures)
            if batch is not None:
                n = len(batch)
                if n < size:  # keep one batch shape: no re-tracing for the last batch
                    batch = np.concatenate([batch, np.repeat(batch[-1:], size - n, axis=0)])
                vectors.append(self.run_batch(batch)[:n])
                ok.extend(batch_ok)
            if progress:
                progress(len(batch_ok) + len(batch_failures))
        matrix = np.concatenate(vectors) if vectors else np.zeros((0, self.dim), np.float32)
        return Extraction(matrix, ok, failures)
