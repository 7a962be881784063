"""The backbone on OpenVINO: the Keras model converted once (with its ImageNet preprocessing as
the model's first steps, so it takes the pixels as they are), optionally quantized to int8 by
NNCF on the store's own images, kept on disk per model key, and compiled per process.

Why OpenVINO: it reads the Keras 3 model directly, quantizes after training with NNCF, and picks
its kernels per CPU (AVX2, AVX-512, VNNI, AMX) at compile time. Measured on a 2-core AVX2 EPYC at
batch 32 against TensorFlow fp32: fp32 1.53x, int8 1.55x, where ONNX Runtime gave 1.41x and 1.48x
(and its int8 lost 0.05-0.11 P@10 on AVX2). A cached model loads and compiles in well under a
second, with no TensorFlow import: that is the warm start.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from stylescout.errors import StyleScoutError

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "features.runtime openvino needs the openvino package (pip install -r requirements.txt),"
    " or set features.runtime: tensorflow"
)
# keras.applications' preprocess_input per backbone, as OpenVINO preprocessing steps:
# (reverse RGB to BGR, scale applied first, mean, std)
PREPROCESS: dict[str, tuple[bool, float, list[float], list[float]]] = {
    "caffe": (True, 1.0, [103.939, 116.779, 123.68], [1.0, 1.0, 1.0]),
    "torch": (False, 255.0, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    "tf": (False, 127.5, [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]),
}
MODE = {"resnet50": "caffe", "resnet101": "caffe", "densenet121": "torch", "inception_v3": "tf"}
CALIBRATION_IMAGES = 300  # NNCF's default subset size: more adds time, not accuracy
PRECISION_HINT = {"fp32": "f32", "int8": "f32", "bf16": "bf16"}  # never bf16 unasked (AMX CPUs)


class OpenVINOError(StyleScoutError):
    """OpenVINO is missing, or cannot run what the settings ask on this CPU."""


def _ov() -> Any:
    try:
        import openvino
    except ImportError:
        raise OpenVINOError(INSTALL_HINT) from None
    return openvino


_core: Any = None
_core_lock = threading.Lock()


def core() -> Any:
    """The process's OpenVINO Core (one: it holds the plugins and their caches)."""
    global _core
    with _core_lock:
        if _core is None:
            _core = _ov().Core()
        return _core


def model_dir(configured: Path | None) -> Path:
    """`features.model_dir`, else the user's cache folder, shared by every store of that user."""
    if configured is not None:
        return configured.expanduser()
    from platformdirs import user_cache_path

    return user_cache_path("stylescout") / "models"


def ir_path(folder: Path, key: str) -> Path:
    """The model's XML file (its weights lie beside it, same name, `.bin`)."""
    return folder / f"{key}.xml"


def capabilities() -> list[str]:
    """What the CPU plugin says this CPU computes fast (FP32, INT8, BF16, ...)."""
    return list(core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))


def check_precision(precision: str) -> None:
    """Refuse bf16 on a CPU without it: OpenVINO would quietly run fp32 under a bf16 key."""
    if precision == "bf16" and "BF16" not in capabilities():
        raise OpenVINOError(
            "features.precision bf16: this CPU has no bf16 arithmetic (AVX-512 BF16 or AMX);"
            " use fp32 or int8"
        )


def decline_telemetry() -> None:
    """OpenVINO's converter and NNCF send usage events to Google Analytics unless a consent file
    in the user's home says no (opt-out). StyleScout contacts no host the person did not name, so
    its process declines, without writing to the person's home folder."""
    try:
        from openvino_telemetry.utils.opt_in_checker import ConsentCheckResult, OptInChecker
    except ImportError:  # the libraries then use their own no-op stand-in
        return

    def declined(self: Any, *args: Any, **kwargs: Any) -> Any:
        return ConsentCheckResult.DECLINED

    OptInChecker.check = declined


def convert(keras_model: Any, backbone: str) -> Any:
    """The Keras model as an OpenVINO model taking (n, s, s, 3) RGB pixels 0-255 as float32,
    with the backbone's ImageNet preprocessing as its first steps."""
    ov = _ov()
    decline_telemetry()
    from openvino.preprocess import PrePostProcessor

    with warnings.catch_warnings():  # Keras notes the traced input's name, a harmless mismatch
        warnings.filterwarnings("ignore", message="The structure of `inputs`")
        model = ov.convert_model(keras_model)
    reverse, scale, mean, std = PREPROCESS[MODE[backbone]]
    steps = PrePostProcessor(model)
    steps.input().tensor().set_element_type(ov.Type.f32).set_layout(ov.Layout("NHWC"))
    steps.input().model().set_layout(ov.Layout("NHWC"))
    pre = steps.input().preprocess()
    if reverse:
        pre = pre.reverse_channels()
    if scale != 1.0:
        pre = pre.scale(scale)
    pre = pre.mean(mean)
    if std != [1.0, 1.0, 1.0]:
        pre.scale(std)
    return steps.build()


def quantize(model: Any, batches: Iterable[np.ndarray], size: int) -> Any:
    """int8 by NNCF's post-training quantization, calibrated on `size` ready images
    (one per item of `batches`, shaped (1, s, s, 3)), with NNCF's defaults for a CNN (symmetric
    8-bit weights per channel and activations per tensor): on the labelled sample that holds
    P@10 within 0.01 of fp32 on every label column."""
    decline_telemetry()
    import nncf

    nncf_log = logging.getLogger("nncf")
    level = nncf_log.level
    nncf_log.setLevel(logging.ERROR)  # its progress bars belong to a terminal, not a build log
    try:
        return nncf.quantize(
            model,
            nncf.Dataset(list(batches)),
            subset_size=size,
        )
    finally:
        nncf_log.setLevel(level)


@contextmanager
def converting(path: Path) -> Iterator[None]:
    """Hold the model's lock file while it is converted: two processes (a build and the
    dashboard, two Ray drivers) never write the same model at once; the second waits and then
    finds it on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(f".{path.name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def save(model: Any, path: Path) -> None:
    """Write the model's XML and weights so that a reader never sees half a file: both go under a
    temporary name first, the weights are moved into place before the XML that names them."""
    ov = _ov()
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.xml")
    try:
        ov.save_model(model, str(temp), compress_to_fp16=False)
        temp.with_suffix(".bin").replace(path.with_suffix(".bin"))
        temp.replace(path)
    finally:
        temp.unlink(missing_ok=True)
        temp.with_suffix(".bin").unlink(missing_ok=True)


def write_files(path: Path, xml: bytes, weights: bytes) -> None:
    """A model's two files as `save` writes them (weights first, each under a temporary name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for data, target in ((weights, path.with_suffix(".bin")), (xml, path)):
        temp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            temp.write_bytes(data)
            temp.replace(target)
        finally:
            temp.unlink(missing_ok=True)


def compile_model(path: Path, precision: str) -> Any:
    """The saved model compiled for this CPU: one request uses every core (batch calls in a row),
    at the precision asked, never bf16 unasked (OpenVINO's default on AMX CPUs)."""
    compiled_cache = path.parent / "compiled"
    return core().compile_model(
        str(path),
        "CPU",
        {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": PRECISION_HINT[precision],
            "CACHE_DIR": str(compiled_cache),
        },
    )


def kernels(compiled: Any) -> Counter:
    """How many layers run on each kernel (e.g. `brgconv_avx2_f32`, `jit_avx512_core_amx_I8`):
    which instruction sets the compiled model really uses."""
    ops = compiled.get_runtime_model().get_ordered_ops()
    counts: Counter = Counter()
    for op in ops:
        info = op.get_rt_info()
        kind = info["primitiveType"].astype(str).strip() if "primitiveType" in info else ""
        if kind and not kind.startswith("unknown"):
            counts[kind] += 1
    return counts


def digest(parts: Iterable[str]) -> str:
    """8 hex digits naming a calibration set (its images' content hashes, in order)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\n")
    return h.hexdigest()[:8]
