from __future__ import annotations

from pathlib import Path

from dash_app import create_app
from dash_app.components import human_bytes
from store import Store, load_config
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
