from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup, Tag

from scraper.parsing import image_url, next_page_link, parse_count, parse_posts, parse_time
from stylescout.settings import Selectors


def img(html: str) -> Tag:
    return BeautifulSoup(html, "lxml").img


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<img src="a.jpg">', "a.jpg"),
        ('<img src="data:image/gif;base64,R0l" data-src="real.jpg">', "real.jpg"),
        ('<img src="s.jpg" srcset="s.jpg 160w, l.jpg 640w, m.jpg 320w">', "l.jpg"),
        ('<img srcset="one.jpg 1x, two.jpg 2x">', "two.jpg"),
        ('<img data-srcset="x.jpg 100w, y.jpg 900w" src="p.gif">', "y.jpg"),
        ("<img>", None),
        (  # a <picture>: the largest storable <source> beats the small <img> fallback
            '<picture><source type="image/avif" srcset="huge.avif 2000w">'
            '<source type="image/webp" srcset="m.webp 640w, l.webp 1080w">'
            '<source srcset="j.jpg 800w"><img src="fallback.jpg" srcset="f.jpg 320w"></picture>',
            "l.webp",
        ),
        ('<picture><source srcset="a.jpg 1x, b.jpg 2x"><img src="s.jpg"></picture>', "b.jpg"),
        (  # widths say how many pixels; a density does not
            '<picture><source srcset="d.jpg 3x"><img srcset="w.jpg 640w"></picture>',
            "w.jpg",
        ),
        ('<picture><source type="image/avif" srcset="x.avif"><img src="s.jpg"></picture>', "s.jpg"),
        ('<picture><source data-srcset="lazy.jpg 900w"><img src="s.jpg"></picture>', "lazy.jpg"),
    ],
)
def test_image_url_prefers_the_largest_candidate(html: str, expected: str | None) -> None:
    assert image_url(img(html)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("♥ 1,234", 1234), ("1.2k likes", 1200), ("3M", 3_000_000), ("none", None), (None, None)],
)
def test_counts(text: str | None, expected: int | None) -> None:
    assert parse_count(text) == expected


def test_times() -> None:
    assert parse_time("2026-11-01T10:00:00Z") == dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)
    assert parse_time("yesterday") is None


PAGE = """
<article class="post"><a class="post-link" href="/p/1">
  <img class="post-image" src="/m/1.jpg?w=160" srcset="/m/1.jpg?w=160 160w, /m/1.jpg 320w"></a>
  <time datetime="2026-10-02T08:00:00Z">Oct 2</time><span class="likes">♥ 42</span>
  <p class="caption">Sunny day &lt;script&gt;alert(1)&lt;/script&gt; #Boho #dress #a/b</p></article>
<article class="post"><p class="caption">no picture here #boho</p></article>
<a rel="next" href="?page=2">older</a>
"""


def test_posts_from_a_page() -> None:
    selectors = Selectors(post="article.post", image="img.post-image", link="a.post-link")
    [post] = parse_posts(PAGE, "http://127.0.0.1:9/tag/boho", selectors, "demo")
    assert post.image_url == "http://127.0.0.1:9/m/1.jpg"
    assert post.post_url == "http://127.0.0.1:9/p/1"
    assert post.tags == ("boho", "dress", "a")
    assert post.caption is not None and "<script>" in post.caption  # kept as text, never markup
    assert post.likes == 42
    assert post.posted_at == dt.datetime(2026, 10, 2, 8, tzinfo=dt.UTC)
    assert (
        next_page_link(PAGE, "http://127.0.0.1:9/tag/boho", 'a[rel="next"]')
        == "http://127.0.0.1:9/tag/boho?page=2"
    )


def test_attribute_selectors_and_link_on_the_post_itself() -> None:
    grid = '<a href="/p/XYZ/"><img src="/i.jpg" alt="Caption #OOTD"></a>'
    selectors = Selectors(
        post='a[href*="/p/"]', image="img", link="", caption="img@alt", time="", likes=""
    )
    [post] = parse_posts(grid, "http://127.0.0.1:9/explore/tags/ootd/", selectors, "instagram")
    assert post.post_url == "http://127.0.0.1:9/p/XYZ/"
    assert post.caption == "Caption #OOTD" and post.tags == ("ootd",)
    assert post.posted_at is None and post.likes is None


CREDITED = """
<article><img src="/a.jpg"><a class="by" href="/@ana">Ana&#10;&#x202e; B.</a>
  <a rel="license" href="https://creativecommons.org/licenses/by-sa/4.0/">CC BY-SA</a></article>
<article><img src="/b.jpg"><a class="by" href="javascript:alert(1)">x</a>
  <a rel="license" href="https://example.com/my-licence">mine</a></article>
<article><img src="/c.jpg"></article>
"""


def test_credit_from_a_page_author_link_and_licence() -> None:
    selectors = Selectors(
        image="img", author=".by", author_link=".by", licence='a[rel~="license"]@href'
    )
    ana, odd, bare = parse_posts(CREDITED, "http://127.0.0.1:9/tag/boho", selectors, "page")
    assert (ana.author, ana.author_url, ana.licence) == (
        "Ana B.",  # one line: the new line and the direction mark folded
        "http://127.0.0.1:9/@ana",
        "CC-BY-SA-4.0",
    )
    assert (odd.author, odd.author_url, odd.licence) == ("x", None, None)  # no script link
    assert (bare.author, bare.author_url, bare.licence) == (None, None, None)
    plain = parse_posts(CREDITED, "http://127.0.0.1:9/", Selectors(image="img"), "page")
    assert all(p.author is None and p.licence is None for p in plain)  # '' selects nothing


def test_host_spacing_keeps_requests_to_one_host_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """The turns the spacing gives one host are `interval` apart, however late a thread wakes
    (the turn counts from the real wake-up); another host does not wait at all."""
    import itertools
    import threading
    import time

    from scraper.downloader import HostSpacing

    spacing = HostSpacing(0.05)
    turns: list[float] = []
    lock = threading.Lock()

    def hit() -> None:
        began = spacing.wait("shop.example")
        with lock:
            turns.append(began)

    threads = [threading.Thread(target=hit) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    turns.sort()
    assert min(b - a for a, b in itertools.pairwise(turns)) >= 0.05
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    slow = HostSpacing(30.0)
    slow.wait("shop.example")
    slow.wait("other.example")  # another host does not wait
    assert slept == []
    slow.wait("shop.example")  # the host just served does
    assert len(slept) == 1 and 29 < slept[0] <= 30
