from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dash_app import create_app
from dash_app.ui.components import human_bytes
from store import Store
from stylescout.loader import load_config
from tests.conftest import jpeg_bytes, meta_for


def test_human_bytes() -> None:
    assert [human_bytes(n) for n in (0, 2048, 5 * 1024**3)] == ["0 B", "2.0 KB", "5.0 GB"]


def test_home_page_shows_the_store_counts(data_dir: Path) -> None:
    with Store(data_dir) as store:
        for seed in range(3):
            store.images.add_image_bytes(jpeg_bytes(seed), meta_for(seed), ["boho"])
        store.runs.finish_run(store.runs.start_run("boho", "demo", 3), "completed", 3, 0)
    app = create_app(load_config(data_dir=data_dir))
    client = app.server.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/assets/bootstrap.min.css").status_code == 200

    from dash_app.pages import overview as home

    with app.server.test_request_context("/"):
        text = str(home.layout())
    assert "'3'" in text and "#boho · 3" in text and "completed" in text


def test_the_dashboard_title_is_text_in_the_page(data_dir: Path) -> None:
    """`dashboard.title` is a setting, not markup: in the page's <title> it is escaped."""
    from dash_app.app import close_app
    from tests.conftest import make_config

    title = "</title><script>alert(1)</script> & co"
    app = create_app(make_config(data_dir, dashboard={"title": title}))
    try:
        client = app.server.test_client()
        for path in ("/", "/trends", "/no-such-page"):
            page = client.get(path).get_data(as_text=True)
            assert "<script>alert(1)" not in page and "</title><script>" not in page, path
            escaped = "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"
            assert f"<title>{escaped}</title>" in page, path
        assert app.title == title  # the browser tab (set as text by Dash's pages) says it as is
    finally:
        close_app(app)


def test_the_style_map_is_the_principal_plane_and_reads_large_indexes_in_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    from clustering import engine

    rng = np.random.default_rng(0)
    scale = np.array([5.0, 3.0] + [0.5] * 14, np.float32)  # a clear principal plane
    x = rng.normal(size=(600, 16)).astype(np.float32) * scale
    loaded = engine.LoadedIndex(Path(), SimpleNamespace(vectors=x), None)  # type: ignore[arg-type]
    small = loaded.map2d()
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    np.testing.assert_allclose(small, centred @ vt[:2].T, atol=1e-4)  # all items: exact PCA
    monkeypatch.setattr(engine, "MAP_SAMPLE", 200)  # a "large" index: PCA on a sample
    again = engine.LoadedIndex(Path(), SimpleNamespace(vectors=x), None)  # type: ignore[arg-type]
    sampled = again.map2d()
    assert sampled.shape == (600, 2)
    for axis in range(2):  # the same plane, up to sign
        assert abs(np.corrcoef(sampled[:, axis], small[:, axis])[0, 1]) > 0.99
