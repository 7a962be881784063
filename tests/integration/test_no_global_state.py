"""Building a model or an app changes nothing process-wide: no socket default timeout, no reseeded
global random generators, no context left behind once an app is closed."""

from __future__ import annotations

import gc
import hashlib
import http.server
import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests

from clustering import weights
from clustering.features import FeatureExtractor
from dash_app import create_app
from dash_app.app import close_app
from dash_app.web.context import context_for, registered_tokens
from stylescout.settings import FeaturesConfig
from tests.conftest import make_config

pytestmark = pytest.mark.model  # builds a Keras backbone: not in make test-fast


def _global_state() -> tuple:
    return random.getstate(), np.random.get_state()[1].tobytes(), socket.getdefaulttimeout()


def test_random_weights_come_from_local_seeds_and_touch_no_global_generator() -> None:
    import keras  # noqa: F401  (importing Keras itself draws from Python's generator, once)

    cfg = FeaturesConfig(weights="none", input_size=32, seed=11, runtime="tensorflow")
    random.seed(123)
    np.random.seed(456)
    before = _global_state()
    first = FeatureExtractor(cfg, shared=False)
    assert _global_state() == before
    second = FeatureExtractor(cfg, shared=False)
    other = FeatureExtractor(cfg.model_copy(update={"seed": 12}), shared=False)
    a, b, c = (m.model.get_layer("conv1_conv").get_weights()[0] for m in (first, second, other))
    assert np.array_equal(a, b) and not np.allclose(a, c)  # same seed, same weights
    assert first.key == "resnet50-random11v2-32pad-max"
    assert random.random() == random.Random(123).random()  # the caller's sequence is intact


def test_one_built_model_per_setting_in_a_process(tmp_path: Path) -> None:
    cfg = FeaturesConfig(weights="none", input_size=32, seed=13, batch_size=4, runtime="tensorflow")
    lazy = FeatureExtractor(cfg.model_copy(update={"seed": 99}))
    assert lazy.key == "resnet50-random99v2-32pad-max" and lazy._built is None  # no model yet
    first = FeatureExtractor(cfg)
    again = FeatureExtractor(cfg.model_copy(update={"batch_size": 8, "pad": False}))
    assert again.model is first.model  # batch and layout are the extractor's, not the model's
    assert again.key == "resnet50-random13v2-32squash-max" and again.cfg.batch_size == 8
    assert FeatureExtractor(cfg.model_copy(update={"seed": 14})).model is not first.model
    assert FeatureExtractor(cfg.model_copy(update={"input_size": 40})).model is not first.model
    # a weights file is the same model only while it is the same file
    weights = tmp_path / "w.weights.h5"
    first.model.save_weights(weights)
    from_file = FeatureExtractor(cfg.model_copy(update={"weights": str(weights)}))
    assert FeatureExtractor(cfg.model_copy(update={"weights": str(weights)})).model is (
        from_file.model
    )
    FeatureExtractor(cfg.model_copy(update={"seed": 15})).model.save_weights(weights)
    os.utime(weights, ns=(1, 1))  # another file at the same path
    changed = FeatureExtractor(cfg.model_copy(update={"weights": str(weights)}))
    assert changed.model is not from_file.model and changed.key != from_file.key


def test_the_weights_download_has_its_own_timeout_not_the_process_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    seen = []

    def offline(url: str, **kw: object) -> None:
        seen.append((url, kw.get("timeout"), socket.getdefaulttimeout()))
        raise requests.ConnectionError("offline")

    monkeypatch.setattr(weights.requests, "get", offline)
    extractor = FeatureExtractor(FeaturesConfig(weights="auto", input_size=32))
    assert extractor.uses_random_weights and "RANDOM" in extractor.weights_note
    ((url, timeout, default),) = seen
    assert url.endswith("resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5")
    assert timeout == (10, 30) and default is None and socket.getdefaulttimeout() is None


class _Files(http.server.BaseHTTPRequestHandler):
    body = b""
    stall = False
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body) or 10))
        self.end_headers()
        if self.stall:
            time.sleep(3)
            return
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def file_server() -> Iterator[tuple[str, type[_Files]]]:
    handler = type("Handler", (_Files,), {"hits": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_weights_are_downloaded_checked_and_cached(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, file_server: tuple[str, type[_Files]]
) -> None:
    base, handler = file_server
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    handler.body = b"weights" * 1000
    name, folder, _ = weights.NOTOP["resnet50"]
    models = tmp_path / "models"
    with pytest.raises(OSError, match="checksum"):  # not the published file: nothing kept
        weights.imagenet_file("resnet50", base_url=base)
    assert list(models.iterdir()) == []
    md5 = hashlib.md5(handler.body, usedforsecurity=False).hexdigest()
    monkeypatch.setitem(weights.NOTOP, "resnet50", (name, folder, md5))
    path = weights.imagenet_file("resnet50", base_url=base)
    assert path == models / name and path.read_bytes() == handler.body
    assert weights.imagenet_file("resnet50", base_url=base) == path and handler.hits == 2
    handler.stall, handler.body = True, b""
    path.unlink()
    started = time.monotonic()
    with pytest.raises(requests.RequestException):
        weights.imagenet_file("resnet50", read_timeout_s=0.5, base_url=base)
    assert time.monotonic() - started < 2.5 and socket.getdefaulttimeout() is None


def test_an_apps_context_goes_when_the_app_does(tmp_path: Path) -> None:
    app = create_app(make_config(tmp_path / "one"))
    token = app.server.extensions["stylescout"].token
    assert token in registered_tokens() and context_for(token).token == token
    close_app(app)
    assert token not in registered_tokens()
    with pytest.raises(LookupError):
        context_for(token)
    other = create_app(make_config(tmp_path / "two"))
    token = other.server.extensions["stylescout"].token
    latest = create_app(make_config(tmp_path / "three"))  # Dash keeps a reference to the latest
    del other
    gc.collect()
    assert token not in registered_tokens()  # held weakly: nothing outlives its app
    close_app(latest)
