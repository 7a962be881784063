"""Near-duplicates: a perceptual hash proposes, colour thumbnails decide. Reposts (resized,
re-encoded, cropped) are the same photo; colourways, look-alike layouts and a changed detail are
not."""

from __future__ import annotations

import io
from collections.abc import Iterator
from functools import lru_cache

import imagehash
import numpy as np
import pytest
from PIL import Image, ImageDraw

from sandbox.demo_feed.catalog import REPOST_VARIANTS, Catalog, ImageRenderer
from scraper.image_check import inspect_image
from scraper.near_duplicates import CROPS, SIDE, NearDuplicates, fingerprint, same_photo
from store import ImageMeta, Store
from stylescout.settings import DemoFeedConfig
from tests.conftest import image_bytes


@lru_cache(maxsize=1)
def demo() -> tuple[Catalog, ImageRenderer]:
    catalog = Catalog(DemoFeedConfig())
    return catalog, ImageRenderer(catalog)


def decoded(post_id: str) -> Image.Image:
    return Image.open(io.BytesIO(demo()[1].jpeg(post_id))).convert("RGB")


def reposts() -> Iterator[tuple[str, str, str]]:
    """(repost id, original id, variant): two of each kind the demo feed makes."""
    catalog, _ = demo()
    for variant in REPOST_VARIANTS:
        found = [p for p in catalog.posts if p.variant == variant][:2]
        assert len(found) == 2
        for post in found:
            yield post.id, post.repost_of or "", variant


def test_fingerprint_is_small_colour_thumbnails_at_several_crops() -> None:
    prints = fingerprint(Image.new("RGB", (320, 400), (200, 30, 40)))
    assert prints.shape == (len(CROPS), 3, SIDE, SIDE) and prints.dtype == np.float32
    assert np.allclose(prints[:, 0], 200) and np.allclose(prints[:, 2], 40)


@pytest.mark.parametrize(("repost", "original", "variant"), list(reposts()))
def test_the_demo_feeds_reposts_are_the_same_photo(
    repost: str, original: str, variant: str
) -> None:
    a, b = fingerprint(decoded(repost)), fingerprint(decoded(original))
    assert same_photo(a, b) and same_photo(b, a), variant


def test_look_alike_originals_of_the_demo_feed_are_different_photos() -> None:
    """Distinct outfits of one style share a layout: many hash within 10 bits of each other."""
    catalog, _ = demo()
    originals = [p for p in catalog.by_tag["minimal"] if not p.repost_of][:80]
    images = {p.id: decoded(p.id) for p in originals}
    hashes = {i: imagehash.phash(img) for i, img in images.items()}
    prints = {i: fingerprint(img) for i, img in images.items()}
    close = [
        (a, b)
        for n, a in enumerate(images)
        for b in list(images)[n + 1 :]
        if hashes[a] - hashes[b] <= 10
    ]
    assert len(close) >= 10  # the hash alone would merge these
    assert not any(same_photo(prints[a], prints[b]) for a, b in close)


def _garment(colour: tuple[int, int, int]) -> Image.Image:
    img = Image.new("RGB", (300, 400), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.rectangle((60, 60, 240, 340), fill=colour)
    draw.rectangle((100, 60, 200, 120), fill=(255, 255, 255))  # the neckline
    return img


def test_colourways_and_a_changed_detail_are_different_photos() -> None:
    navy, black = _garment((30, 40, 90)), _garment((25, 25, 30))
    assert imagehash.phash(navy) - imagehash.phash(black) <= 4  # one layout
    assert not same_photo(fingerprint(navy), fingerprint(black))
    logo = navy.copy()  # a print of about 2 x 2 thumbnail cells
    ImageDraw.Draw(logo).rectangle((170, 150, 210, 190), fill=(230, 200, 40))
    assert not same_photo(fingerprint(navy), fingerprint(logo))
    smaller = navy.resize((150, 200), Image.LANCZOS)
    assert same_photo(fingerprint(navy), fingerprint(smaller))


def test_a_stored_image_is_fingerprinted_from_its_file_when_it_is_a_candidate(
    store: Store,
) -> None:
    catalog, renderer = demo()
    repost = next(p for p in catalog.posts if p.variant == "cropped")
    original = renderer.jpeg(repost.repost_of or "")
    info = inspect_image(original, 10**8)
    kept = store.images.add_image_bytes(
        original, ImageMeta(info.width, info.height, "JPEG", "test", phash=info.phash)
    )
    finder = NearDuplicates(store, 10)  # a new scrape: nothing in memory but the hashes
    copy = inspect_image(renderer.jpeg(repost.id), 10**8)
    assert finder.find(copy.phash, copy.fingerprint) == kept.image_id
    other = inspect_image(image_bytes(_garment((30, 40, 90)), "JPEG"), 10**8)
    assert finder.find(other.phash, other.fingerprint) is None
    assert NearDuplicates(store, 0).find(copy.phash, copy.fingerprint) is None  # exact only
