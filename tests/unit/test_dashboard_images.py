from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from flask.testing import FlaskClient
from PIL import Image

from clustering.index import IndexMeta, StyleIndex, save_index
from dash_app import create_app
from store import Store
from stylescout.loader import load_config
from tests.conftest import jpeg_bytes, meta_for


@pytest.fixture
def app_and_sha(data_dir: Path) -> tuple[FlaskClient, str, object]:
    with Store(data_dir) as store:
        sha = store.images.add_image_bytes(
            jpeg_bytes(1, size=(400, 500)), meta_for(1, width=400, height=500), ["boho"]
        ).sha256
    app = create_app(load_config(data_dir=data_dir))
    return app.server.test_client(), sha, app


def test_images_are_served_by_hash_only(app_and_sha: tuple) -> None:
    client, sha, _ = app_and_sha
    full = client.get(f"/image/{sha}")
    assert full.status_code == 200 and full.mimetype == "image/jpeg"
    assert full.data == jpeg_bytes(1, size=(400, 500))
    assert "immutable" in full.headers["Cache-Control"]
    thumb = client.get(f"/thumb/160/{sha}")
    assert Image.open(io.BytesIO(thumb.data)).width == 160
    assert client.get(f"/thumb/160/{sha}").data == thumb.data  # from the cache


@pytest.mark.parametrize(
    "path", ["/image/{upper}", "/image/" + "a" * 10_000, "/image/" + "0" * 64, "/thumb/999/{sha}"]
)
def test_anything_but_a_known_hash_is_404(app_and_sha: tuple, path: str) -> None:
    client, sha, _ = app_and_sha
    assert client.get(path.format(upper=sha.upper(), sha=sha)).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/image/../store.sqlite",
        "/image/%2e%2e%2fstore.sqlite",
        "/thumb/160/../x",
        "/image/..%2f..%2fconfig.yaml",
    ],
)
def test_paths_never_reach_files(app_and_sha: tuple, path: str) -> None:
    """Dotted paths are collapsed before routing and end on the page shell or a 404."""
    client, _, _ = app_and_sha
    response = client.get(path)
    assert response.status_code == 404 or response.mimetype == "text/html"
    assert b"SQLite format" not in response.data and b"data_dir" not in response.data


def test_header_shows_model_key_and_random_weights_banner(
    app_and_sha: tuple, data_dir: Path
) -> None:
    _, _, app = app_and_sha
    with app.server.test_request_context("/"):
        assert "no style index yet" in str(app.layout())
    vectors = np.eye(2, 4, dtype=np.float32)
    meta = IndexMeta(
        "resnet50-random7-64pad-max", "k", None, 0.0, "RANDOM weights here", ["a"], [[1]], "exact"
    )
    save_index(
        StyleIndex(
            np.array([1, 2]),
            vectors,
            np.zeros(2, np.int32),
            vectors[:1],
            np.zeros((0, 4)),
            np.zeros(4, np.float32),
            np.ones(4, np.float32),
            meta,
        ),
        data_dir / "index",
    )
    with app.server.test_request_context("/"):
        text = str(app.layout())
    assert "resnet50-random7-64pad-max" in text and "RANDOM weights here" in text
