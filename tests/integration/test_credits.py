"""Whose photo it is: each site's author, author link and licence stored as the replica's answer
says them, hostile values bounded, and `reuse_only` keeping only posts whose licence allows it."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from sandbox.demo_feed.catalog import Catalog
from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from sandbox.replicas import (
    ReplicaOptions,
    create_bluesky_app,
    create_flickr_app,
    create_mastodon_app,
    create_pixelfed_app,
    serving,
)
from scraper.posts import credit_name
from scraper.scrape import downloader_for, scrape
from scraper.sources.registry import build_source
from scraper.sources.sites.flickr import decode_flickr
from store import Store
from stylescout.licences import FLICKR_LICENCES, allows_reuse, normalise
from stylescout.settings import DemoFeedConfig
from tests.conftest import make_config

FAST = {"retries": 1, "backoff_s": 0.01, "read_timeout_s": 5, "connect_timeout_s": 2}
FLICKR_KEY = "0123456789abcdef0123456789abcdef"


pytestmark = pytest.mark.usefixtures("no_source_credentials")


def config_for(data_dir: Path, name: str, base_url: str, **entry: Any) -> Any:
    source = {
        "base_url": base_url,
        "allow_private_network": True,
        "api": {"request_spacing_s": 0},
        **entry,
    }
    return make_config(data_dir, scraper=FAST, sources={name: source})


def stored(data_dir: Path) -> list[dict]:
    with Store(data_dir) as store:
        return [store.images.image(i) for i, _ in store.images.image_files()]


def answer(app: Flask, path: str, **args: str) -> Any:
    """What the replica answers a request (the same answer the scrape read)."""
    got = app.test_client().get(path, query_string=args, headers={"Accept": "application/json"})
    assert got.status_code == 200, got.data[:200]
    return json.loads(decode_flickr(got.data))


def flickr_search(app: Flask, extras: str) -> Any:
    """The replica's flickr.photos.search answer for #boho, as the source asks for it."""
    return answer(
        app,
        "/services/rest/",
        method="flickr.photos.search",
        api_key=FLICKR_KEY,
        tags="boho",
        extras=extras,
        per_page="100",
        format="json",
        nojsoncallback="1",
    )


def path_of(url: str | None) -> str:
    assert url is not None
    return urlsplit(url).path


# -- each site ------------------------------------------------------------------------------


def test_flickr_search_stores_the_owner_and_the_licence(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_flickr_app(ReplicaOptions(posts=40, token=FLICKR_KEY))
    monkeypatch.setenv("STYLESCOUT_FLICKR_API_KEY", FLICKR_KEY)
    with serving(app) as url:
        result = scrape(config_for(data_dir, "flickr", url).scraping, "boho", 100, "flickr")
    assert result.progress.added == 40
    sent = [r["args"] for r in app.config["requests"] if r["args"].get("method")]
    assert "license" in sent[0]["extras"].split(",") and "owner_name" in sent[0]["extras"]
    said = flickr_search(app, "license,owner_name")
    photos = {p["id"]: p for p in said["photos"]["photo"]}
    licences = set()
    for row in stored(data_dir):
        photo = photos[path_of(row["post_url"]).rstrip("/").rsplit("/", 1)[-1]]
        assert row["author"] == photo["ownername"]
        assert row["author_url"] == f"https://www.flickr.com/people/{photo['owner']}/"
        assert row["licence"] == FLICKR_LICENCES[photo["license"]]
        licences.add(row["licence"])
    assert len(licences) > 3  # the replica's photos carry several licences


def test_flickr_feed_stores_the_name_inside_its_author_line(data_dir: Path) -> None:
    app = create_flickr_app(ReplicaOptions(posts=20))
    with serving(app) as url:
        scrape(config_for(data_dir, "flickr", url).scraping, "boho", 100, "flickr")
    feed = answer(app, "/services/feeds/photos_public.gne", tags="boho", format="json")
    items = {path_of(i["link"]): i for i in feed["items"]}
    rows = stored(data_dir)
    assert len(rows) == 20
    for row in rows:
        item = items[path_of(row["post_url"])]
        assert item["author"] == f'nobody@flickr.com ("{row["author"]}")'
        assert row["author_url"] == f"https://www.flickr.com/people/{item['author_id']}/"
        assert row["licence"] is None  # the feed gives none


@pytest.mark.parametrize("site", ["mastodon", "pixelfed"])
def test_mastodon_and_pixelfed_store_the_account(
    site: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "tok-0123456789abcdef"
    factory = create_mastodon_app if site == "mastodon" else create_pixelfed_app
    app = factory(ReplicaOptions(posts=30, token=token))
    monkeypatch.setenv(f"STYLESCOUT_{site.upper()}_TOKEN", token)
    with serving(app) as url:
        config = config_for(data_dir, site, url, enabled=True)
        result = scrape(config.scraping, "boho", 100, site)
    assert result.progress.added > 0
    statuses = answer(
        app,
        "/api/v1/timelines/tag/boho",
        limit="40",
        only_media="true",
        access_token=token,
    )
    accounts = {path_of(s["url"]): s["account"] for s in statuses}
    for row in stored(data_dir):
        account = accounts[path_of(row["post_url"])]
        assert row["author"] == account["acct"]
        assert path_of(row["author_url"]) == path_of(account["url"])
        assert row["author_url"].startswith("http://127.0.0.1:")  # the replica's own address
        assert row["licence"] is None


def test_bluesky_stores_the_handle_and_its_profile(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_bluesky_app(ReplicaOptions(posts=24, token="app-pass-word-1234"))
    monkeypatch.setenv("STYLESCOUT_BLUESKY_HANDLE", "scout.bsky.social")
    monkeypatch.setenv("STYLESCOUT_BLUESKY_APP_PASSWORD", "app-pass-word-1234")
    with serving(app) as url:
        config = config_for(data_dir, "bluesky", url, enabled=True)
        result = scrape(config.scraping, "boho", 100, "bluesky")
    assert result.progress.added > 0
    by_url = {p.url: p for p in app.config["catalogue"]["boho"]}
    for row in stored(data_dir):
        post = by_url[path_of(row["post_url"])]  # /profile/<handle>/post/<rkey>
        handle = post.url.split("/")[2]
        assert row["author"] == handle
        assert row["author_url"] == f"https://bsky.app/profile/{handle}"
        assert row["licence"] is None


def test_the_demo_feeds_pages_give_the_user_and_cc0(data_dir: Path) -> None:
    feed_config = DemoFeedConfig(posts_per_style=25)
    catalog = Catalog(feed_config)
    with BackgroundServer(create_feed_app(feed_config), "127.0.0.1", 0) as feed:
        config = make_config(
            data_dir, demo_feed={"posts_per_style": 25, "port": feed.port}, scraper=FAST
        )
        result = scrape(config.scraping, "boho", 8, "demo-html")
    assert result.progress.added == 8
    by_id = {p.id: p for p in catalog.posts}
    for row in stored(data_dir):
        post = by_id[row["post_url"].rsplit("/", 1)[-1]]
        assert row["author"] == f"@{post.user}" and row["author_url"] is None
        assert row["licence"] == "CC0-1.0"


# -- reuse_only -----------------------------------------------------------------------------


def test_reuse_only_keeps_the_reusable_licences_and_counts_the_rest(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_flickr_app(ReplicaOptions(posts=60, token=FLICKR_KEY))
    monkeypatch.setenv("STYLESCOUT_FLICKR_API_KEY", FLICKR_KEY)
    with serving(app) as url:
        config = config_for(data_dir, "flickr", url, reuse_only=True)
        source = build_source("flickr", config.scraping, downloader_for(config.scraping, "flickr"))
        heard: list[tuple[str, str | None]] = []
        source.report_skip = lambda reason, where: heard.append((reason, where))
        posts = list(source.search("boho"))
        result = scrape(config.scraping, "boho", 100, "flickr")
    said = flickr_search(app, "license")["photos"]["photo"]
    closed = [p for p in said if not allows_reuse(normalise(p["license"], FLICKR_LICENCES))]
    assert closed and len(closed) < len(said)  # the replica has both kinds
    assert len(posts) == len(said) - len(closed)
    assert all(allows_reuse(p.licence) for p in posts)
    assert source.skipped["licence"] == len(closed)
    assert [r for r, _ in heard] == ["licence"] * len(closed)
    assert all(where and "/photos/" in where for _, where in heard)  # each said with its post
    assert result.progress.added == len(posts)
    assert all(allows_reuse(r["licence"]) for r in stored(data_dir))


def test_reuse_only_on_a_site_without_licences_keeps_nothing_and_says_why(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_mastodon_app(ReplicaOptions(posts=10))
    with serving(app) as url:
        config = config_for(data_dir, "mastodon", url, reuse_only=True)
        source = build_source(
            "mastodon", config.scraping, downloader_for(config.scraping, "mastodon")
        )
        with caplog.at_level(logging.WARNING):
            assert list(source.search("boho")) == []
    assert source.skipped["licence"] > 0
    warned = [r.getMessage() for r in caplog.records if "reuse_only" in r.getMessage()]
    assert len(warned) == 1 and "without a licence" in warned[0]


# -- hostile values -------------------------------------------------------------------------


def test_a_sites_hostile_credit_is_bounded_to_one_line_and_a_web_link(data_dir: Path) -> None:
    config = make_config(
        data_dir,
        sources={
            "odd": {
                "kind": "api",
                "url": "https://api.example/tag/{tag}",
                "api": {
                    "fields": {
                        "image": ["img"],
                        "author": "who.name",
                        "author_url": "who.url",
                        "licence": "rights",
                    }
                },
            }
        },
    )
    source = build_source("odd", config.scraping, downloader_for(config.scraping, "odd"))
    page: Any = SimpleNamespace(response=SimpleNamespace(url="https://api.example/tag/boho"))

    def credit(who: Any, rights: Any = None) -> tuple[Any, Any, Any]:
        item = {"img": "https://img.example/1.jpg", "who": who, "rights": rights}
        post = source.post_from(item, page)
        assert post is not None
        return post.author, post.author_url, post.licence

    long_name = "x" * 5000
    assert credit({"name": "Ana\n\u202eevil\x00 B.", "url": "javascript:alert(1)"}) == (
        "Ana evil B.",
        None,
        None,
    )
    assert credit({"name": long_name, "url": "/@ana"}, "CC BY 4.0") == (
        "x" * 200,
        "https://api.example/@ana",
        "CC-BY-4.0",
    )
    assert credit({"name": ["a", "b"], "url": {"x": 1}}, "<script>") == (None, None, None)
    assert credit({"name": "   ", "url": "http://[x/y"}, True) == (None, None, None)
    assert credit_name(12345) == "12345" and credit_name(False) is None
