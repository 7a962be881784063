"""The JSON-API sources against local replicas of the services (sandbox/replicas/): what
each stores, how it pages, what it says when a site refuses, waits or misbehaves."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask, redirect, request

from sandbox.replicas import (
    ReplicaOptions,
    ReplicaPost,
    create_bluesky_app,
    create_flickr_app,
    create_mastodon_app,
    create_pixelfed_app,
    create_tumblr_app,
    serving,
)
from scraper.scrape import ScrapeResult, downloader_for, scrape, scrape_sources
from scraper.sources.api import Endpoint
from scraper.sources.registry import build_source
from scraper.sources.sites import bluesky
from store import Store
from stylescout.errors import ConfigError, ScrapeError
from tests.conftest import make_config

FAST = {"retries": 2, "backoff_s": 0.01, "read_timeout_s": 5, "connect_timeout_s": 2}


pytestmark = pytest.mark.usefixtures("no_source_credentials")


@pytest.fixture
def site(request: pytest.FixtureRequest) -> Iterator[tuple[Flask, str]]:
    factory, opts = request.param
    app = factory(opts)
    with serving(app) as url:
        yield app, url


def replica(factory: Any, **options: Any) -> tuple[Any, ReplicaOptions]:
    return factory, ReplicaOptions(**options)


def config_for(data_dir: Path, name: str, base_url: str, **entry: Any) -> Any:
    """The built-in source `name` pointed at a replica: only base_url and what is given change."""
    api = {"request_spacing_s": 0, **entry.pop("api", {})}
    scraper = {**FAST, **entry.pop("scraper", {})}
    source = {"base_url": base_url, "allow_private_network": True, "api": api, **entry}
    return make_config(data_dir, scraper=scraper, sources={name: source})


def stored(data_dir: Path) -> list[dict]:
    with Store(data_dir) as store:
        return [store.images.image(i) for i, _ in store.images.image_files()]


def api_requests(app: Flask) -> list[dict]:
    return [r for r in app.config["requests"] if r["kind"] == "api"]


def expected_images(app: Flask, tag: str = "boho", skip: tuple[str, ...] = ()) -> list[str]:
    posts: list[ReplicaPost] = app.config["catalogue"][tag]
    return [path for p in posts if p.kind not in skip for path in p.images[:4]]


def paths(rows: list[dict]) -> set[str]:
    return {urlsplit(r["source_url"]).path for r in rows}


def summary(result: ScrapeResult) -> dict[str, Any]:
    p = result.progress
    return {"added": p.added, "failed": dict(p.failed_by_reason), "status": p.status}


# -- Mastodon -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "site", [replica(create_mastodon_app, posts=45, boosts=True)], indirect=True
)
def test_mastodon_pages_by_link_and_stores_image_posts_only(
    site: tuple[Flask, str], data_dir: Path
) -> None:
    app, url = site
    config = config_for(data_dir, "mastodon", url)
    result = scrape(config.scraping, "boho", 500, "mastodon")
    want = expected_images(app, skip=("boost",))
    assert summary(result) == {"added": len(want), "failed": {}, "status": "completed"}
    rows = stored(data_dir)
    assert paths(rows) == {urlsplit(p).path for p in want}  # no videos, gifs, avatars, boosts
    by_post = {p.url: p for p in app.config["catalogue"]["boho"]}
    for row in rows:
        post = by_post[urlsplit(row["post_url"]).path]
        assert row["source"] == "mastodon" and row["likes"] == post.likes
        assert row["posted_at"].startswith(post.created_at.strftime("%Y-%m-%dT%H:%M"))
        assert "<" not in row["caption"] and "#boho" in row["caption"]
    calls = api_requests(app)
    assert calls[0]["args"]["limit"] == "40" and calls[0]["args"]["only_media"] == "true"
    assert all("max_id" in c["args"] for c in calls[1:]) and len(calls) >= 2
    assert not any(c["auth_present"] for c in calls)  # keyless: no token sent


@pytest.mark.parametrize(
    "site", [replica(create_mastodon_app, posts=6, images_per_post={0: 50, 1: 3})], indirect=True
)
def test_every_image_of_a_post_is_stored_up_to_the_cap(
    site: tuple[Flask, str], data_dir: Path
) -> None:
    app, url = site
    config = config_for(data_dir, "mastodon", url, api={"max_images_per_post": 4})
    scrape(config.scraping, "boho", 100, "mastodon")
    rows = stored(data_dir)
    first = app.config["catalogue"]["boho"][0]
    of_first = [r for r in rows if urlsplit(r["post_url"]).path == first.url]
    assert len(first.images) == 50 and len(of_first) == 4  # capped
    assert {urlsplit(r["source_url"]).path for r in of_first} == set(first.images[:4])
    # a second run finds every post stored: nothing fetched again
    again = scrape(config.scraping, "boho", 100, "mastodon")
    assert again.progress.added == 0 and again.progress.skipped == len(rows)


@pytest.mark.parametrize("site", [replica(create_mastodon_app, require_token=True)], indirect=True)
def test_a_signed_in_only_instance_says_which_variable_to_set(
    site: tuple[Flask, str], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, url = site
    config = config_for(data_dir, "mastodon", url)
    with pytest.raises(ScrapeError, match=r"signed-in users only.*set STYLESCOUT_MASTODON_TOKEN"):
        scrape(config.scraping, "boho", 10, "mastodon")
    monkeypatch.setenv("STYLESCOUT_MASTODON_TOKEN", "user-token-0123456789")
    result = scrape(config.scraping, "boho", 10, "mastodon")
    assert result.progress.added == 10
    assert all(c["auth_present"] for c in api_requests(app)[1:])


@pytest.mark.parametrize(
    "site",
    [replica(create_mastodon_app, posts=60, rate_limit_at=2, rate_limit_wait_s=1.5)],
    indirect=True,
)
def test_a_429_is_waited_out_as_long_as_the_instance_asks(
    site: tuple[Flask, str], data_dir: Path
) -> None:
    app, url = site
    config = config_for(data_dir, "mastodon", url)
    started = time.monotonic()
    result = scrape(config.scraping, "boho", 60, "mastodon")
    took = time.monotonic() - started
    assert result.progress.status == "completed" and result.progress.failed == 0
    assert result.progress.added == len(expected_images(app))
    assert took >= 0.9  # X-RateLimit-Reset (an ISO time, whole seconds) was honoured


@pytest.mark.parametrize(
    "site",
    [replica(create_mastodon_app, posts=60, rate_limit_at=2, rate_limit_wait_s=120)],
    indirect=True,
)
def test_a_wait_beyond_the_cap_stops_with_a_line_saying_when(
    site: tuple[Flask, str], data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, url = site
    config = config_for(data_dir, "mastodon", url, api={"max_rate_limit_wait_s": 5})
    started = time.monotonic()
    result = scrape(config.scraping, "boho", 60, "mastodon")
    assert time.monotonic() - started < 20
    assert result.progress.failed_by_reason["rate_limited"] == 1
    assert 0 < result.progress.added < 60  # the first page is kept
    assert "asks to wait" in caplog.text and "run the scrape again after" in caplog.text


@pytest.mark.parametrize(
    "site",
    [
        replica(
            create_mastodon_app,
            posts=50,
            fail_first=2,
            duplicate_across_pages=True,
            image_status={0: 404, 2: 429},
        )
    ],
    indirect=True,
)
def test_5xx_then_success_repeated_posts_and_failing_images(
    site: tuple[Flask, str], data_dir: Path
) -> None:
    app, url = site
    config = config_for(data_dir, "mastodon", url)
    result = scrape(config.scraping, "boho", 500, "mastodon")
    failing = {p.index for p in app.config["catalogue"]["boho"] if p.images} & {0, 2}
    want = len(expected_images(app)) - sum(
        len(app.config["catalogue"]["boho"][i].images[:4]) for i in failing
    )
    assert result.progress.added == want
    failed = result.progress.failed_by_reason
    assert (
        set(failed) <= {"http_404", "http_429"}
        and sum(failed.values()) == len(expected_images(app)) - want
    )
    assert result.progress.duplicates == 0  # the post on two pages was given once


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        ("not_json", "not JSON"),
        ("deep", "nests"),
        ("too_big", "too_large"),
        ("not_gzip", r"^bad_encoding: .*\(Content-Encoding: gzip\)$"),
        ("chained", r"^bad_encoding: .*\(Content-Encoding: gzip, gzip, "),
    ],
)
def test_a_first_page_that_cannot_be_read_stops_with_its_reason(
    bad: str, said: str, data_dir: Path
) -> None:
    app = create_mastodon_app(ReplicaOptions(posts=5, bad_body=bad, too_big_bytes=6_000_000))
    with serving(app) as url:
        config = config_for(data_dir, "mastodon", url)
        with pytest.raises(ScrapeError, match=said):
            scrape(config.scraping, "boho", 5, "mastodon")


def test_unknown_tags_empty_pages_and_private_addresses(data_dir: Path) -> None:
    app = create_mastodon_app(ReplicaOptions(posts=5))
    with serving(app) as url:
        config = config_for(data_dir, "mastodon", url)
        nothing = scrape(config.scraping, "nosuchtag", 5, "mastodon")
        assert nothing.progress.added == 0 and nothing.progress.status == "completed"
        closed = make_config(data_dir, sources={"mastodon": {"base_url": url}})
        with pytest.raises(ScrapeError, match="private_address"):
            scrape(closed.scraping, "boho", 5, "mastodon")
    assert all(c["args"].get("limit") == "40" for c in api_requests(app))


def test_instances_are_walked_in_turn_and_one_refusing_does_not_stop_the_others(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    closed = create_mastodon_app(ReplicaOptions(posts=5, require_token=True))
    open_ = create_mastodon_app(ReplicaOptions(posts=8, tags=frozenset({"boho"})))
    with serving(closed) as first, serving(open_) as second:
        config = make_config(
            data_dir,
            scraper=FAST,
            sources={
                "mastodon": {
                    "instances": [first, second],
                    "allow_private_network": True,
                    "api": {"request_spacing_s": 0},
                }
            },
        )
        result = scrape(config.scraping, "boho", 100, "mastodon")
    assert result.progress.added == len(expected_images(open_))
    assert "signed-in users only" in caplog.text


def test_a_field_path_that_matches_nothing_is_counted_with_its_name(data_dir: Path) -> None:
    app = create_mastodon_app(ReplicaOptions(posts=6))
    with serving(app) as url:
        config = config_for(data_dir, "mastodon", url, api={"fields": {"image": ["media[].url"]}})
        result = scrape(config.scraping, "boho", 5, "mastodon")
    assert result.progress.added == 0
    assert result.progress.failed_by_reason["field media[].url"] >= 1


# -- Pixelfed -------------------------------------------------------------------------------


def test_pixelfed_needs_a_token_before_any_request_and_pages_by_max_id(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_pixelfed_app(ReplicaOptions(posts=45, token="pf-token-0123456789"))
    with serving(app) as url:
        config = config_for(data_dir, "pixelfed", url, enabled=True)
        with pytest.raises(ConfigError, match="set STYLESCOUT_PIXELFED_TOKEN"):
            scrape(config.scraping, "boho", 5, "pixelfed")
        assert app.config["requests"] == []
        monkeypatch.setenv("STYLESCOUT_PIXELFED_TOKEN", "wrong-token")
        with pytest.raises(ScrapeError, match="STYLESCOUT_PIXELFED_TOKEN"):
            scrape(config.scraping, "boho", 5, "pixelfed")
        monkeypatch.setenv("STYLESCOUT_PIXELFED_TOKEN", "pf-token-0123456789")
        result = scrape(config.scraping, "boho", 500, "pixelfed")
    assert result.progress.added == len(expected_images(app)) and result.progress.failed == 0
    calls = [c for c in api_requests(app) if c["auth_valid"]]
    assert len(calls) >= 2 and all("max_id" in c["args"] for c in calls[1:])


# -- Bluesky --------------------------------------------------------------------------------


def test_bluesky_logs_in_once_and_reads_every_kind_of_image_embed(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_bluesky_app(ReplicaOptions(posts=130, token="app-pass-word-1234"))
    with serving(app) as url:
        config = config_for(data_dir, "bluesky", url, enabled=True)
        monkeypatch.setenv("STYLESCOUT_BLUESKY_HANDLE", "scout.bsky.social")
        monkeypatch.setenv("STYLESCOUT_BLUESKY_APP_PASSWORD", "not-it")
        with pytest.raises(ScrapeError, match=r"logging in as scout.bsky.social failed"):
            scrape(config.scraping, "boho", 5, "bluesky")
        monkeypatch.setenv("STYLESCOUT_BLUESKY_APP_PASSWORD", "app-pass-word-1234")
        logins = app.config["logins"]
        first = scrape(config.scraping, "boho", 10, "bluesky")
        second = scrape(config.scraping, "boho", 500, "bluesky")
        assert app.config["logins"] == logins + 1  # the session was kept
    assert first.progress.added == 10
    assert first.progress.added + second.progress.added == len(expected_images(app))
    rows = stored(data_dir)
    want = {p.url for p in app.config["catalogue"]["boho"] if p.images}
    assert {urlsplit(r["post_url"]).path for r in rows} == want
    assert all(r["post_url"].startswith("https://bsky.app/profile/") for r in rows)
    calls = api_requests(app)
    assert calls[0]["args"]["q"] == "#boho" and calls[0]["args"]["sort"] == "latest"
    assert any("cursor" in c["args"] for c in calls)  # 100 a page: a second page by cursor


def test_bluesky_refusals_are_explained(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYLESCOUT_BLUESKY_HANDLE", "scout.bsky.social")
    monkeypatch.setenv("STYLESCOUT_BLUESKY_APP_PASSWORD", "pw")
    app = create_bluesky_app(ReplicaOptions(posts=5, html_403=True))
    with serving(app) as url:
        config = config_for(data_dir, "bluesky", url, enabled=True)
        source = build_source(
            "bluesky", config.scraping, downloader_for(config.scraping, "bluesky")
        )
        endpoint = Endpoint("bsky", url)
        # logged-out search on Bluesky's public server: its CDN's HTML page, not an API answer
        page = source.downloader.request_api(
            f"{url}/xrpc/app.bsky.feed.searchPosts", params={"q": "#boho"}, cap=100_000
        )
        assert page.status == 403
        error = source.refusal(page, None, endpoint)
        assert "not an API answer" in str(error) and "logged-in session" in str(error)
        missing = source.refusal(page, {"error": "AuthMissing"}, endpoint)
        assert "AuthMissing" in str(missing)
    off = make_config(data_dir)
    with pytest.raises(ConfigError, match="switched off"):
        scrape(off.scraping, "boho", 5, "bluesky")


# -- Flickr ---------------------------------------------------------------------------------


def test_flickr_feed_without_a_key_gives_the_large_size(data_dir: Path) -> None:
    app = create_flickr_app(ReplicaOptions(posts=30))
    with serving(app) as url:
        config = config_for(data_dir, "flickr", url)
        result = scrape(config.scraping, "boho", 100, "flickr")
    rows = stored(data_dir)
    assert result.progress.added == 20 == len(rows)  # the feed's newest 20, no paging
    assert all(urlsplit(r["source_url"]).path.endswith("_b.jpg") for r in rows)
    assert {urlsplit(r["source_url"]).path for r in rows} <= set(expected_images(app))
    assert any("'" in (r["caption"] or "") for r in rows) or rows  # \' escapes decoded


def test_flickr_search_with_a_key_pages_and_explains_a_bad_key(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_flickr_app(ReplicaOptions(posts=130, token="0123456789abcdef0123456789abcdef"))
    with serving(app) as url:
        config = config_for(data_dir, "flickr", url)
        monkeypatch.setenv("STYLESCOUT_FLICKR_API_KEY", "bad")
        with pytest.raises(ScrapeError, match=r"Flickr refused the API key.*STYLESCOUT_FLICKR"):
            scrape(config.scraping, "boho", 5, "flickr")
        monkeypatch.setenv("STYLESCOUT_FLICKR_API_KEY", "0123456789abcdef0123456789abcdef")
        result = scrape(config.scraping, "boho", 500, "flickr")
    assert result.progress.added == 130 and result.progress.failed == 0
    calls = api_requests(app)
    pages = [c["args"].get("page") for c in calls if c["args"].get("method")]
    assert pages[-2:] == [None, "2"] and all(
        c["args"].get("api_key") == "<redacted>" for c in calls if c["args"].get("method")
    )
    rows = stored(data_dir)
    assert all(r["post_url"].startswith("https://www.flickr.com/photos/") for r in rows)
    assert any(r["likes"] for r in rows)


# -- Tumblr ---------------------------------------------------------------------------------


@pytest.mark.parametrize("npf", [True, False], ids=["npf", "legacy format"])
def test_tumblr_reads_every_photo_post_in_either_format_and_skips_the_rest_by_reason(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, npf: bool
) -> None:
    """Today's mix: legacy photo posts, posts made in the apps (photos as NPF image blocks, or
    as `<figure><img srcset>` in a text post's body), GIFs, videos and text. Before, the source
    read only `photos[]`: 15 of 35 photo posts, 15 of 45 photos, and said `failed 0`."""
    app = create_tumblr_app(ReplicaOptions(posts=50, token="tumblr-key-0123456789"))
    params = {"tag": "{tag}", "limit": "20", **({"npf": "true"} if npf else {})}
    with serving(app) as url:
        config = config_for(data_dir, "tumblr", url, enabled=True, api={"params": params})
        monkeypatch.setenv("STYLESCOUT_TUMBLR_API_KEY", "wrong")
        with pytest.raises(ScrapeError, match=r"refused the credential.*STYLESCOUT_TUMBLR_API_KEY"):
            scrape(config.scraping, "boho", 5, "tumblr")
        monkeypatch.setenv("STYLESCOUT_TUMBLR_API_KEY", "tumblr-key-0123456789")
        result = scrape(config.scraping, "boho", 500, "tumblr")
    posts = app.config["catalogue"]["boho"]
    assert {p.kind for p in posts} == {"photo", "blocks", "text", "video", "animated"}
    assert sum(len(p.images) for p in posts if p.kind == "blocks") == 30  # 2 of 3 photos
    rows = stored(data_dir)  # each at its widest size: srcset's largest, NPF's widest media
    assert paths(rows) == set(expected_images(app)) and len(rows) == 45
    assert result.progress.failed == 0
    # credit: the blog that posted it, linked to the blog
    assert all(r["author"] and r["author_url"].endswith(f"/blog/{r['author']}/") for r in rows)
    assert result.progress.skipped_by_reason == {"animated": 5, "video": 5, "text only": 5}
    line = result.progress.summary(result.seconds)
    assert "skipped 15 posts (5 animated, 5 text only, 5 video)" in line, line
    calls = [c for c in api_requests(app) if c["auth_valid"]]
    assert len(calls) >= 3 and all("before" in c["args"] for c in calls[1:])
    assert all(("npf" in c["args"]) == npf for c in calls)
    # every post's tags list is kept, "vintage fashion" as one tag
    designed = {t for p in posts if p.images for t in p.tags}
    with Store(data_dir) as store:
        kept = {t for tags in store.images.tags_by_image().values() for t in tags}
    assert {"vintagefashion", "streetstyle"} <= designed <= kept, (designed, kept)


def test_tumblr_entry_asks_for_npf() -> None:
    from scraper.sources.sites import tumblr

    assert tumblr.ENTRY.api is not None and tumblr.ENTRY.api.params["npf"] == "true"


def test_mastodon_and_bluesky_say_what_they_skipped(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Videos, GIFs, link cards and text posts are named in the summary, by reason."""
    app = create_mastodon_app(ReplicaOptions(posts=20))
    with serving(app) as url:
        config = config_for(data_dir, "mastodon", url, instances=[url])
        result = scrape(config.scraping, "boho", 500, "mastodon")
    kinds = Counter(p.kind for p in app.config["catalogue"]["boho"])
    assert result.progress.skipped_by_reason == {"video": kinds["video"], "animated": kinds["gifv"]}
    assert result.progress.skipped_by_reason["video"] and "animated" in result.progress.summary(1)

    sky = create_bluesky_app(ReplicaOptions(posts=20))
    monkeypatch.setenv("STYLESCOUT_BLUESKY_HANDLE", "scout.bsky.social")
    monkeypatch.setenv("STYLESCOUT_BLUESKY_APP_PASSWORD", "app-password-1234")
    with serving(sky) as url:
        config = config_for(data_dir / "sky", "bluesky", url, enabled=True)
        result = scrape(config.scraping, "boho", 500, "bluesky")
        rows = stored(data_dir / "sky")
    assert set(result.progress.skipped_by_reason) == {"video", "link", "text only"}
    # tags kept only in record.tags (not written in the text) are stored too
    with Store(data_dir / "sky") as store:
        kept = store.images.tags_by_image()
    designed = {p.url.rsplit("/", 1)[-1]: set(p.tags) for p in sky.config["catalogue"]["boho"]}
    for row in rows:
        assert designed[row["post_url"].rsplit("/", 1)[-1]] <= set(kept[row["id"]])


@pytest.mark.parametrize(
    ("values", "tags"),
    [
        (["boho ootd vintage"], ["boho", "ootd", "vintage"]),  # Flickr: one space-separated string
        ([["boho", "ootd", "vintage fashion"]], ["boho", "ootd", "vintagefashion"]),  # Tumblr
        (["boho", "street style"], ["boho", "streetstyle"]),  # Mastodon's tags[].name, Bluesky's
        ([], []),
        ([7, None, {"a": 1}, [3, "ok"]], ["ok"]),  # junk from a site
    ],
)
def test_a_tags_path_keeps_every_tag_it_yields(values: list, tags: list[str]) -> None:
    from scraper.sources.api import field_tags

    assert field_tags(values) == tags


# -- several sources at once ----------------------------------------------------------------


def test_one_tag_from_three_sites_at_once_keeps_each_images_source(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STYLESCOUT_TUMBLR_API_KEY", "k")
    apps = {
        "mastodon": create_mastodon_app(ReplicaOptions(posts=30)),
        "flickr": create_flickr_app(ReplicaOptions(posts=30)),
        "tumblr": create_tumblr_app(ReplicaOptions(posts=30)),
    }
    with serving(apps["mastodon"]) as m, serving(apps["flickr"]) as f, serving(apps["tumblr"]) as t:
        entry = {"allow_private_network": True, "api": {"request_spacing_s": 0}}
        config = make_config(
            data_dir,
            scraper=FAST,
            sources={
                "mastodon": {**entry, "base_url": m},
                "flickr": {**entry, "base_url": f},
                "tumblr": {**entry, "base_url": t, "enabled": True},
            },
        )
        outcomes = scrape_sources(config.scraping, "boho", 12, ["mastodon", "flickr", "tumblr"])
    assert [o.source for o in outcomes] == ["mastodon", "flickr", "tumblr"]
    assert all(o.error is None and o.result.progress.added == 12 for o in outcomes)
    with Store(data_dir) as store:
        by_source = store.stats().sources
    assert by_source == {"mastodon": 12, "flickr": 12, "tumblr": 12}


def test_a_post_stopped_half_way_is_finished_image_by_image(data_dir: Path) -> None:
    app = create_mastodon_app(ReplicaOptions(posts=1, images_per_post={0: 4}))
    with serving(app) as url:
        config = config_for(data_dir, "mastodon", url, scraper={"workers": 1})
        first = scrape(config.scraping, "boho", 2, "mastodon")
        again = scrape(config.scraping, "boho", 4, "mastodon")
    assert first.progress.added == 2
    assert (again.progress.skipped, again.progress.added) == (2, 2)
    assert len(stored(data_dir)) == 4


def test_the_token_goes_to_its_own_site_only(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str | None] = []
    elsewhere = Flask("elsewhere")

    @elsewhere.get("/api/v1/timelines/tag/<tag>")
    def other(tag: str) -> object:
        seen.append(request.headers.get("Authorization"))
        return []

    with serving(elsewhere) as other_url:
        redirector = Flask("redirector")

        @redirector.get("/api/v1/timelines/tag/<tag>")
        def away(tag: str) -> object:
            return redirect(f"{other_url}/api/v1/timelines/tag/{tag}?from=redirect")

        with serving(redirector) as url:
            monkeypatch.setenv("STYLESCOUT_MASTODON_TOKEN", "secret-token-0123456789")
            config = config_for(data_dir, "mastodon", url)
            result = scrape(config.scraping, "boho", 5, "mastodon")
    assert result.progress.status == "completed" and seen == [None]


def test_each_instance_gets_the_token_it_issued_and_no_other(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`instances: [{host, token_env}]`: each instance's token goes to it alone; one token for
    several instances is refused in one line, before any request."""
    seen: dict[str, list[str | None]] = {"a": [], "b": [], "c": []}

    def instance(name: str) -> Flask:
        app = Flask(name)

        @app.get("/api/v1/timelines/tag/<tag>")
        def timeline(tag: str) -> object:
            seen[name].append(request.headers.get("Authorization"))
            return []

        return app

    monkeypatch.setenv("TOKEN_OF_A", "token-a-0123456789")
    monkeypatch.setenv("TOKEN_OF_B", "token-b-0123456789")
    with serving(instance("a")) as a, serving(instance("b")) as b, serving(instance("c")) as c:
        instances = [
            {"host": a, "token_env": "TOKEN_OF_A"},
            {"host": b, "token_env": "TOKEN_OF_B"},
            c,
        ]
        config = config_for(data_dir, "mastodon", None, instances=instances)  # type: ignore[arg-type]
        result = scrape(config.scraping, "boho", 5, "mastodon")
        assert result.progress.status == "completed"
        assert seen == {
            "a": ["Bearer token-a-0123456789"],
            "b": ["Bearer token-b-0123456789"],
            "c": [None],
        }
        monkeypatch.setenv("STYLESCOUT_MASTODON_TOKEN", "one-token-for-all-0123")
        config = config_for(data_dir, "mastodon", None, instances=[a, c])  # type: ignore[arg-type]
        with pytest.raises(ConfigError) as info:  # a setting to change: exit 2 on the CLI
            scrape(config.scraping, "boho", 5, "mastodon")
    message = str(info.value)
    assert "belongs to the instance that issued it" in message and "one-token" not in message
    assert seen["a"] == ["Bearer token-a-0123456789"]  # nothing more was sent anywhere


@pytest.mark.parametrize(("private", "reason"), [(False, "private_address"), (True, "connection")])
def test_an_api_key_never_shows_in_an_error(
    private: bool, reason: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STYLESCOUT_TUMBLR_API_KEY", "tumblr-secret-key-123")
    entry = {"base_url": "http://127.0.0.1:9", "enabled": True, "allow_private_network": private}
    config = make_config(data_dir, scraper={**FAST, "retries": 0}, sources={"tumblr": entry})
    with pytest.raises(ScrapeError) as info:
        scrape(config.scraping, "boho", 5, "tumblr")
    message = str(info.value)
    assert reason in message and ("api_key=%2A%2A%2A" in message or "api_key=***" in message)
    assert "tumblr-secret-key-123" not in message


def test_slow_answers_time_out_in_one_line_and_an_empty_first_page_ends_the_walk(
    data_dir: Path,
) -> None:
    slow = create_mastodon_app(ReplicaOptions(posts=5, latency_s=1.5))
    with serving(slow) as url:
        config = config_for(data_dir, "mastodon", url, scraper={"read_timeout_s": 0.5})
        with pytest.raises(ScrapeError, match="timeout"):
            scrape(config.scraping, "boho", 5, "mastodon")
    empty = create_mastodon_app(ReplicaOptions(posts=50, empty_first_page=True))
    with serving(empty) as url:
        result = scrape(config_for(data_dir, "mastodon", url).scraping, "boho", 5, "mastodon")
    assert result.progress.added == 0 and result.progress.status == "completed"
    assert len(api_requests(empty)) == 1  # `[]` without a Link header is the end


def test_bluesky_login_limits_and_bad_queries(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STYLESCOUT_BLUESKY_HANDLE", "scout.bsky.social")
    monkeypatch.setenv("STYLESCOUT_BLUESKY_APP_PASSWORD", "pw")
    app = create_bluesky_app(ReplicaOptions(posts=5, login_limit=0, rate_limit_wait_s=1))
    with serving(app) as url:
        config = config_for(data_dir, "bluesky", url, enabled=True)
        started = time.monotonic()
        with pytest.raises(ScrapeError, match="logins are rate limited"):
            scrape(config.scraping, "boho", 5, "bluesky")
        assert time.monotonic() - started >= 0.9  # RateLimit-Reset was waited out once
    bluesky.forget_sessions()
    app = create_bluesky_app(ReplicaOptions(posts=5))
    with serving(app) as url:
        config = config_for(
            data_dir, "bluesky", url, enabled=True, api={"params": {"q": "#{tag}", "limit": "150"}}
        )
        with pytest.raises(ScrapeError, match=r"HTTP 400.*limit"):
            scrape(config.scraping, "boho", 5, "bluesky")


def test_probe_says_why_each_skipped_post_was_passed_over(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scraper.probe import probe

    app = create_tumblr_app(ReplicaOptions(posts=10, token="tumblr-key-0123456789"))
    monkeypatch.setenv("STYLESCOUT_TUMBLR_API_KEY", "tumblr-key-0123456789")
    said: list[str] = []
    with serving(app) as url:
        config = config_for(data_dir, "tumblr", url, enabled=True)
        assert probe(config.scraping, "tumblr", "boho", 10, said.append) == 0
    catalogue = app.config["catalogue"]["boho"]
    skipped = [line for line in said if line.startswith("-  skipped")]
    expected = [
        f"-  skipped ({reason}): {url}{p.url}"
        for p in catalogue
        if (reason := {"text": "text only", "video": "video", "animated": "animated"}.get(p.kind))
    ]
    assert skipped == expected, said
    assert "skipped 3 posts (1 animated, 1 text only, 1 video)" in said
    numbered = [line for line in said if line.split(". ")[0].isdigit()]
    assert len(numbered) == 7  # the posts with photos
