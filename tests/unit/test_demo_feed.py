from __future__ import annotations

import io
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import imagehash
import numpy as np
import pytest
from flask.testing import FlaskClient
from PIL import Image

from sandbox.demo_feed import catalog as catalog_module
from sandbox.demo_feed import render_cache
from sandbox.demo_feed.catalog import Catalog, ImageRenderer
from sandbox.demo_feed.site import create_feed_app
from sandbox.demo_feed.styles import CROSS_TAGS, GARMENTS, STYLES
from stylescout.settings import DemoFeedConfig

CONFIG = DemoFeedConfig()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog(CONFIG)


@pytest.fixture(scope="module")
def renderer(catalog: Catalog) -> ImageRenderer:
    return ImageRenderer(catalog)


@pytest.fixture(scope="module")
def client() -> FlaskClient:
    return create_feed_app(CONFIG).test_client()


def test_catalog_is_deterministic(catalog: Catalog) -> None:
    again = Catalog(CONFIG)
    assert [(p.id, p.caption, p.posted_at) for p in again.posts] == [
        (p.id, p.caption, p.posted_at) for p in catalog.posts
    ]


def test_at_least_six_styles_and_150_posts_for_every_main_tag(catalog: Catalog) -> None:
    assert len(STYLES) >= 6
    counts = catalog.tag_counts()
    for tag in (*STYLES, *GARMENTS, *CROSS_TAGS):
        assert counts.get(tag, 0) >= 150, tag


def test_posts_span_twelve_weeks_with_rising_and_falling_styles(catalog: Catalog) -> None:
    times = [p.posted_at for p in catalog.posts]
    assert (max(times) - min(times)).days >= 11 * 7
    assert times == sorted(times, reverse=True)  # newest first
    start = min(times)

    def late_share(style: str) -> float:
        weeks = [(p.posted_at - start).days // 7 for p in catalog.by_tag[style]]
        return sum(w >= 8 for w in weeks) / max(1, sum(w < 4 for w in weeks))

    rising = [s for s, f in STYLES.items() if f.trend > 0.5]
    falling = [s for s, f in STYLES.items() if f.trend < -0.5]
    assert rising and falling
    assert all(late_share(s) > 1.5 for s in rising)
    assert all(late_share(s) < 0.67 for s in falling)


def test_captions_carry_the_tags_as_hashtags(catalog: Catalog) -> None:
    for post in catalog.posts[:100]:
        assert set(re.findall(r"#(\w+)", post.caption)) == set(post.tags)


def test_reposts_are_near_duplicates_with_other_bytes(
    catalog: Catalog, renderer: ImageRenderer
) -> None:
    reposts = [p for p in catalog.posts if p.repost_of][:12]
    assert len([p for p in catalog.posts if p.repost_of]) >= 0.05 * len(catalog.posts)
    assert {p.variant for p in reposts} == {"resized", "reencoded", "cropped"}
    for post in reposts:
        original = catalog.by_id[post.repost_of]
        assert original.posted_at < post.posted_at
        a, b = renderer.jpeg(post.id), renderer.jpeg(original.id)
        assert a != b
        distance = imagehash.phash(Image.open(io.BytesIO(a))) - imagehash.phash(
            Image.open(io.BytesIO(b))
        )
        assert distance <= 8, (post.id, post.variant, distance)


def test_images_are_deterministic_and_large_enough(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(render_cache.ENV, "off")  # drawn twice, not read back
    post = next(p for p in catalog.posts if not p.repost_of)
    first = ImageRenderer(catalog).jpeg(post.id)
    assert first == ImageRenderer(catalog).jpeg(post.id)
    img = Image.open(io.BytesIO(first))
    assert img.format == "JPEG" and min(img.size) >= 256


def test_a_picture_drawn_in_one_process_is_read_back_in_another(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(render_cache.ENV, str(tmp_path / "renders"))
    posts = [next(p for p in catalog.posts if p.variant == v) for v in (None, "cropped")]
    drawn = {(p.id, w): ImageRenderer(catalog).jpeg(p.id, w) for p in posts for w in (None, 160)}
    assert len(set(drawn.values())) == 4  # full size and thumbnail, original and repost

    def no_drawing(*args: object) -> None:
        raise AssertionError("drawn again")

    monkeypatch.setattr(catalog_module, "render_outfit", no_drawing)  # a new process: memory empty
    again = {
        (p.id, w): ImageRenderer(Catalog(CONFIG)).jpeg(p.id, w) for p in posts for w in (None, 160)
    }
    assert again == drawn
    other_size = Catalog(CONFIG.model_copy(update={"image_width": 400}))
    with pytest.raises(AssertionError, match="drawn again"):  # what decides the bytes is the key
        ImageRenderer(other_size).jpeg(posts[0].id)


def test_feeds_asking_for_the_same_picture_at_once_draw_it_once(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Feeds started together ask for the same pictures in the same order; each used to draw
    every one. Eight renderers (each as another process's would be: its own memory) at once."""
    monkeypatch.setenv(render_cache.ENV, str(tmp_path / "renders"))
    render_cache._open.cache_clear()
    post = next(p for p in catalog.posts if not p.repost_of)
    drawn: list[int] = []
    draw = catalog_module.render_outfit

    def counted(*args: object, **kwargs: object) -> Image.Image:
        drawn.append(1)
        return draw(*args, **kwargs)

    monkeypatch.setattr(catalog_module, "render_outfit", counted)
    start = threading.Barrier(8)

    def ask(_: int) -> bytes:
        renderer = ImageRenderer(catalog)
        start.wait()
        return renderer.jpeg(post.id)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(8)))
    assert len(set(answers)) == 1 and len(drawn) == 1
    assert ImageRenderer(catalog).jpeg(post.id) == answers[0] and len(drawn) == 1


def test_the_cache_off_or_unwritable_only_means_drawing(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = catalog.posts[0]
    monkeypatch.setenv(render_cache.ENV, "off")
    assert render_cache.cache_folder() is None
    plain = ImageRenderer(catalog).jpeg(post.id)
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv(render_cache.ENV, str(blocked))
    assert ImageRenderer(catalog).jpeg(post.id) == plain
    monkeypatch.delenv(render_cache.ENV)
    assert render_cache.cache_folder().parts[-2:] == ("stylescout", "demo-feed")


def _colour_features(data: bytes) -> np.ndarray:
    img = Image.open(io.BytesIO(data)).convert("RGB").resize((64, 80))
    hist = np.histogramdd(np.asarray(img).reshape(-1, 3), bins=(4, 4, 4), range=[(0, 256)] * 3)[0]
    hist = hist.ravel() / hist.sum()
    return np.sqrt(hist)


def test_styles_are_separable_by_simple_image_features(
    catalog: Catalog, renderer: ImageRenderer
) -> None:
    """Even a colour histogram with a nearest-neighbour vote tells most styles apart."""
    feats, labels = [], []
    for style in STYLES:
        posts = [p for p in catalog.by_tag[style] if not p.repost_of][:15]
        feats += [_colour_features(renderer.jpeg(p.id)) for p in posts]
        labels += [style] * len(posts)
    x = np.stack(feats)
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    hits = 0
    for i in range(len(x)):
        votes = Counter(labels[j] for j in np.argsort(d[i])[:5])
        hits += votes.most_common(1)[0][0] == labels[i]
    assert hits / len(x) >= 0.75


def test_tag_page_runs_javascript_feed(client: FlaskClient) -> None:
    page = client.get("/tag/boho")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="feed"' in html and "feed.js" in html and "?page=1" in html


def test_plain_pages(client: FlaskClient, catalog: Catalog) -> None:
    html = client.get("/tag/boho?page=1").get_data(as_text=True)
    assert html.count('class="post"') == CONFIG.page_size
    for marker in (
        'srcset="',
        "<time datetime=",
        'data-likes="',
        'class="caption"',
        'href="/p/p',
        'rel="next"',
    ):
        assert marker in html
    last = catalog.pages("boho")
    assert 'rel="next"' not in client.get(f"/tag/boho?page={last}").get_data(as_text=True)
    assert client.get(f"/tag/boho?page={last + 1}").status_code == 404
    assert client.get("/tag/boho?page=0").status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/tag/nosuchtag", "/tag/..%2Fx", "/p/p99999", "/media/nope.jpg", "/media/p00001.jpg?w=999"],
)
def test_unknown_things_are_404(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_api_and_media(client: FlaskClient) -> None:
    data = client.get("/api/tag/streetwear?page=2").get_json()
    assert data["page"] == 2 and data["next_page"] == 3 and len(data["posts"]) == CONFIG.page_size
    post = data["posts"][0]
    assert {"id", "url", "image", "srcset", "caption", "tags", "posted_at", "likes"} <= set(post)
    full = client.get(post["image"])
    assert full.status_code == 200 and full.mimetype == "image/jpeg"
    thumb = Image.open(io.BytesIO(client.get(post["thumb"]).data))
    assert thumb.width == 160
    assert client.get(post["url"]).status_code == 200


def test_robots_txt(client: FlaskClient) -> None:
    body = client.get("/robots.txt").get_data(as_text=True)
    assert "User-agent: *" in body and "Disallow: /private/" in body


@pytest.mark.parametrize("radius", [0.7, 4, 6])
def test_a_blur_near_the_garment_equals_the_whole_canvas_blur(radius: float) -> None:
    from PIL import ImageDraw, ImageFilter

    from sandbox.demo_feed.artist import _blurred_near, _blurred_within

    rng = np.random.default_rng(3)
    for corner in [(5, 5), (250, 330), (-20, 150), (150, -30), (290, 380)]:  # edges included
        mask = Image.new("L", (320, 400), 0)
        x, y = corner
        poly = [(x + rng.uniform(0, 60), y + rng.uniform(0, 70)) for _ in range(6)]
        ImageDraw.Draw(mask).polygon(poly, fill=255)
        box = mask.getbbox()
        assert box is not None
        whole = np.asarray(mask.filter(ImageFilter.GaussianBlur(radius)), np.float32)
        y0, y1, x0, x1, part = _blurred_near(mask, box, radius)
        assert np.array_equal(part, whole[y0:y1, x0:x1])
        assert not whole[:y0].any() and not whole[y1:].any()  # nothing reaches past the part
        assert not whole[:, :x0].any() and not whole[:, x1:].any()
        bx0, by0, bx1, by1 = box
        assert np.array_equal(_blurred_within(mask, box, radius), whole[by0:by1, bx0:bx1])
