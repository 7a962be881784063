"""Tumblr's post formats, item by item: NPF blocks (reblog trails too), legacy photo posts and
blocks-format bodies, with every other kind skipped by its reason, and hostile values ignored."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from scraper.downloader import ApiResponse, Downloader
from scraper.sources.api import Page, Request
from scraper.sources.base import SourceSpec
from scraper.sources.sites import tumblr
from stylescout.settings import ScraperConfig

BASE = "https://api.tumblr.com/v2/tagged"
MEDIA = "https://64.media.tumblr.com/abc"


@pytest.fixture
def source(monkeypatch: pytest.MonkeyPatch) -> tumblr.TumblrSource:
    monkeypatch.setenv("STYLESCOUT_TUMBLR_API_KEY", "key")
    spec = SourceSpec("tumblr", tumblr.ENTRY.model_copy(update={"enabled": True}))
    return tumblr.TumblrSource(spec, Downloader(ScraperConfig()), threading.Event())


def read(source: tumblr.TumblrSource, item: Any) -> tuple[list[str], list[str]]:
    """(image URLs of the post, skip reasons) for one item."""
    skips: list[str] = []
    source.report_skip = lambda reason, where: skips.append(reason)
    page = Page({}, ApiResponse(200, {}, b"", BASE), Request(BASE))
    post = source.post_from({"post_url": "https://x.tumblr.com/post/1", **item}, page)
    return (list(post.image_urls) if post else []), skips


def image(url: str, width: int, kind: str = "image/jpeg") -> dict[str, Any]:
    return {"type": kind, "url": url, "width": width, "height": width}


def test_npf_image_blocks_give_the_widest_size_in_order(source: tumblr.TumblrSource) -> None:
    content = [
        {"type": "text", "text": "fit check"},
        {
            "type": "image",
            "media": [image(f"{MEDIA}/a_540.jpg", 540), image(f"{MEDIA}/a.jpg", 2048)],
        },
        {
            "type": "image",
            "media": [image(f"{MEDIA}/b.jpg", 1280), image(f"{MEDIA}/b_250.jpg", 250)],
        },
    ]
    assert read(source, {"type": "blocks", "content": content}) == (
        [f"{MEDIA}/a.jpg", f"{MEDIA}/b.jpg"],
        [],
    )


def test_a_reblog_shows_the_photos_of_its_trail(source: tumblr.TumblrSource) -> None:
    root = {"content": [{"type": "image", "media": [image(f"{MEDIA}/root.jpg", 1280)]}]}
    item = {"type": "blocks", "trail": [root], "content": [{"type": "text", "text": "love"}]}
    assert read(source, item) == ([f"{MEDIA}/root.jpg"], [])


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ([{"type": "image", "media": [image(f"{MEDIA}/g.gif", 500, "image/gif")]}], "animated"),
        ([{"type": "video", "provider": "tumblr", "media": {"url": f"{MEDIA}/v.mp4"}}], "video"),
        ([{"type": "audio", "provider": "spotify", "url": "https://open.spotify.com/x"}], "audio"),
        ([{"type": "link", "url": "https://shop.example/dress"}], "link"),
        ([{"type": "text", "text": "just words"}], "text only"),
        ([], "text only"),
    ],
)
def test_npf_posts_without_a_photo_are_skipped_by_reason(
    source: tumblr.TumblrSource, content: list, reason: str
) -> None:
    assert read(source, {"type": "blocks", "content": content}) == ([], [reason])


def test_legacy_photo_posts_give_their_original_size(source: tumblr.TumblrSource) -> None:
    photos = [{"original_size": {"url": f"{MEDIA}/p{i}_1280.jpg"}, "alt_sizes": []} for i in (1, 2)]
    assert read(source, {"type": "photo", "photos": photos}) == (
        [f"{MEDIA}/p1_1280.jpg", f"{MEDIA}/p2_1280.jpg"],
        [],
    )


def test_blocks_format_body_figures_give_the_largest_srcset_candidate(
    source: tumblr.TumblrSource,
) -> None:
    body = (
        f'<p>hi</p><figure class="tmblr-full"><img src="{MEDIA}/s640x960/x.jpg"'
        f' srcset="{MEDIA}/s75x75_c1/x.jpg 75w, {MEDIA}/s1280x1920/x.jpg 1080w,'
        f' {MEDIA}/s640x960/x.jpg 640w"/></figure>'
        f'<figure><img src="{MEDIA}/s640x960/y.jpg"/></figure>'
        f'<p><img src="{MEDIA}/inline-emoji.png"/></p>'  # not a figure: not a photo of the post
    )
    item = {"type": "text", "is_blocks_post_format": True, "body": body}
    assert read(source, item) == ([f"{MEDIA}/s1280x1920/x.jpg", f"{MEDIA}/s640x960/y.jpg"], [])


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (
            {"type": "text", "body": f'<figure><img src="{MEDIA}/s540x540/g.gif"/></figure>'},
            "animated",
        ),
        ({"type": "text", "body": '<figure><video><source src="v.mp4"></video></figure>'}, "video"),
        ({"type": "text", "body": "<p>words</p>"}, "text only"),
        ({"type": "video", "video_url": f"{MEDIA}/v.mp4"}, "video"),
        ({"type": "audio"}, "audio"),
        ({"type": "quote", "text": "..."}, "text only"),
        ({"type": "link", "url": "https://shop.example"}, "link"),
    ],
)
def test_legacy_posts_without_a_photo_are_skipped_by_reason(
    source: tumblr.TumblrSource, item: dict, reason: str
) -> None:
    assert read(source, item) == ([], [reason])


@pytest.mark.parametrize(
    "item",
    [
        {"content": "not a list"},
        {"content": [None, 7, {"type": "image", "media": "x"}, {"type": "image", "media": [None]}]},
        {"content": [{"type": "image", "media": [{"url": "javascript:alert(1)", "width": 9}]}]},
        {"content": [{"type": "image", "media": [{"url": 5, "width": True}]}]},
        {"trail": "x", "content": [{"type": "image", "media": [{"url": None}]}]},
        {"photos": [None, {"original_size": "x"}, {"original_size": {"url": ["a"]}}]},
        {"body": 12},
        {"body": "<figure><img srcset='  ,, ' src='ftp://x/y.jpg'></figure>"},
    ],
)
def test_hostile_values_give_no_image_and_no_error(source: tumblr.TumblrSource, item: dict) -> None:
    images, skips = read(source, {"type": "blocks", **item})
    assert images == [] and len(skips) == 1


def test_a_post_is_capped_at_max_images(source: tumblr.TumblrSource) -> None:
    content = [{"type": "image", "media": [image(f"{MEDIA}/{i}.jpg", 1280)]} for i in range(100)]
    images, _ = read(source, {"type": "blocks", "content": content})
    assert len(images) == source.api.max_images_per_post
