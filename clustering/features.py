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
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from clustering.images import fit, load_rgb
from clustering.weights import imagenet_file
from stylescout.errors import ConfigError, StyleScoutError
from stylescout.settings import FeaturesConfig

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


@dataclass
class _Built:
    """A built backbone and what its weights are."""

    model: Any
    preprocess: Callable[[np.ndarray], np.ndarray]
    identity: str
    note: str
    lock: threading.Lock = field(default_factory=threading.Lock)


def _build_model(cfg: FeaturesConfig) -> _Built:
    """Build the backbone `cfg` names (imports TensorFlow)."""
    module_name, constructor, _ = BACKBONES[cfg.backbone]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import importlib

    import keras

    apps = importlib.import_module(f"keras.applications.{module_name}")
    build = getattr(apps, constructor)
    shape = (cfg.input_size, cfg.input_size, 3)

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

    choice, note = cfg.weights.strip(), ""
    if choice.lower() == "none":
        model, identity = random_model(), f"random{cfg.seed}v2"
        note = RANDOM_WEIGHTS_NOTE.replace("could not be loaded", "are off")
    elif choice.lower() in ("imagenet", "auto"):
        try:
            model, identity = make(str(imagenet_file(cfg.backbone))), "imagenet"
        except Exception as exc:  # offline, blocked, corrupt download: all mean the same
            if choice.lower() == "imagenet":
                raise FeatureError(
                    f"cannot load ImageNet weights for {cfg.backbone} ({type(exc).__name__}):"
                    " download the *_notop.h5 file and set features.weights to its path"
                ) from None
            log.info(RANDOM_WEIGHTS_NOTE)  # callers show it: CLI line, index, banner
            model, identity = random_model(), f"random{cfg.seed}v2"
            note = RANDOM_WEIGHTS_NOTE
    else:
        path = Path(choice).expanduser()
        if not path.is_file():
            raise ConfigError(f"features.weights: no such file {path}")
        try:
            model = make(str(path))
        except (ValueError, OSError) as exc:
            raise FeatureError(
                f"features.weights: {path} does not fit {cfg.backbone}: "
                f"{str(exc).splitlines()[0][:200]}"
            ) from None
        identity = _file_identity(path)
    return _Built(model, apps.preprocess_input, identity, note)


MODELS_KEPT = 4  # built backbones a process keeps (a dashboard's main and challenger, and spares)
_models: OrderedDict[tuple, _Built] = OrderedDict()
_models_lock = threading.Lock()


def _model_key(cfg: FeaturesConfig) -> tuple:
    """What the built model depends on: a weights file by its path, size and change time."""
    weights: object = cfg.weights.strip().lower()
    if weights not in ("none", "auto", "imagenet"):
        path = Path(cfg.weights.strip()).expanduser()
        try:
            stat = path.stat()
            weights = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        except OSError:
            weights = (str(path), None, None)  # building it raises the one-line error
    return (cfg.backbone, weights, cfg.input_size, cfg.pooling, cfg.seed)


def _model_for(cfg: FeaturesConfig) -> _Built:
    """The process's model for these settings, built on first use and kept (up to MODELS_KEPT,
    least recently used dropped). Building ResNet50 costs about a second and its weights
    ~100 MB; a dashboard rebuilding its index after every scrape, the query path, the build and
    the tests would otherwise each build their own, the same weights each time."""
    key = _model_key(cfg)
    with _models_lock:
        built = _models.get(key)
        if built is None:
            built = _models[key] = _build_model(cfg)
            while len(_models) > MODELS_KEPT:
                _models.popitem(last=False)
        _models.move_to_end(key)
        return built


# output width of each backbone with global pooling (avg or max), known before any model is built
DIMS = {"resnet50": 2048, "resnet101": 2048, "densenet121": 1024, "inception_v3": 2048}


def _known_identity(cfg: FeaturesConfig) -> tuple[str, str] | None:
    """The weights' identity and note when the settings alone tell them (random weights, a
    weights file); None when only loading tells (ImageNet may fall back to random)."""
    choice = cfg.weights.strip()
    if choice.lower() == "none":
        return f"random{cfg.seed}v2", RANDOM_WEIGHTS_NOTE.replace("could not be loaded", "are off")
    if choice.lower() in ("imagenet", "auto"):
        return None
    path = Path(choice).expanduser()
    if not path.is_file():
        raise ConfigError(f"features.weights: no such file {path}")
    return _file_identity(path), ""


class FeatureExtractor:
    """A backbone with its preprocessing. `key` names backbone, weights, input size and pooling.

    Where the settings tell the key (random weights, a weights file), the model is built on first
    use: a rebuild whose images all have features, or a check of an index's key, loads no
    TensorFlow."""

    def __init__(self, cfg: FeaturesConfig, shared: bool = True) -> None:
        """`shared`: take the process's built model for these settings when there is one (see
        `_model_for`); False always builds a new one."""
        if cfg.backbone not in BACKBONES:
            raise FeatureError(f"unknown backbone {cfg.backbone!r}; known: {', '.join(BACKBONES)}")
        _, _, smallest = BACKBONES[cfg.backbone]
        if cfg.input_size < smallest:
            raise FeatureError(f"{cfg.backbone} needs an input size of at least {smallest}")
        self.cfg = cfg
        self._shared = shared
        self._built: _Built | None = None
        self._built_lock = threading.Lock()
        known = _known_identity(cfg)
        if known is None:
            built = self._load()
            known = built.identity, built.note
        self.weights_identity, self.weights_note = known
        self.dim = DIMS[cfg.backbone]
        layout = "pad" if cfg.pad else "squash"
        self.key = f"{cfg.backbone}-{self.weights_identity}-{cfg.input_size}{layout}-{cfg.pooling}"

    def _load(self) -> _Built:
        with self._built_lock:
            if self._built is None:
                built = _model_for(self.cfg) if self._shared else _build_model(self.cfg)
                width = int(built.model.output_shape[-1])
                if width != DIMS[self.cfg.backbone]:  # DIMS must say what the model gives
                    raise FeatureError(
                        f"{self.cfg.backbone} gives {width}-d features, not "
                        f"{DIMS[self.cfg.backbone]}"
                    )
                self._built = built
            return self._built

    @property
    def model(self) -> Any:
        """The Keras model (built now if it was not yet)."""
        return self._load().model

    @property
    def uses_random_weights(self) -> bool:
        return self.weights_identity.startswith("random")

    def prepare(self, path: Path | str) -> np.ndarray:
        """One image as the model's uint8 input."""
        return fit(load_rgb(path), self.cfg.input_size, self.cfg.pad, self.cfg.pad_colour)

    def run_batch(self, batch: np.ndarray) -> np.ndarray:
        """The model on a ready (b, s, s, 3) uint8/float batch."""
        built = self._load()
        x = built.preprocess(batch.astype(np.float32))
        with built.lock:  # one model may serve several extractors (and threads)
            return np.asarray(built.model.predict_on_batch(x), dtype=np.float32)

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
