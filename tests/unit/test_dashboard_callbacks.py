"""The dashboard's callbacks as plain functions, on a store with a synthetic style index (no
TensorFlow: catalogue picks use the index's vectors)."""

from __future__ import annotations

import base64
import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dash
import numpy as np
import pytest
from dash import Dash
from dash.exceptions import PreventUpdate

from clustering.index import IndexMeta, StyleIndex, save_index
from clustering.recommender import rocchio_profile
from dash_app import create_app
from dash_app.jobs import JobStatus
from dash_app.web import inputs
from dash_app.web.context import get_context
from dash_app.web.inputs import ItemPhoto
from store import Store
from stylescout.errors import StyleScoutError
from stylescout.settings import RecommenderConfig
from tests.conftest import jpeg_bytes, make_config, meta_for

USER = "u" + "ab" * 16
N, K, DIM = 30, 3, 8


def _index(ids: list[int], seed: int = 0, names: list[str] | None = None) -> StyleIndex:
    """Three well separated styles of ten items each, unit vectors."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(K), N // K).astype(np.int32)
    centres = np.eye(K, DIM, dtype=np.float32) * 3
    vectors = centres[labels] + 0.3 * rng.standard_normal((N, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    centroids = np.stack([vectors[labels == s].mean(axis=0) for s in range(K)])
    names = names or ["boho · hat", "minimal · coat", "streetwear · sneakers"]
    meta = IndexMeta(
        model_key="toy-model",
        feature_key="toy",
        colour_key=None,
        colour_weight=0.0,
        weights_note="",
        names=names,
        representatives=[[ids[s * 10 + j] for j in range(3)] for s in range(K)],
        cluster_path="exact",
    )
    return StyleIndex(
        ids=np.array(ids, np.int64),
        vectors=vectors,
        labels=labels,
        centroids=centroids,
        linkage=np.array([[0, 1, 1.0, 2], [2, 3, 2.0, 3]], np.float64),
        mean=np.zeros(DIM, np.float32),
        std=np.ones(DIM, np.float32),
        meta=meta,
    )


@pytest.fixture
def app(data_dir: Path) -> Iterator[Dash]:
    start = dt.datetime(2026, 9, 7, tzinfo=dt.UTC)
    with Store(data_dir) as store:
        ids = []
        for seed in range(N):
            style = seed // 10
            # styles 0 and 1: two posts a week each over weeks 0-4; style 2 only in weeks 3-4
            week = (seed % 10) // 2 if style != 2 else (3 if seed % 10 < 3 else 4)
            meta = meta_for(seed, posted_at=start + dt.timedelta(weeks=week))
            tags = [["boho", "hat"], ["minimal", "coat"], ["streetwear", "sneakers"]][style]
            ids.append(store.images.add_image_bytes(jpeg_bytes(seed), meta, tags).image_id)
        save_index(_index(ids), store.index_dir)
    app = create_app(make_config(data_dir))
    with app.server.test_request_context("/"):
        yield app


def _ids() -> list[int]:
    return get_context().engine.loaded().index.ids.tolist()


def _data_url(data: bytes, mime: str = "image/jpeg") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


# -- Rocchio ------------------------------------------------------------------------------


def test_rocchio_pulls_towards_liked_and_away_from_disliked() -> None:
    photo = np.array([[1.0, 0.0, 0.0]], np.float32)
    liked = np.array([[0.0, 1.0, 0.0]], np.float32)
    disliked = np.array([[0.0, 0.0, 1.0]], np.float32)
    cfg = RecommenderConfig(like_weight=0.75, dislike_weight=0.25)
    assert np.allclose(rocchio_profile(photo, cfg=cfg), [1, 0, 0])
    profile = rocchio_profile(photo, liked, disliked, cfg)
    assert np.isclose(np.linalg.norm(profile), 1)
    assert profile[1] > 0 > profile[2]
    assert np.allclose(profile, np.array([1, 0.75, -0.25]) / np.linalg.norm([1, 0.75, -0.25]))


# -- Discover -------------------------------------------------------------------------------


def test_no_photos_shows_the_popular_items(app: Dash) -> None:
    from dash_app.pages import discover

    text = str(discover.show_recommendations([], USER))
    assert "Add photos of your own" in text and "Popular items" in text


def test_picking_a_catalogue_item_matches_its_style_and_leaves_it_out(app: Dash) -> None:
    from dash_app.pages import discover
    from dash_app.recommend import recommend

    pick = _ids()[12]  # style 1
    photos, messages = discover.change_photos({"type": "pick", "image": pick}, None, None, [])
    assert messages == [] and photos[0]["kind"] == "item" and photos[0]["id"] == pick
    again, _ = discover.change_photos({"type": "pick", "image": pick}, None, None, photos)
    assert again == photos  # the same item twice is one photo
    rec = recommend(get_context().engine, inputs.photos(photos, 10), USER)
    assert rec.style is not None and rec.style.name == "minimal · coat"
    assert rec.style.size == 10 and len(rec.style.representatives) == 3
    assert rec.style.top_tags[0][0] in ("coat", "minimal")
    assert len(rec.items) == 10 and pick not in [i.image_id for i in rec.items]
    distances = [i.distance for i in rec.items]
    assert distances == sorted(distances)
    assert {i.style_name for i in rec.items[:9]} == {"minimal · coat"}
    assert all(i.post_url and i.post_url.startswith("http://127.0.0.1/p/") for i in rec.items)
    assert "The 10 nearest items" in str(discover.render_recommendation(rec))


def test_ratings_are_saved_at_once_and_shape_the_next_recommendation(app: Dash) -> None:
    from dash_app.pages import discover
    from dash_app.recommend import recommend

    ctx = get_context()
    photos = inputs.photos([{"kind": "item", "id": _ids()[12], "sha256": "a" * 64}], 10)
    before = recommend(ctx.engine, photos, USER)
    disliked = before.items[0].image_id
    assert discover.save_rating(disliked, 1, USER) == "Rated 1/5 · saved"
    assert discover.save_rating(disliked, 1, USER) == "Rated 1/5"  # unchanged: not stored twice
    liked = _ids()[25]  # an item of another style
    discover.save_rating(liked, 5, USER)
    assert ctx.store.ratings.latest_ratings(USER) == {disliked: 1, liked: 5}
    rows = ctx.store.ratings.ratings_history()
    assert len(rows) == 2 and rows[0]["model_key"] == "toy-model"
    assert rows[0]["style"] == "minimal · coat" and rows[1]["style"] == "streetwear · sneakers"

    after = recommend(ctx.engine, photos, USER)
    ids_after = [i.image_id for i in after.items]
    assert disliked not in ids_after and after.disliked == 1 and after.liked == 1

    def streetwear(rec: object) -> int:
        return sum(i.style_name == "streetwear · sneakers" for i in rec.items)

    assert streetwear(after) > streetwear(before)  # pulled towards the liked item's style
    kept = before.items[1].image_id
    discover.save_rating(kept, 4, USER)
    fresh = recommend(ctx.engine, photos, USER)  # by default: new items after ratings
    assert kept not in [i.image_id for i in fresh.items] and liked not in fresh.items
    marked = recommend(ctx.engine, photos, USER, show_rated=True)  # "show items I rated"
    assert next(i for i in marked.items if i.image_id == kept).rating == 4  # rated items marked
    assert "towards 2 liked, away from 1 disliked" in str(discover.render_recommendation(marked))
    with pytest.raises(PreventUpdate):
        discover.save_rating(disliked, None, USER)
    assert "no id yet" in discover.save_rating(disliked, 3, None)
    assert "Could not save" in discover.save_rating(disliked, 3, "bad id!")


def test_nothing_close_enough_says_so_and_shows_popular_items(data_dir: Path) -> None:
    with Store(data_dir) as store:
        ids = [
            store.images.add_image_bytes(jpeg_bytes(s), meta_for(s), ["x"]).image_id
            for s in range(N)
        ]
        save_index(_index(ids), store.index_dir)
    app = create_app(make_config(data_dir, recommender={"match_threshold": 0.999}))
    from dash_app.recommend import recommend

    with app.server.test_request_context("/"):
        rec = recommend(
            get_context().engine, [ItemPhoto(kind="item", id=ids[0], sha256="a" * 64)], USER
        )
    assert rec.fallback and rec.style is None and "No style matches" in rec.message
    assert len(rec.items) == 10


def test_uploads_are_checked_and_kept_by_hash(app: Dash, tmp_path: Path) -> None:
    from dash_app.pages import discover

    good = jpeg_bytes(99, size=(224, 224))
    contents = [
        _data_url(good),
        _data_url(b""),
        _data_url(b"hello, I am text", "text/plain"),
        _data_url(b"<svg xmlns='http://www.w3.org/2000/svg'><script>x()</script></svg>"),
        _data_url(b"<!DOCTYPE html><html><body>hi</body></html>"),
        _data_url(good[: len(good) // 2]),
        "not a data url",
    ]
    names = ["../../etc/passwd.jpg", "zero.jpg", "notes.jpg", "x.svg", "page.jpg", "cut.jpg", "y"]
    photos, messages = discover.change_photos("upload", contents, names, [])
    text = " ".join(str(m.children) for m in messages)
    assert len(messages) == 6
    for expected in (
        "zero.jpg is empty",
        "notes.jpg is not a",
        "x.svg is an SVG",
        "page.jpg is an HTML",
        "cut.jpg could not be read",
        "y the upload did not",
    ):
        assert expected in text
    assert len(photos) == 1 and photos[0]["kind"] == "upload"
    assert photos[0]["preview"].startswith("data:image/jpeg;base64,")
    folder = get_context().store.cache_dir / "uploads"
    assert [p.name for p in folder.iterdir()] == [f"{photos[0]['sha256']}.jpg"]
    assert not list(get_context().store.data_dir.rglob("passwd*"))
    cleared, _ = discover.change_photos("clear-photos", None, None, photos)
    assert cleared == []
    removed, _ = discover.change_photos({"type": "remove-photo", "index": 0}, None, None, photos)
    assert removed == []


def test_too_many_photos_keeps_the_last(app: Dash) -> None:
    from dash_app.pages import discover

    limit = get_context().config.dashboard.max_photos
    photos = [{"kind": "item", "id": i, "sha256": "a" * 64} for i in _ids()[:limit]]
    more, messages = discover.change_photos(
        {"type": "pick", "image": _ids()[20]}, None, None, photos
    )
    assert len(more) == limit and more[-1]["id"] == _ids()[20] and "Only the last" in str(messages)


def test_photo_strip_and_picker(app: Dash) -> None:
    from dash_app.pages import discover

    assert "No photos yet" in str(discover.photo_strip([]))
    strip = str(discover.photo_strip([{"kind": "item", "id": 1, "sha256": "a" * 64}]))
    assert "/thumb/160/" + "a" * 64 in strip and "remove-photo" in strip
    picks = discover._picker()
    assert len(picks) == 9  # three typical items of each of three styles
    assert len(discover._picker(3)) == 12


# -- Scrape page ------------------------------------------------------------------------------


def test_scrape_requests_are_checked_before_any_job(app: Dash) -> None:
    from dash_app.pages import scrape

    config = get_context().config
    assert scrape.check_request(config, "#Boho", "12", "demo") == ("boho", 12, ["demo"])
    assert scrape.check_request(config, "boho", 12.0, ["demo"]) == ("boho", 12, ["demo"])
    several = scrape.check_request(config, "boho", 5, ["demo", "demo-html", "demo"])
    assert several == ("boho", 5, ["demo", "demo-html"])
    for tag, count, source, why in [
        ("boho", 4.9, "demo", "whole number"),
        ("boho", True, "demo", "whole number"),
        ("boho", [5], "demo", "whole number"),
        ({"a": 1}, 5, "demo", "tag"),
        ("x" * 5000, 5, "demo", "tag"),
        ("boho", 5, {"a": 1}, "source"),
        ("../x", 5, "demo", "tag"),
        ("", 5, "demo", "tag"),
        ("boho", 0, "demo", "between 1 and"),
        ("boho", "many", "demo", "whole number"),
        ("boho", 5, "nowhere", "unknown source"),
        ("boho", 5, ["demo", "nowhere"], "unknown source"),
        ("boho", 5, [], "at least one source"),
        ("boho", 5, ["demo"] * 11, "at most 10"),
        ("boho", 5, ["instagram"], "switched off"),
        ("boho", 5, [["demo"]], "unknown source"),
    ]:
        with pytest.raises(ValueError, match=why):
            scrape.check_request(config, tag, count, source)


def test_scrape_progress_views(app: Dash) -> None:
    from dash_app.pages import scrape

    status = JobStatus(stage="scraping", requested=10, found=8, added=4, duplicates=1, failed=1)
    pct, label, counts, stage = scrape.progress_values(status)
    assert (pct, label) == (20, "20%") and "4 of 10" in stage
    assert "'4'" in str(counts) and "duplicates" in str(counts)
    status.stage, status.build_done, status.build_total, status.build_fraction = (
        "building",
        5,
        10,
        0.5,
    )
    status.detail = "extracting features"
    assert scrape.progress_values(status)[0] == 75
    assert "extracting features (5/10)" in scrape.progress_values(status)[3]
    status.stage, status.message, status.styles = "done", "built", ["boho · hat", "goth · boots"]
    assert scrape.progress_values(status)[0] == 100
    assert "goth · boots" in str(scrape.result_view(status, "goth"))
    status.stage, status.message = "cancelled", "Cancelled: what was added is kept."
    assert "warning" in str(scrape.result_view(status, "goth"))


def test_cancel_sets_the_flag_of_this_pages_job_only(app: Dash) -> None:
    from dash_app.pages import scrape

    ctx = get_context()
    job, message = scrape.new_job("#Boho", 12, "demo")
    assert message is dash.no_update and job["tag"] == "boho" and len(job["id"]) == 32
    assert job["id"] != ctx.token
    assert scrape.request_cancel(None, job) == ""
    assert "Cancelling" in scrape.request_cancel(1, job)
    assert ctx.jobs.get(scrape.cancel_key(job["id"])) is True
    # the app token every visitor shares names no job; junk and huge ids are refused unstored
    before = len(ctx.jobs)
    for other in ({"id": ctx.token + "x"}, {"id": "a" * 5_000_000}, None, "abc", [1]):
        assert "No scrape" in scrape.request_cancel(1, other)
    assert len(ctx.jobs) == before and ctx.jobs.get(scrape.cancel_key(ctx.token)) is None


def test_a_second_scrape_on_the_same_store_is_refused_with_a_message(
    app: Dash, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dash_app.pages import scrape
    from dash_app.web.inputs import ScrapeJob

    ctx = get_context()
    started = []
    monkeypatch.setattr(scrape, "scrape_and_build", lambda *a: started.append(a))
    progress: list = []
    job = ScrapeJob(id="c" * 32, tag="boho", count=5, sources=["demo"])
    with ctx.store.job_slot("scrape", "#streetwear from demo"):
        status = scrape.run_job(progress.append, ctx.token, job)
    assert status.stage == "refused" and "#streetwear from demo" in status.message
    assert started == [] and "Another scrape is running" in str(scrape.result_view(status, "boho"))
    assert scrape.progress_values(status)[0] == 0 and scrape.stage_text(status) == "Not started."
    # once the first job is over, the next one runs
    monkeypatch.setattr(scrape, "scrape_and_build", lambda *a: JobStatus(stage="done"))
    assert scrape.run_job(progress.append, ctx.token, job).stage == "done"


def check_a_refused_start_keeps_the_running_jobs_keys(
    app: Dash, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A start refused while a scrape runs (its own job posted again, or another page's) must
    leave the running job's owner and cancel keys alone: its page can still cancel it. Shared
    with the team's (Redis) variant in test_background_jobs.py."""
    from dash_app.pages import scrape

    ctx = app.server.extensions["stylescout"]
    running = threading.Event()

    def slow(_config, _tag, _count, _sources, _report, cancel) -> JobStatus:
        running.set()
        return JobStatus(stage="cancelled" if cancel.wait(5) else "done")

    monkeypatch.setattr(scrape, "scrape_and_build", slow)
    with app.server.test_request_context("/scrape"):
        job, _ = scrape.new_job("boho", 5, "demo")
        other, _ = scrape.new_job("minimal", 5, "demo")
    done: dict[str, object] = {}
    first = threading.Thread(
        target=lambda: done.setdefault("first", scrape.start_job(lambda _v: None, job, ctx.token))
    )
    first.start()
    try:
        assert running.wait(10)
        for again in (job, other):  # the same job posted again, then another page's Start
            refused = scrape.start_job(lambda _v: None, again, ctx.token)
            assert refused.color == "warning", refused
        assert ctx.jobs.get(scrape.owner_key(job["id"])) == ""  # still the running job's
        assert ctx.jobs.get(scrape.owner_key(other["id"])) is None  # the refused one's: gone
        with app.server.test_request_context("/scrape"):
            assert "Cancelling" in scrape.request_cancel(1, job)
    finally:
        first.join(10)
    assert "Cancelled" in str(done["first"]) or "cancelled" in str(done["first"])
    assert ctx.jobs.get(scrape.owner_key(job["id"])) is None  # over: its keys are cleared
    assert ctx.jobs.get(scrape.cancel_key(job["id"])) is None


def test_a_refused_start_leaves_the_running_job_cancellable(
    app: Dash, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_a_refused_start_keeps_the_running_jobs_keys(app, monkeypatch)


def test_the_background_job_checks_what_any_client_can_post(app: Dash) -> None:
    from dash_app.pages import scrape

    ctx = get_context()
    good = {"id": "d" * 32, "tag": "boho", "count": 5, "sources": ["demo"]}
    for job, token in [
        ({**good, "count": 4.9}, ctx.token),
        ({**good, "count": True}, ctx.token),
        ({**good, "tag": "../x"}, ctx.token),
        ({**good, "sources": ["nowhere"]}, ctx.token),
        ({**good, "sources": "demo"}, ctx.token),
        ({**good, "sources": ["demo"] * 50}, ctx.token),
        ({**good, "sources": ["instagram"]}, ctx.token),
        ({**good, "id": "../../etc"}, ctx.token),
        ("not a job", ctx.token),
        (good, "x" * 5_000_000),
        (good, {"token": 1}),
    ]:
        alert = scrape.start_job(lambda _values: None, job, token)
        assert alert.color == "danger", (job, token)


# -- Styles, Trends, Feedback ---------------------------------------------------------------


def test_styles_page_map_tooltip_clicks_and_gallery(app: Dash) -> None:
    from dash_app.pages import styles

    layout = str(styles.layout())
    assert "3 styles" in layout and "style-dendrogram" in layout
    show, _, children = styles.map_tooltip(
        {"points": [{"customdata": ["b" * 64, 2], "bbox": {"x0": 1}}]}
    )
    assert show and "/thumb/160/" + "b" * 64 in str(children) and "streetwear" in str(children)
    assert styles.map_tooltip(None)[0] is False
    assert styles.chosen_style("style-map", {"points": [{"customdata": ["x", 2]}]}, None) == 2
    assert styles.chosen_style("style-sizes", None, {"points": [{"customdata": [1]}]}) == 1
    with pytest.raises(PreventUpdate):
        styles.chosen_style("style-sizes", None, None)
    gallery = str(styles.gallery(1))
    assert "minimal · coat" in gallery and gallery.count("/thumb/320/") == 10
    assert "not in the current index" in str(styles.gallery(7))


def test_trends_call_out_the_rising_style(app: Dash) -> None:
    from dash_app.pages import trends

    view = trends.trend_view("__all__")
    rising = str(view[0].children[0])
    assert "none significant" in rising  # two weeks of 5+ posts: too few to call anything
    assert "streetwear" not in str(view[0].children[1])
    assert "trend-chart" in str(view[1])
    assert "18 posts over 2 weeks (3 weeks with fewer than 5 posts left out)" in str(view[1])
    assert "No week has 5 or more posts" in str(trends.trend_view("boho"))  # 2 a week
    assert "No items of this tag" in str(trends.trend_view("nothing-has-this"))


def test_the_show_rated_box_is_checked_at_the_boundary(app: Dash) -> None:
    from dash_app.pages import discover

    photos = [{"kind": "item", "id": _ids()[0], "sha256": "a" * 64}]
    for junk in ("yes", 1, [True], {"a": 1}):
        assert "not accepted" in str(discover.show_recommendations(photos, USER, junk)), junk
    assert "items" in str(discover.show_recommendations(photos, USER, True))


def test_tag_trends_follow_the_picked_tags_and_refuse_junk(app: Dash) -> None:
    from dash_app.pages import trends

    view = str(trends.tag_trend_view(["boho", "minimal", "streetwear"]))
    assert "tag-trend-chart" in view and "tag-trend-table" in view
    assert "#boho" in view and "flat" in view  # two posts every week: not called
    assert "Too few whole weeks to say anything: #streetwear" in view  # 2 weeks only
    # boho's few whole weeks are too few to score a forecast on: none is drawn, and it says so
    assert "too few whole weeks to score a forecast on past weeks: none is shown" in view
    assert "boho forecast" not in view  # no dashed forecast trace
    assert "Pick tags" in str(trends.tag_trend_view([]))
    for junk in (["nope"], ["x" * 200], [["boho"]], {"a": 1}, "boho", ["boho"] * 13):
        assert "warning" in str(trends.tag_trend_view(junk)), junk


def _find(component: object, element_id: str) -> object | None:
    """The component with this id inside a layout (lists and children walked)."""
    if isinstance(component, list | tuple):
        return next((f for c in component if (f := _find(c, element_id)) is not None), None)
    if getattr(component, "id", None) == element_id:
        return component
    return _find(getattr(component, "children", None), element_id) if component else None


def _repost_on_mastodon() -> None:
    """Reposts of fixture items on a second site: in week 3, three of style 0 and two of style 2;
    in week 4, one of style 0 and four of style 2 (the items' own posts are all on 'test')."""
    ids, start = _ids(), dt.datetime(2026, 9, 7, 18, tzinfo=dt.UTC)
    plan = [(ids[0], 3), (ids[1], 3), (ids[2], 3), (ids[20], 3), (ids[21], 3)]
    plan += [(ids[3], 4), (ids[22], 4), (ids[23], 4), (ids[24], 4), (ids[25], 4)]
    for n, (image_id, week) in enumerate(plan):
        when = start + dt.timedelta(weeks=week)
        meta = meta_for(500 + n, source="mastodon", posted_at=when)
        get_context().store.images.add_post(image_id, meta, ["repost"])


def test_styles_and_trends_per_source(app: Dash) -> None:
    from dash_app.pages import styles, trends

    one = str(styles.layout())  # one source: a line naming it, no table, no filter to use
    assert "All 30 posts of these items are from test." in one and "style-sources" not in one
    assert "All from test." in str(trends.trend_view("__all__"))

    _repost_on_mastodon()
    page = styles.layout()
    table = _find(page, "style-sources").figure.data[0]
    assert list(table.x) == ["test", "mastodon"]  # most posts first
    assert np.asarray(table.customdata)[:, :, 0].tolist() == [[10, 4], [10, 0], [10, 6]]
    assert np.allclose(table.z, [[100 / 3, 40], [100 / 3, 0], [100 / 3, 60]])
    assert "share of that source's posts" in str(page)
    browse = _find(page, "browse-source")
    assert [o["value"] for o in browse.options] == ["__all__", "test", "mastodon"]
    assert "mastodon (10 posts)" in str(browse.options)
    assert browse.value == "__all__"
    linked = styles.layout(style="2", source="mastodon")
    assert _find(linked, "browse-source").value == "mastodon"
    assert _find(linked, "browse-style").value == 1  # ?style= counts from 1, as the CLI does
    assert _find(linked, "styles-link").href == "/styles?style=2&source=mastodon"
    assert styles.view_link(0, "__all__") == "/styles?style=1"
    assert styles.view_link(None, {"x": 1}) == "/styles"  # junk from a browser
    assert _find(styles.layout(style="0"), "browse-style").value is None  # there is no style 0
    assert _find(styles.layout(source="nowhere"), "browse-source").value == "__all__"
    gallery = str(styles.gallery(2, "mastodon"))  # six items of style 2 were reposted there
    assert "10 items, 6 of them seen on mastodon" in gallery
    assert gallery.count("/thumb/320/") == 6
    assert str(styles.gallery(2, "__all__")).count("/thumb/320/") == 10

    view = trends.trend_view("__all__", "mastodon")
    note = str(_find(view, "trend-note").children)
    assert note.startswith("10 posts on mastodon over 2 weeks")
    assert "share of mastodon's posts that week, so sites of different sizes" in note
    chart = _find(view, "trend-chart").figure
    shares = {t.name: list(t.y) for t in chart.data}  # within mastodon, not of all posts
    assert np.allclose(shares["boho · hat"], [60, 20])
    assert np.allclose(shares["streetwear · sneakers"], [40, 80])
    assert "minimal · coat" not in shares  # no post of it on mastodon
    assert "mastodon" in chart.layout.title.subtitle.text
    # two weeks say nothing a count model would call significant: no call-out either way
    assert "none significant" in str(view[0].children[0])
    assert "none significant" in str(view[0].children[1])

    everything = trends.trend_view("__all__", "__all__")
    assert "28 posts over 2 weeks" in str(_find(everything, "trend-note").children)
    panels = _find(everything, "trend-sources-chart").figure
    assert [a.text for a in panels.layout.annotations] == ["test · 18 posts", "mastodon · 10 posts"]
    assert "No items of this tag on mastodon" in str(trends.trend_view("minimal", "mastodon"))
    assert "No week has 5 or more posts of this tag on mastodon" in str(
        trends.trend_view("boho", "mastodon")
    )

    for junk in ("nowhere", "", "x" * 5000, 5, True, ["mastodon"], {"a": 1}):
        refused = str(trends.trend_view("__all__", junk))
        assert "source" in refused and "not" in refused and "trend-chart" not in refused, junk
        assert "source" in str(styles.gallery(1, junk)), junk
        assert "/thumb/" not in str(styles.gallery(1, junk)), junk


def test_feedback_page_summarises_ratings(app: Dash) -> None:
    from dash_app.pages import discover, feedback

    assert "No ratings yet" in str(feedback.layout())
    ids = _ids()
    discover.save_rating(ids[0], 2, USER)
    discover.save_rating(ids[0], 4, USER)  # changed: the latest counts
    discover.save_rating(ids[15], 5, "u" + "cd" * 16)
    text = str(feedback.layout())
    assert "3 ratings from 2 people (2 current" in text
    assert "ratings-style" in text and "ratings-model" in text


def test_engine_reloads_when_a_build_swaps_the_index(app: Dash) -> None:
    ctx = get_context()
    first = ctx.engine.loaded()
    assert ctx.engine.loaded() is first  # no reload without a new build
    renamed = _index(_ids(), seed=1, names=["a", "b", "c"])
    save_index(renamed, ctx.store.index_dir)
    second = ctx.engine.loaded()
    assert second is not first and second.index.meta.names == ["a", "b", "c"]


def test_engine_refuses_photos_when_the_settings_changed(app: Dash, tmp_path: Path) -> None:
    from clustering.query import IndexMismatchError

    class Extractor:
        key = "other-model"

    ctx = get_context()
    ctx.engine.embedder._extractor = Extractor()  # type: ignore[assignment]
    with pytest.raises(IndexMismatchError, match="rebuild"):
        ctx.engine.embedder.embed(ctx.engine.loaded().index, [("a" * 64, tmp_path / "x.jpg")])
    assert issubclass(IndexMismatchError, StyleScoutError)


def test_weekly_shares_and_slopes() -> None:
    from clustering.trends.shares import rising_and_falling, trend_slopes, weekly_shares

    posts = [
        (1, "2026-11-02T10:00:00Z"),
        (2, "2026-11-04T10:00:00Z"),
        (3, "2026-11-18T09:00:00Z"),
        (4, "2026-11-19T09:00:00Z"),
        (5, "not a time"),
        (6, "2026-11-18T09:00:00Z"),  # not in the index
        (3, "2026-11-20T09:00:00Z"),  # a repost of image 3 counts too
    ]
    weekly = weekly_shares(posts, np.array([1, 2, 3, 4, 5]), np.array([0, 0, 1, 1, 1]), 2)
    assert [str(w) for w in weekly.weeks] == ["2026-11-02", "2026-11-09", "2026-11-16"]
    assert weekly.counts.tolist() == [[2, 0], [0, 0], [0, 3]]  # the empty week is kept
    assert weekly.shares.tolist() == [[1, 0], [0, 0], [0, 1]]
    assert weekly.dense(1).counts.tolist() == [[2, 0], [0, 3]]
    slopes = trend_slopes(weekly.dense(1).shares)
    assert np.allclose(slopes, [-1, 1])
    rising, falling = rising_and_falling(slopes, ["a", "b"])
    assert rising == [("b", 1.0)] and falling == [("a", -1.0)]


# -- Hostile values (what a crafted POST to /_dash-update-component can carry) -------------


def test_an_upload_is_named_only_by_a_sha256_never_a_path(
    app: Dash, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dash_app import recommend as recommend_module
    from dash_app.pages import discover
    from dash_app.web.uploads import upload_path

    secret = tmp_path / "secret.jpg"
    secret.write_bytes(jpeg_bytes(1))
    looked = []
    real = recommend_module.upload_path
    monkeypatch.setattr(recommend_module, "upload_path", lambda *a: looked.append(a) or real(*a))
    for name in (str(tmp_path / "secret"), "../../../" + str(tmp_path / "secret"), "A" * 64):
        out = str(discover.show_recommendations([{"kind": "upload", "sha256": name}], USER))
        assert "not accepted" in out and "secret" not in out
        assert upload_path(tmp_path, name) is None
    assert looked == []  # refused at the boundary, nothing was looked up


def test_the_recommendation_uses_at_most_max_photos_distinct_photos(
    app: Dash, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clustering import engine as engine_module
    from dash_app.pages import discover

    limit = get_context().config.dashboard.max_photos
    seen: list[int] = []
    real = engine_module.answer
    monkeypatch.setattr(
        engine_module,
        "answer",
        lambda i, r, e, s, photos, *a: seen.append(len(photos)) or real(i, r, e, s, photos, *a),
    )
    sha = "a" * 64
    repeated = [{"kind": "item", "id": _ids()[3], "sha256": sha}] * 40
    distinct = [{"kind": "item", "id": i, "sha256": sha} for i in _ids()[:20]]
    discover.show_recommendations(repeated + distinct, USER)
    discover.show_recommendations(repeated, USER)
    assert seen == [limit, 1]
    out = str(discover.show_recommendations(distinct * 20, USER))  # 400 entries
    assert "not accepted" in out and len(seen) == 2


@pytest.mark.parametrize(
    "photos",
    [
        ["not an object"],
        [1, 2],
        [None],
        [{"kind": "upload"}],
        [{"kind": "item", "id": "1", "sha256": "a" * 64}],
        [{"kind": "item", "id": 1.7, "sha256": "a" * 64}],
        [{"kind": "item", "id": 2**63, "sha256": "a" * 64}],
        [{"kind": "item", "id": True, "sha256": "a" * 64}],
        [{"kind": "upload", "sha256": "a" * 64, "preview": "javascript:alert(1)"}],
        [{"kind": "shell", "sha256": "a" * 64}],
        {"kind": "item"},
        "photos",
    ],
)
def test_malformed_photo_lists_get_a_message(app: Dash, photos: object) -> None:
    from dash_app.pages import discover

    assert "not accepted" in str(discover.show_recommendations(photos, USER))
    assert "not accepted" in str(discover.photo_strip(photos))
    kept, messages = discover.change_photos("clear-photos", None, None, photos)
    assert kept == [] and "not accepted" in str(messages)


@pytest.mark.parametrize(
    ("image_id", "value", "user"),
    [
        ("good", 4.9, USER),
        ("good", True, USER),
        ("good", "5", USER),
        ("good", 0, USER),
        ("good", 6, USER),
        (1.7, 4, USER),
        (2**63, 4, USER),
        ("abc", 4, USER),
        (None, 4, USER),
        ({"a": 1}, 4, USER),
        ("good", 4, {"id": USER}),
        ("good", 4, "x" * 100_000),
        ("good", 4, ["u"]),
    ],
)
def test_bad_ratings_are_refused_with_a_message_and_not_stored(
    app: Dash, image_id: object, value: object, user: object
) -> None:
    from dash_app.pages import discover

    target = _ids()[0] if image_id == "good" else image_id
    assert discover.save_rating(target, value, user).startswith("Could not save")
    assert get_context().store.ratings.ratings_history() == []


def test_picks_and_removals_with_junk_ids_get_a_message(app: Dash) -> None:
    from dash_app.pages import discover

    for trigger in (
        {"type": "pick", "image": "abc"},
        {"type": "pick", "image": 1.7},
        {"type": "pick", "image": 2**63},
        {"type": "pick", "image": None},
        {"type": "remove-photo", "index": "x"},
        {"type": "remove-photo", "index": True},
    ):
        kept, messages = discover.change_photos(trigger, None, None, [])
        assert kept == [] and "not accepted" in str(messages), trigger
    for contents in ("data:image/png;base64,AAAA", [1, 2], [{"a": 1}]):
        kept, messages = discover.change_photos("upload", contents, None, [])
        assert kept == [] and "did not arrive as files" in str(messages)


def test_styles_and_trends_take_junk_without_error(app: Dash) -> None:
    from dash_app.pages import styles, trends

    for style in ("²", "٣", "1e3", "-1", "99999999", " 1", "1" * 5000):
        assert "3 styles" in str(styles.layout(style=style))
    for value in ("²", True, 1.5, -1, 10**9, {"a": 1}, [0], "0" * 10):
        assert "not in the current index" in str(styles.gallery(value)), value
    for hover in ({"points": [{"customdata": ["../x", 1]}]}, {"points": "x"}, ["x"], 5):
        assert styles.map_tooltip(hover)[0] is False
    bad_box = {"points": [{"customdata": ["b" * 64, 1], "bbox": {"x0": "<script>"}}]}
    assert styles.map_tooltip(bad_box)[0] is False
    for click in ({"points": [{"customdata": ["x", "²"]}]}, {"points": [{"customdata": 5}]}):
        with pytest.raises(PreventUpdate):
            styles.chosen_style("style-map", click, None)
    for tag in ({"a": 1}, ["boho"], "x" * 5000):
        assert "not accepted" in str(trends.trend_view(tag))


def test_the_backbone_comparison_is_shown_from_what_was_saved(app: Dash) -> None:
    from dash_app.pages import feedback

    assert "No comparison yet" in str(feedback.backbones_panel(None))
    saved = {
        "compared_at": "2026-12-01T20:00:00+00:00",
        "label_columns": ["articleType"],
        "k": 10,
        "rows": [
            {
                "backbone": "resnet50",
                "precision_at_k": {"articleType": 0.5},
                "nmi": {},
                "images_per_s": None,
                "dims": 2048,
                "peak_mb": None,
            },
            {
                "backbone": "<b>x</b>",
                "precision_at_k": {"articleType": "junk"},
                "nmi": [],
                "images_per_s": 12.5,
                "dims": "many",
                "peak_mb": 300.2,
            },
            "not a row",
        ],
    }
    text = str(feedback.backbones_panel(saved))
    assert "P@10 articleType" in text and "0.500" in text and "cached" in text and "12.5" in text
    assert "junk" not in text and "many" not in text  # only numbers are shown as numbers
    assert "backbones" in str(feedback.layout())


def test_emerging_looks_say_when_nothing_rises_clearly(app: Dash) -> None:
    from dash_app.pages import trends

    view = str(trends.emerging_view())
    assert "Emerging looks" in view and "None rises clearly yet" in view  # 30 items, 5 weeks


def test_emerging_looks_are_worked_out_once_per_index(
    app: Dash, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The micro-style clustering behind Emerging looks takes seconds to minutes: it is done once
    for each index built, not on every page view."""
    from clustering.trends import model
    from dash_app.pages import trends

    calls: list[int] = []
    real = model.emerging_looks

    def counted(*args: object, **kwargs: object) -> list:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(model, "emerging_looks", counted)
    first = str(trends.emerging_view())
    assert str(trends.emerging_view()) == first and len(calls) == 1
    save_index(_index(_ids(), seed=1), get_context().store.index_dir)  # a new build
    assert "Emerging looks" in str(trends.emerging_view()) and len(calls) == 2
    trends.emerging_view()
    assert len(calls) == 2
    # a build keeps them with its index: read, never worked out in a page view
    look = {
        "name": "boho · hat",
        "size": 7,
        "examples": _ids()[:2],
        "direction": "rising",
        "weekly_change": 0.25,
        "low": 0.1,
        "high": 0.4,
        "adjusted_p": 0.01,
    }
    index_dir = get_context().store.index_dir
    save_index(_index(_ids(), seed=2), index_dir, derived={"emerging_looks": [look]})
    shown = str(trends.emerging_view())
    assert "boho · hat" in shown and "7 items · share +25.0% a week (+10.0% to +40.0%)" in shown
    assert shown.count("/thumb/160/") == 2 and len(calls) == 2
    assert "None moves clearly yet" in str(trends.regions_view())  # 30 items: nothing to scan
    region = {
        "name": "look 1",
        "direction": "falling",
        "size": 12,
        "examples": _ids()[:3],
        "members": _ids()[:12],
        "first_week": "2026-09-07",
        "last_week": "2026-10-05",
        "counts": [5, 4, 3, 2, 1],
        "totals": [10, 10, 10, 10, 10],
        "slope": -0.4,
        "low": -0.6,
        "high": -0.2,
        "p_value": 0.001,
        "adjusted_p": 0.004,
    }
    save_index(_index(_ids(), seed=3), index_dir, derived={"regions": [region, {"junk": 1}]})
    assert "None moves clearly yet" in str(trends.regions_view())  # unreadable: none shown
    save_index(_index(_ids(), seed=4), index_dir, derived={"regions": [region]})
    shown = str(trends.regions_view())
    assert "look 1" in shown and "12 items · share -33.0% a week" in shown and "p 0.004" in shown
    assert shown.count("/thumb/160/") == 3


def test_costly_trend_views_answer_busy_beyond_their_slots(
    app: Dash, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Emerging looks, style and tag trends run at most two at once; a caller beyond that is told
    to try again promptly instead of queueing behind them."""
    from clustering.trends import model
    from dash_app.pages import trends

    inside, release = threading.Semaphore(0), threading.Event()
    computed: list[str] = []

    def slow(what: str) -> object:
        def run(*_args: object, **_kwargs: object) -> list:
            computed.append(what)
            inside.release()
            release.wait(5)
            return []

        return run

    monkeypatch.setattr(model, "emerging_looks", slow("looks"))
    monkeypatch.setattr(model, "tag_trends", slow("tags"))
    monkeypatch.setattr(trends, "SLOT_WAIT_S", 0.2, raising=False)

    def in_request(view: object, *args: object) -> threading.Thread:
        def run() -> None:
            with app.server.test_request_context("/trends"):
                view(*args)

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    busy = [in_request(trends.emerging_view)]
    try:
        assert inside.acquire(timeout=5)  # one slot taken, the looks being worked out
        start = time.monotonic()
        answer = str(trends.emerging_view())  # not worked out twice, nor waited for
        assert time.monotonic() - start < 2 and "being worked out" in answer, answer
        busy.append(in_request(trends.tag_trend_view, ["boho"]))
        assert inside.acquire(timeout=5)  # both slots taken
        for view, args in (
            (trends.tag_trend_view, (["minimal"],)),
            (trends.trend_view, ("boho",)),
            (trends.emerging_view, ()),
        ):
            start = time.monotonic()
            answer = str(view(*args))
            assert time.monotonic() - start < 2 and "busy" in answer, answer
    finally:
        release.set()
        for thread in busy:
            thread.join(10)
    assert sorted(computed) == ["looks", "tags"]  # the busy callers computed nothing
    assert "None rises clearly yet" in str(trends.emerging_view())  # kept: no slot needed
    assert computed.count("looks") == 1


def test_the_trends_page_reads_its_query_string_and_links_its_view(app: Dash) -> None:
    """A view can be linked and reloaded: ?tag=, &source= and &follow= set the controls, and
    the page offers the link of what is shown; values that name nothing known are ignored."""
    from dash_app.pages import trends

    page = trends.layout(tag="boho", source="test", follow="minimal,boho,nope")
    assert _find(page, "trend-tag").value == "boho"
    assert _find(page, "trend-follow").value == ["minimal", "boho"]
    assert _find(page, "trend-source").value == "test"
    assert _find(page, "trend-link").href == "/trends?tag=boho&source=test&follow=minimal%2Cboho"
    default = trends.layout(tag="<script>", source="x" * 500, follow=None)
    assert _find(default, "trend-tag").value == "__all__"
    assert _find(default, "trend-source").value == "__all__"
    assert _find(default, "trend-link").href.startswith("/trends?follow=")  # no tag, no source
    assert trends.view_link("streetwear", "mastodon", ["boho"]) == (
        "/trends?tag=streetwear&source=mastodon&follow=boho"
    )
    assert trends.view_link("__all__", "__all__", None) == "/trends"
    assert trends.view_link(["x"], {"a": 1}, "boho") == "/trends"  # junk from a browser


def test_discover_reads_its_query_string_and_links_its_view(app: Dash) -> None:
    """?items=12,34 makes those catalogue items the person's photos (the link wins over what
    the tab kept), &rated=1 ticks 'show items I rated'; junk and ids not stored are left out,
    and the page links what it shows (uploads stay out of the link)."""
    from dash_app.pages import discover

    first, second = _ids()[3], _ids()[12]
    page = discover.layout(
        items=f"{first}, {second},{first},junk,-4,99999999,{'9' * 40}", rated="1"
    )
    store = _find(page, "my-photos")
    assert store.storage_type == "memory"
    assert [p["id"] for p in store.data] == [first, second]
    assert _find(page, "show-rated").value is True
    assert _find(page, "discover-link").href == f"/?items={first},{second}&rated=1"
    assert "minimal · coat" in str(discover.show_recommendations(store.data[1:], USER))

    plain = discover.layout()
    assert _find(plain, "my-photos").storage_type == "session"  # the tab's photos are kept
    assert _find(plain, "discover-link").href == "/"
    assert discover.layout(items="<script>")  # nothing named: the plain page
    upload = {
        "kind": "upload",
        "sha256": "a" * 64,
        "name": "me.jpg",
        "preview": "data:image/jpeg;base64,",
    }
    item = {"kind": "item", "id": first, "sha256": store.data[0]["sha256"]}
    assert discover.view_link([upload, item], False) == f"/?items={first}"
    assert discover.view_link("junk", "yes") == "/"  # junk from a browser
    limit = get_context().config.dashboard.max_photos
    many = ",".join(str(i) for i in _ids()[: limit + 3])
    assert len(_find(discover.layout(items=many), "my-photos").data) == limit
