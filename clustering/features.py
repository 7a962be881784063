"""Image features from a Keras backbone (`include_top=False`, global pooling), batched.

The backbone runs on TensorFlow, or on OpenVINO (`features.runtime`): converted once from the
Keras model, kept on disk per model key, at fp32, int8 or bf16 (`features.precision`; see
`clustering.openvino_model`). TensorFlow is imported only to build a Keras model: never when this
package is imported, and not at all on OpenVINO once the converted model is on disk.
Decoding and resizing run in background threads while the model works on the previous batch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

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
    """A built backbone and what its weights are. `model` is the Keras model, or OpenVINO's
    compiled one (which takes the pixels as they are and preprocesses inside)."""

    model: Any
    preprocess: Callable[[np.ndarray], np.ndarray] | None  # Keras's; None on OpenVINO
    identity: str
    note: str
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, batch: np.ndarray) -> np.ndarray:
        """The model on a ready (b, s, s, 3) batch of pixels 0-255."""
        with self.lock:  # one model may serve several extractors (and threads)
            if self.preprocess is None:  # OpenVINO: preprocessing is in the model
                x = np.ascontiguousarray(batch, dtype=np.float32)
                return np.array(self.model(x)[0], dtype=np.float32)
            x = np.array(batch, dtype=np.float32)  # a copy: Keras's preprocessing works in place
            return np.asarray(self.model.predict_on_batch(self.preprocess(x)), dtype=np.float32)

    @property
    def width(self) -> int:
        """The length of the feature vector the model gives."""
        if self.preprocess is None:  # OpenVINO
            return int(self.model.outputs[0].get_partial_shape()[-1].get_length())
        return int(self.model.output_shape[-1])


def _without_imagenet(cfg: FeaturesConfig, exc: Exception) -> tuple[str, str]:
    """ImageNet weights could not be had: `imagenet` fails, `auto` falls back to random weights
    (their identity and note)."""
    if cfg.weights.strip().lower() == "imagenet":
        raise FeatureError(
            f"cannot load ImageNet weights for {cfg.backbone} ({type(exc).__name__}):"
            " download the *_notop.h5 file and set features.weights to its path"
        ) from None
    log.info(RANDOM_WEIGHTS_NOTE)  # callers show it: CLI line, index, banner
    return f"random{cfg.seed}v2", RANDOM_WEIGHTS_NOTE


def _base_key(cfg: FeaturesConfig, identity: str) -> str:
    """The model key's part every runtime shares: backbone, weights, input and pooling."""
    layout = "pad" if cfg.pad else "squash"
    return f"{cfg.backbone}-{identity}-{cfg.input_size}{layout}-{cfg.pooling}"


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
            identity, note = _without_imagenet(cfg, exc)
            model = random_model()
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


INT8_MARK = "-ovint8c"  # in a model key: an int8 model, its calibration's digest after it

# output width of each backbone with global pooling (avg or max), known before any model is built
DIMS = {"resnet50": 2048, "resnet101": 2048, "densenet121": 1024, "inception_v3": 2048}


def _known_identity(cfg: FeaturesConfig, resolve: bool = False) -> tuple[str, str] | None:
    """The weights' identity and note when the settings alone tell them (random weights, a
    weights file); None when only loading tells (ImageNet may fall back to random). `resolve`:
    for ImageNet, find (or fetch) the weights file now, which needs no TensorFlow."""
    choice = cfg.weights.strip()
    if choice.lower() == "none":
        return f"random{cfg.seed}v2", RANDOM_WEIGHTS_NOTE.replace("could not be loaded", "are off")
    if choice.lower() in ("imagenet", "auto"):
        if not resolve:
            return None
        try:
            imagenet_file(cfg.backbone)
        except Exception as exc:  # offline, blocked, corrupt download: as _build_model says
            return _without_imagenet(cfg, exc)
        return "imagenet", ""
    path = Path(choice).expanduser()
    if not path.is_file():
        raise ConfigError(f"features.weights: no such file {path}")
    return _file_identity(path), ""


class Calibration(Protocol):
    """The images an int8 model is calibrated on: the store's own (`clustering.calibration`)."""

    def pinned(self, prefix: str) -> str | None:
        """The model key starting with `prefix` whose features the store already holds, if any."""

    def sample(self, n: int) -> tuple[list[Any], list[str]]:
        """Up to n image files and their content hashes, the same ones every time."""


_compiled: OrderedDict[tuple, _Built] = OrderedDict()  # OpenVINO models, as `_models`
_compiled_lock = threading.Lock()  # not `_models_lock`: that one is held through Keras builds


class FeatureExtractor:
    """A backbone with its preprocessing. `key` names backbone, weights, input size, pooling and,
    off TensorFlow, the runtime and precision (`-ovfp32`, `-ovint8c<calibration>`), so vectors of
    different paths never mix in one index.

    Where the settings tell the key (random weights, a weights file), the model is built on first
    use: a rebuild whose images all have features, or a check of an index's key, loads no
    model at all; on OpenVINO a model already converted loads without TensorFlow."""

    def __init__(
        self, cfg: FeaturesConfig, shared: bool = True, calibration: Calibration | None = None
    ) -> None:
        """`shared`: take the process's built model for these settings when there is one (see
        `_model_for`); False always builds a new one. `calibration`: where an int8 model is
        calibrated (the store); it also tells which calibration the store's features used."""
        if cfg.backbone not in BACKBONES:
            raise FeatureError(f"unknown backbone {cfg.backbone!r}; known: {', '.join(BACKBONES)}")
        _, _, smallest = BACKBONES[cfg.backbone]
        if cfg.input_size < smallest:
            raise FeatureError(f"{cfg.backbone} needs an input size of at least {smallest}")
        self.cfg = cfg
        self._shared = shared
        self._built: _Built | None = None
        self._keras: _Built | None = None  # the Keras model, on TensorFlow the one that runs
        self._built_lock = threading.RLock()
        self._calibration_files: list[Any] = []
        openvino = cfg.runtime == "openvino"
        known = self._converted_imagenet() if openvino else None
        known = known or _known_identity(cfg, resolve=openvino)
        if known is None:
            built = self._load_keras()
            known = built.identity, built.note
        self.weights_identity, self.weights_note = known
        self.dim = DIMS[cfg.backbone]
        self.base_key = _base_key(cfg, self.weights_identity)
        self.key = self._runtime_key(calibration) if openvino else self.base_key

    def _converted_imagenet(self) -> tuple[str, str] | None:
        """ImageNet weights are known without checking (94 MB hashed) or fetching their file when
        a model converted from them is already on disk."""
        cfg = self.cfg
        if cfg.weights.strip().lower() not in ("auto", "imagenet"):
            return None
        stem = f"{_base_key(cfg, 'imagenet')}-ov{cfg.precision}"
        return ("imagenet", "") if any(self.model_dir.glob(f"{stem}*.xml")) else None

    def _runtime_key(self, calibration: Calibration | None) -> str:
        """The OpenVINO model's key. An int8 model is named by its calibration images: the one
        the store's features were made with while its file is on disk, else the store's sample."""
        from clustering import openvino_model

        precision = self.cfg.precision
        openvino_model.check_precision(precision)
        if precision != "int8":
            return f"{self.base_key}-ov{precision}"
        prefix = str(self.calibrated_prefix)
        if calibration is None:
            raise FeatureError(
                "features.precision int8 is calibrated on a store's images: give the store"
            )
        pinned = calibration.pinned(prefix)
        if pinned and openvino_model.ir_path(self.model_dir, pinned).is_file():
            return pinned
        files, hashes = calibration.sample(openvino_model.CALIBRATION_IMAGES)
        if not files:
            raise FeatureError(
                "features.precision int8 is calibrated on the store's images: it has none yet"
            )
        self._calibration_files = files
        return prefix + openvino_model.digest(hashes)

    @property
    def calibrated_prefix(self) -> str | None:
        """int8: the start every key of this model has, whatever its calibration; else None."""
        if self.cfg.runtime == "openvino" and self.cfg.precision == "int8":
            return f"{self.base_key}{INT8_MARK}"
        return None

    @property
    def model_dir(self) -> Path:
        """Where this extractor's converted model is kept."""
        from clustering import openvino_model

        return openvino_model.model_dir(self.cfg.model_dir)

    def _load_keras(self) -> _Built:
        with self._built_lock:
            if self._keras is None:
                self._keras = _model_for(self.cfg) if self._shared else _build_model(self.cfg)
            built = self._keras
        if built.width != DIMS[self.cfg.backbone]:  # DIMS must say what the model gives
            raise FeatureError(
                f"{self.cfg.backbone} gives {built.width}-d features, not {DIMS[self.cfg.backbone]}"
            )
        return built

    def _load(self) -> _Built:
        with self._built_lock:
            if self._built is None:
                if self.cfg.runtime == "openvino":
                    self._built = self._load_openvino()
                else:
                    self._built = self._load_keras()
            return self._built

    def _load_openvino(self) -> _Built:
        """The compiled model of this key: from the process's cache, else from disk, else
        converted (and for int8 quantized) now and saved for every later run."""
        from clustering import openvino_model

        path = openvino_model.ir_path(self.model_dir, self.key)
        cache_key = ("openvino", str(path))
        with _compiled_lock:
            built = _compiled.get(cache_key) if self._shared else None
            if built is not None:
                _compiled.move_to_end(cache_key)
                return built
        if not path.is_file():
            with openvino_model.converting(path):  # one process converts, the others wait
                if not path.is_file():
                    self._convert(path)
        started = time.perf_counter()
        compiled = openvino_model.compile_model(path, self.cfg.precision)
        log.info("loaded %s in %.2f s", path.name, time.perf_counter() - started)
        built = _Built(compiled, None, self.weights_identity, self.weights_note)
        if built.width != self.dim:
            raise FeatureError(f"{path} gives {built.width}-d features, not {self.dim}")
        if self._shared:
            with _compiled_lock:
                _compiled[cache_key] = built
                while len(_compiled) > MODELS_KEPT:
                    _compiled.popitem(last=False)
        return built

    def _convert(self, path: Path) -> None:
        """Convert the Keras model (and quantize it on the calibration images) into `path`."""
        from clustering import openvino_model

        started = time.perf_counter()
        keras_built = self._load_keras()
        if keras_built.identity != self.weights_identity:  # the network came or went meanwhile
            raise FeatureError(
                f"the weights became {keras_built.identity}, not {self.weights_identity}: run again"
            )
        with keras_built.lock:
            model = openvino_model.convert(keras_built.model, self.cfg.backbone)
        if self.cfg.precision == "int8":
            if not self._calibration_files:
                raise FeatureError(
                    f"the int8 model {self.key} is not in {self.model_dir}: rebuild the index"
                    " (stylescout build) to calibrate a new one"
                )
            ready = self._calibration_batches()
            model = openvino_model.quantize(model, ready, len(ready))
        openvino_model.save(model, path)
        log.info("converted %s in %.1f s", path.name, time.perf_counter() - started)

    def _calibration_batches(self) -> list[np.ndarray]:
        """The calibration images as the model takes them, one per batch."""
        out = []
        for file in self._calibration_files:
            try:
                out.append(self.prepare(file)[None].astype(np.float32))
            except Exception as exc:  # the key names every image: a model of fewer would lie
                raise FeatureError(
                    f"int8 calibration cannot read {file} ({type(exc).__name__}): try again, or"
                    " remove the image from the store"
                ) from None
        return out

    def model_files(self) -> tuple[bytes, bytes] | None:
        """OpenVINO: the converted model's XML and weights (converted now if need be), for a
        process on another machine (`install_model`); None on TensorFlow."""
        if self.cfg.runtime != "openvino":
            return None
        from clustering import openvino_model

        self._load()
        path = openvino_model.ir_path(self.model_dir, self.key)
        return path.read_bytes(), path.with_suffix(".bin").read_bytes()

    @staticmethod
    def install_model(cfg: FeaturesConfig, key: str, files: tuple[bytes, bytes]) -> None:
        """Put a converted model (`model_files`) into this machine's model folder, if missing."""
        from clustering import openvino_model

        path = openvino_model.ir_path(openvino_model.model_dir(cfg.model_dir), key)
        if not path.is_file():
            openvino_model.write_files(path, *files)

    @property
    def model(self) -> Any:
        """The Keras model (built now if it was not yet), whichever runtime extracts."""
        return self._load_keras().model

    @property
    def kernels(self) -> dict[str, int]:
        """OpenVINO: how many layers run on each CPU kernel (the instruction sets used)."""
        if self.cfg.runtime != "openvino":
            return {}
        from clustering import openvino_model

        return dict(openvino_model.kernels(self._load().model))

    def warm(self) -> None:
        """Load (convert, compile) the model now rather than on the first batch."""
        self._load()

    @property
    def uses_random_weights(self) -> bool:
        return self.weights_identity.startswith("random")

    def prepare(self, path: Path | str) -> np.ndarray:
        """One image as the model's uint8 input."""
        return fit(load_rgb(path), self.cfg.input_size, self.cfg.pad, self.cfg.pad_colour)

    def run_batch(self, batch: np.ndarray) -> np.ndarray:
        """The model on a ready (b, s, s, 3) uint8/float batch."""
        return self._load().run(batch)

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
