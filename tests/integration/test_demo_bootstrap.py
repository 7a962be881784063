from __future__ import annotations

from pathlib import Path

import pytest

from clustering.index import read_meta
from dash_app.demo import prepare_demo
from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from store import Store
from tests.conftest import make_config

pytestmark = pytest.mark.model  # builds a Keras backbone: not in make test-fast


@pytest.mark.slow
def test_demo_fills_an_empty_store_once(data_dir: Path) -> None:
    with BackgroundServer(create_feed_app(), "127.0.0.1", 0) as feed:
        config = make_config(
            data_dir,
            demo_feed={"port": feed.port},
            scraper={"default_source": "demo-html"},
            features={"input_size": 64, "weights": "none"},
            clustering={"n_styles": 3, "min_size": 2},
        )
        lines: list[str] = []
        with Store(data_dir) as store:
            assert prepare_demo(
                config, store, tags=("boho", "minimal"), per_tag=10, say=lines.append
            )
            meta = read_meta(store.index_dir)
            assert meta is not None and meta.weights_note
            assert store.stats().images == 20
            assert any(line.startswith("scraped #boho") for line in lines)
            assert not prepare_demo(config, store, tags=("boho",), per_tag=10, say=lines.append)
