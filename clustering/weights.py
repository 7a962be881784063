"""ImageNet weight files for the Keras backbones, downloaded with a timeout of their own.

Keras's `get_file` downloads through `urlretrieve`, which has no timeout: on a machine whose
network drops packets it hangs until the process-wide socket default says otherwise, and setting
that default (`socket.setdefaulttimeout`) would change every socket of a serving dashboard. So the
file is fetched here, with `requests` and explicit timeouts, into Keras's own cache folder (the
place `get_file` would use), checked against Keras's published MD5, and loaded from that path.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import requests

log = logging.getLogger(__name__)

_BASE = "https://storage.googleapis.com/tensorflow/keras-applications"
# backbone -> (file name, folder under _BASE, MD5) of the include_top=False weights, as
# keras.applications names them
NOTOP = {
    "resnet50": (
        "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "resnet",
        "4d473c1dd8becc155b73f8504c6f6626",
    ),
    "resnet101": (
        "resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "resnet",
        "88cf7a10940856eca736dc7b7e228a21",
    ),
    "densenet121": (
        "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "densenet",
        "30ee3e1110167f948a6b9946edeeb738",
    ),
    "inception_v3": (
        "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "inception_v3",
        "bcbd6486424b2319ff4ef7d526e38f63",
    ),
}


def keras_cache() -> Path:
    """Keras's cache of downloaded models ($KERAS_HOME/models, default ~/.keras/models)."""
    home = os.environ.get("KERAS_HOME")
    return (Path(home) if home else Path.home() / ".keras") / "models"


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def imagenet_file(
    backbone: str,
    connect_timeout_s: float = 10,
    read_timeout_s: float = 30,
    base_url: str = _BASE,
) -> Path:
    """The backbone's ImageNet weights on disk, downloaded first when missing. Raises OSError
    (or requests' errors) when they cannot be had."""
    name, folder, md5 = NOTOP[backbone]
    path = keras_cache() / name
    if path.is_file() and _md5(path) == md5:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"{base_url}/{folder}/{name}"
    log.info("downloading %s", url)
    with requests.get(url, stream=True, timeout=(connect_timeout_s, read_timeout_s)) as response:
        response.raise_for_status()
        handle, name_ = tempfile.mkstemp(prefix=f".{name}.", dir=path.parent)
        temp = Path(name_)
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in response.iter_content(1 << 20):
                    out.write(chunk)
            if _md5(temp) != md5:
                raise OSError(f"{name}: the download does not match its checksum")
            temp.replace(path)
        finally:
            temp.unlink(missing_ok=True)
    return path
