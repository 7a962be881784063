"""Source wiring: the opt-in cookie source, html fallback without Chromium, the importer."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import scraper.browser
from sandbox.demo_feed.server import BackgroundServer
from sandbox.replicas.instagram import SESSION, create_replica_app
from scraper.browser import Chromium
from scraper.downloader import Downloader
from scraper.importer import import_folder
from scraper.scrape import scrape
from scraper.sources.html import HtmlSource
from scraper.sources.registry import build_source
from store import Store
from store.check import check_store
from stylescout.errors import BrowserMissingError, ConfigError
from tests.conftest import FASHION, jpeg_bytes, make_config


@pytest.fixture(scope="module")
def replica() -> Iterator[BackgroundServer]:
    with BackgroundServer(create_replica_app(), "127.0.0.1", 0) as server:
        yield server


def instagram_config(data_dir: Path, replica: BackgroundServer, kind: str = "html"):
    return make_config(
        data_dir,
        sources={
            "instagram": {
                "enabled": True,
                "kind": kind,
                "url": f"{replica.url}/explore/tags/{{tag}}/",
                "allow_private_network": True,
                "cookie_name": "sessionid",
                "cookie_env": "TEST_STYLESCOUT_SESSIONID",
                "host_spacing_s": 0,  # the built-in's 3 s is for the real site, not a replica
                "selectors": {
                    "post": 'a[href*="/p/"]',
                    "image": "img",
                    "link": "",
                    "caption": "img@alt",
                    "time": "",
                    "likes": "",
                },
            }
        },
    )


def test_cookie_source_needs_the_persons_cookie(
    replica: BackgroundServer, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_STYLESCOUT_SESSIONID", raising=False)
    with pytest.raises(ConfigError, match="needs your own session cookie"):
        scrape(instagram_config(data_dir, replica).scraping, "streetwear", 5, "instagram")


def test_cookie_source_scrapes_the_replica_and_never_keeps_the_cookie(
    replica: BackgroundServer,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TEST_STYLESCOUT_SESSIONID", SESSION)
    caplog.set_level(logging.DEBUG)
    result = scrape(instagram_config(data_dir, replica).scraping, "streetwear", 8, "instagram")
    assert result.progress.added == 8
    with Store(data_dir) as store:
        image_id = store.db.row("SELECT max(id) FROM images")[0]
        assert {"streetwear", "ootd"} <= set(store.images.tags_of(image_id))
        assert store.images.image(image_id)["post_url"].startswith(f"{replica.url}/p/C")
    assert SESSION not in caplog.text
    assert "value hidden" in caplog.text
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert SESSION.encode() not in path.read_bytes(), path


def test_default_instagram_source_is_off(data_dir: Path) -> None:
    with pytest.raises(ConfigError, match="switched off"):
        scrape(make_config(data_dir).scraping, "boho", 5, "instagram")


def test_missing_chromium_is_one_clear_line_and_demo_falls_back_to_html(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scraper.browser, "CHROMIUM", Path("/nonexistent/chromium"))
    with pytest.raises(BrowserMissingError) as info:
        Chromium()
    assert "apt-get install chromium chromium-driver" in str(info.value)
    assert "\n" not in str(info.value)
    config = make_config(data_dir)
    source = build_source("demo", config.scraping, Downloader(config.scraper))
    assert isinstance(source, HtmlSource) and "Chromium not found" in source.mode


@pytest.mark.skipif(not FASHION.is_dir(), reason=f"needs the shared data set at {FASHION}")
def test_import_fashion_small_dev(data_dir: Path) -> None:
    with Store(data_dir) as store:
        first = import_folder(store, FASHION)
        assert first.total == 1200 and first.added + first.duplicates == 1200
        assert first.added >= 1190 and not first.failed_by_reason
        labels = store.images.labels("articleType")
        assert len(labels) == first.added and len(set(labels.values())) == 24
        some_id, article_type = next(iter(labels.items()))
        tags = store.images.tags_of(some_id)
        assert "_".join(article_type.lower().split()) in tags and len(tags) >= 2
        again = import_folder(store, FASHION)
        assert again.added == 0
        assert check_store(store).clean


def test_import_counts_bad_files_and_uses_labels(tmp_path: Path, data_dir: Path) -> None:
    folder = tmp_path / "shop"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "1.jpg").write_bytes(jpeg_bytes(1))
    (folder / "images" / "2.jpg").write_bytes(b"not an image")
    (folder / "images" / "3.jpg").write_bytes(jpeg_bytes(1))  # the same bytes again
    (folder / "styles.csv").write_text(
        "id,articleType,baseColour,usage\n1,Tshirts,Navy Blue,Casual\n"
    )
    with Store(data_dir) as store:
        result = import_folder(store, folder)
        assert (result.added, result.duplicates) == (1, 1)
        assert dict(result.failed_by_reason) == {"not_image": 1}
        assert store.images.tags_of(1) == ["casual", "navy_blue", "tshirts"]
        assert store.images.labels("baseColour") == {1: "Navy Blue"}
