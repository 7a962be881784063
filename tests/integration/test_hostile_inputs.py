"""Hostile inputs against a running dashboard and the scraper: each gets a clear message, the
server stays up, and nothing is stored."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from dash_app import create_app
from dash_app.web.serving import serve_app
from sandbox.dash_client import upload
from sandbox.demo_feed.server import BackgroundServer
from sandbox.fault_server import HOSTILE_POSTS, bomb_png, create_fault_app
from scraper.scrape import scrape
from store import Store
from stylescout.settings import Config
from tests.conftest import image_bytes, make_config

MB = 1_000_000


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    return image_bytes(Image.new("RGB", (120, 60), "teal"), "JPEG", exif=exif.tobytes())


REFUSED = {
    "zero.jpg": (b"", "is empty"),
    "notes.jpg": (b"these are my notes, not a photo\n" * 20, "is not a JPEG"),
    "cut.jpg": (
        image_bytes(Image.new("RGB", (400, 400), "red"), "JPEG")[:900],
        "could not be read",
    ),
    "bomb.png": (bomb_png(30_000), "has too many pixels"),
    "huge.jpg": (b"\xff\xd8\xff" + b"\0" * (50 * MB), "is larger than the 15 MB limit"),
    "logo.svg": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "is an SVG drawing",
    ),
    "page.html": (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "is an HTML"),
}
ACCEPTED = {
    "animated.gif": lambda: image_bytes(
        Image.new("P", (60, 80), 3),
        "GIF",
        save_all=True,
        append_images=[Image.new("P", (60, 80), 200)],
        duration=50,
        loop=0,
    ),
    "cmyk.jpg": lambda: image_bytes(Image.new("CMYK", (60, 80), (0, 120, 200, 0)), "JPEG"),
    "deep.png": lambda: image_bytes(Image.fromarray(np.full((80, 60), 50000, np.uint16)), "PNG"),
    "rotated.jpg": _exif_rotated,
}


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Config, str]]:
    config = make_config(tmp_path_factory.mktemp("hostile") / "data")
    app = create_app(config)
    with serve_app(app) as server:
        yield config, server.url


def _uploads(config: Config) -> list[Path]:
    folder = config.data_dir / "cache" / "uploads"
    return sorted(folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_hostile_uploads_are_refused_and_nothing_is_kept(
    dashboard: tuple[Config, str], name: str
) -> None:
    config, url = dashboard
    data, why = REFUSED[name]
    before = _uploads(config)
    with requests.Session() as session:
        out = upload(session, url, data, name)
        assert out["my-photos"]["data"] == []
        assert f"{name} {why}" in str(out["upload-messages"]["children"])
        health = session.get(url + "/api/health", timeout=10)
    assert health.status_code == 200 and health.json()["images"] == 0
    assert _uploads(config) == before


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_odd_but_real_photos_are_accepted(dashboard: tuple[Config, str], name: str) -> None:
    config, url = dashboard
    data = ACCEPTED[name]()
    with requests.Session() as session:
        out = upload(session, url, data, name)
    photos = out["my-photos"]["data"]
    assert len(photos) == 1 and photos[0]["name"] == name
    kept = [p for p in _uploads(config) if p.stem == photos[0]["sha256"]]
    assert len(kept) == 1 and kept[0].read_bytes() == data  # kept by hash, not by name
    if name == "rotated.jpg":
        preview = Image.open(io.BytesIO(_b64(photos[0]["preview"])))
        assert preview.height > preview.width  # turned upright
    with Store(config.data_dir) as store:
        assert store.stats().images == 0  # a person's photo never joins the catalogue


def _b64(data_url: str) -> bytes:
    import base64

    return base64.b64decode(data_url.split(",", 1)[1])


def test_a_request_larger_than_the_server_limit_is_refused(dashboard: tuple[Config, str]) -> None:
    _, url = dashboard
    response = requests.post(
        url + "/_dash-update-component",
        data=b"x" * (200 * MB),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 413
    assert requests.get(url + "/api/health", timeout=10).status_code == 200


@pytest.fixture(scope="module")
def fault_site() -> Iterator[BackgroundServer]:
    with BackgroundServer(create_fault_app(), "127.0.0.1", 0) as server:
        yield server


def test_hostile_scraped_text_is_stored_as_text(
    fault_site: BackgroundServer, data_dir: Path
) -> None:
    config = make_config(
        data_dir,
        sources={
            "hostile": {
                "url": f"{fault_site.url}/hostile",
                "kind": "html",
                "allow_private_network": True,
                "selectors": {
                    "post": "article.post",
                    "image": "img.post-image",
                    "link": "a.post-link",
                    "caption": "p.caption",
                },
            }
        },
    )
    result = scrape(config.scraping, "boho", len(HOSTILE_POSTS), "hostile")
    assert result.progress.added == len(HOSTILE_POSTS)
    with Store(data_dir) as store:
        rows = store.images.cards(range(1, len(HOSTILE_POSTS) + 1))
    by_caption = {r["caption"][:20]: r for r in rows.values()}
    script = by_caption["<script>alert(1)</sc"]
    assert script["caption"] == "<script>alert(1)</script> so chic #boho"  # text, verbatim
    assert script["post_url"] is None  # javascript: links are not kept
    assert all(
        r["post_url"] is None or r["post_url"].startswith(fault_site.url) for r in rows.values()
    )
    emoji = next(r for r in rows.values() if "#🔥fire" in r["caption"])
    assert emoji["post_url"] is None  # data: link dropped too
    assert "موضة" in emoji["tags"] and "אופנה" in emoji["tags"] and "boho" in emoji["tags"]
    assert not any("🔥" in t for t in emoji["tags"])
    long = next(r for r in rows.values() if r["caption"].startswith("long long"))
    assert len(long["caption"]) >= 10_000 and "longread" in long["tags"]
