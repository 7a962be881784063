from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dash_app import create_app
from dash_app.ui.components import human_bytes
from store import Store
from stylescout.loader import load_config
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


def test_the_dashboard_title_is_text_in_the_page(data_dir: Path) -> None:
    """`dashboard.title` is a setting, not markup: in the page's <title> it is escaped."""
    from dash_app.app import close_app
    from tests.conftest import make_config

    title = "</title><script>alert(1)</script> & co"
    app = create_app(make_config(data_dir, dashboard={"title": title}))
    try:
        client = app.server.test_client()
        for path in ("/", "/trends", "/no-such-page"):
            page = client.get(path).get_data(as_text=True)
            assert "<script>alert(1)" not in page and "</title><script>" not in page, path
            escaped = "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"
            assert f"<title>{escaped}</title>" in page, path
        assert app.title == title  # the browser tab (set as text by Dash's pages) says it as is
    finally:
        close_app(app)


def test_the_style_map_is_the_principal_plane_and_reads_large_indexes_in_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    from clustering import engine

    rng = np.random.default_rng(0)
    scale = np.array([5.0, 3.0] + [0.5] * 14, np.float32)  # a clear principal plane
    x = rng.normal(size=(600, 16)).astype(np.float32) * scale
    loaded = engine.LoadedIndex(Path(), SimpleNamespace(vectors=x), None)  # type: ignore[arg-type]
    small = loaded.map2d()
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    np.testing.assert_allclose(small, centred @ vt[:2].T, atol=1e-4)  # all items: exact PCA
    monkeypatch.setattr(engine, "MAP_SAMPLE", 200)  # a "large" index: PCA on a sample
    again = engine.LoadedIndex(Path(), SimpleNamespace(vectors=x), None)  # type: ignore[arg-type]
    sampled = again.map2d()
    assert sampled.shape == (600, 2)
    for axis in range(2):  # the same plane, up to sign
        assert abs(np.corrcoef(sampled[:, axis], small[:, axis])[0, 1]) > 0.99


def test_the_scrape_counts_say_what_the_sources_skipped_and_why(data_dir: Path) -> None:
    create_app(load_config(data_dir=data_dir))
    from dash_app.jobs import JobStatus
    from dash_app.pages.scrape import counts_view  # page modules: after an app exists

    status = JobStatus(stage="scraping", skipped=2, skipped_posts={"text only": 1, "video": 3})
    text = _text(counts_view(status))
    assert "2 already stored" in text and "skipped 4 posts (3 video, 1 text only)" in text
    assert "skipped" not in _text(counts_view(JobStatus(stage="scraping")))


def _text(component: object) -> str:
    children = getattr(component, "children", component)
    if isinstance(children, list | tuple):
        return " ".join(_text(c) for c in children)
    if isinstance(children, str | int):
        return str(children)
    return _text(children) if children is not None and children is not component else ""


def _walk(component: object) -> list:
    """A Dash component and every one inside it."""
    found = [component]
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            found += _walk(child)
    return found


def _classes(component: object) -> str:
    return getattr(component, "className", None) or ""


def test_an_item_card_credits_the_author_and_the_licence() -> None:
    from dash import html

    from dash_app.recommend import ItemCard
    from dash_app.ui.components import item_card
    from dash_app.web.api import _item

    card = ItemCard(
        image_id=7,
        sha256="a" * 64,
        distance=None,
        style_name=None,
        tags=["boho"],
        post_url="https://www.flickr.com/photos/1@N01/7/",
        caption="a dress",
        rating=None,
        author="<b>Ana</b>",
        author_url="https://www.flickr.com/people/1@N01/",
        licence="CC-BY-NC-2.0",
    )
    parts = _walk(item_card(card, rate=False))
    [credit] = [p for p in parts if "ss-credit" in _classes(p)]
    links = [p for p in _walk(credit) if isinstance(p, html.A)]
    author, licence = links
    assert credit.children[0] == "by "
    assert author.children == "<b>Ana</b>"  # text: Dash escapes it, never markup
    assert author.href == "https://www.flickr.com/people/1@N01/"
    assert "noopener" in author.rel and author.target == "_blank"
    assert licence.children == "CC BY-NC 2.0"
    assert licence.href == "https://creativecommons.org/licenses/by-nc/2.0/"
    unlinked = _walk(item_card(ItemCard(**{**card.__dict__, "author_url": None}), rate=False))
    assert not [p for p in unlinked if isinstance(p, html.A) and p.children == "<b>Ana</b>"]
    bare = ItemCard(**{**card.__dict__, "author": None, "author_url": None, "licence": None})
    assert not [p for p in _walk(item_card(bare, rate=False)) if "ss-credit" in _classes(p)]
    row = {
        "id": 7,
        "sha256": "a" * 64,
        "post_url": card.post_url,
        "source": "flickr",
        "posted_at": None,
        "author": "Ana",
        "author_url": card.author_url,
        "licence": "CC-BY-NC-2.0",
        "tags": [],
    }
    assert {k: _item(row)[k] for k in ("author", "author_url", "licence")} == {
        "author": "Ana",
        "author_url": card.author_url,
        "licence": "CC-BY-NC-2.0",
    }


def test_item_cards_read_the_credit_from_the_store(data_dir: Path) -> None:
    from dash_app.recommend import item_cards

    with Store(data_dir) as store:
        credited = store.images.add_image_bytes(
            jpeg_bytes(1),
            meta_for(1, author="ana", author_url="javascript:alert(1)", licence="PDM"),
        )
        [card] = item_cards(store, [credited.image_id], {})
    assert (card.author, card.author_url, card.licence) == ("ana", None, "PDM")


def test_the_garment_route_shows_what_the_blocks_see(data_dir: Path) -> None:
    import io

    from PIL import Image

    from dash_app.recommend import ItemCard
    from dash_app.ui.components import item_card

    with Store(data_dir) as store:
        added = store.images.add_image_bytes(jpeg_bytes(3, (120, 160)), meta_for(3), ["boho"])
        sha = store.images.image(added.image_id)["sha256"]
    app = create_app(load_config(data_dir=data_dir))
    client = app.server.test_client()
    shown = client.get(f"/garment/{sha}")
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(shown.data)).size == (120, 160)  # not larger than the photo
    assert client.get("/garment/" + "0" * 64).status_code == 404
    assert client.get("/garment/" + "A" * 64).status_code == 404  # not a hash we write
    card = ItemCard(added.image_id, sha, None, None, [], None, None, None)
    assert f"/garment/{sha}" in str(item_card(card, rate=False, garment=True))
    assert "/garment/" not in str(item_card(card, rate=False))
