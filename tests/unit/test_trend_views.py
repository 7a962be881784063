"""The Trends page's interest and rising list, one tag on each site, and the same tables as CSV
from the page's links and from `stylescout trends --view`, on a store of planted weekly posts
on two sites (no TensorFlow: a toy style index)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

import dash
import numpy as np
import pytest
from dash import Dash

from clustering.cli import main as cli_main
from clustering.index import IndexMeta, StyleIndex, save_index
from dash_app import create_app
from store import Store
from tests.conftest import jpeg_bytes, make_config, meta_for

START = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)  # a Monday
PLAN_SOURCES = ("mastodon", "flickr")
# posts per week on each site: boho rises on mastodon and falls on flickr, minimal is steady
PLAN = {
    ("boho", "mastodon"): [2, 3, 3, 4, 5, 6, 8, 10, 12, 14, 17, 20],
    ("boho", "flickr"): [20, 17, 14, 12, 10, 8, 6, 5, 4, 3, 3, 2],
    ("minimal", "mastodon"): [8] * 12,
    ("minimal", "flickr"): [8] * 12,
}


def _toy_index(ids: list[int]) -> StyleIndex:
    rng = np.random.default_rng(0)
    labels = (np.arange(len(ids)) % 2).astype(np.int32)
    vectors = rng.standard_normal((len(ids), 4)).astype(np.float32)
    meta = IndexMeta(
        model_key="toy-model",
        feature_key="toy",
        colour_key=None,
        colour_weight=0.0,
        weights_note="",
        names=["boho · hat", "minimal · coat"],
        representatives=[ids[:3], ids[1:4]],
        cluster_path="exact",
    )
    return StyleIndex(
        ids=np.array(ids, np.int64),
        vectors=vectors,
        labels=labels,
        centroids=np.stack([vectors[labels == s].mean(axis=0) for s in range(2)]),
        linkage=np.array([[0, 1, 1.0, 2]], np.float64),
        mean=np.zeros(4, np.float32),
        std=np.ones(4, np.float32),
        meta=meta,
    )


@pytest.fixture
def app(data_dir: Path) -> Iterator[Dash]:
    seed, ids = 0, []
    with Store(data_dir) as store:
        for (tag, source), weekly in PLAN.items():
            for week, n in enumerate(weekly):
                for i in range(n):
                    when = START + dt.timedelta(weeks=week, days=i % 7)
                    meta = meta_for(seed, source=source, posted_at=when)
                    ids.append(store.images.add_image_bytes(jpeg_bytes(seed), meta, [tag]).image_id)
                    seed += 1
        last = START + dt.timedelta(weeks=11, days=6, hours=10)  # the last week is whole
        for source in ("mastodon", "flickr"):
            meta = meta_for(seed, source=source, posted_at=last)
            ids.append(store.images.add_image_bytes(jpeg_bytes(seed), meta, ["minimal"]).image_id)
            seed += 1
        save_index(_toy_index(ids), store.index_dir)
    app = create_app(make_config(data_dir))
    with app.server.test_request_context("/"):
        yield app


def _find(component: object, element_id: object) -> object | None:
    if isinstance(component, list | tuple):
        return next((f for c in component if (f := _find(c, element_id)) is not None), None)
    if getattr(component, "id", None) == element_id:
        return component
    return _find(getattr(component, "children", None), element_id) if component else None


def test_interest_and_the_rising_list(app: Dash) -> None:
    from dash_app.pages import trends

    view = trends.interest_view(["boho", "minimal"], "__all__")
    chart = _find(view, "interest-chart").figure
    assert [t.name for t in chart.data] == ["#boho", "#minimal"]
    assert max(chart.data[0].y) == 100 and min(chart.data[0].y) >= 0  # to its own peak
    table = str(_find(view, "rising-table"))
    assert "#boho" in table and "#minimal" in table and "steady" in table
    on_mastodon = trends.interest_view(["boho"], "mastodon")
    row = _find(on_mastodon, {"type": "rising-row", "tag": "boho", "source": "mastodon"})
    assert "rising" in str(row)  # within mastodon, boho rises
    on_flickr = trends.interest_view(["boho"], "flickr")
    assert "falling" in str(
        _find(on_flickr, {"type": "rising-row", "tag": "boho", "source": "flickr"})
    )
    assert "/trends/export/interest.csv?tag=boho&source=flickr" in str(on_flickr)
    for junk in (["nope"], "boho", [["boho"]], ["x" * 200], ["boho"] * 13):
        assert "warning" in str(trends.interest_view(junk)), junk
    assert "source" in str(trends.interest_view(["boho"], "nowhere"))


def test_one_tag_on_each_site_says_where_they_disagree(app: Dash) -> None:
    from dash_app.pages import trends

    view = trends.trend_view("boho")
    chart = _find(view, "sites-chart").figure
    assert {t.name for t in chart.data} == {"mastodon", "flickr"}
    assert all(max(t.y) == 100 for t in chart.data)  # each site to its own peak
    said = str(_find(view, "sites-disagree").children)
    assert said == "Sites disagree on #boho: rising on mastodon, falling on flickr."
    assert "sites-chart" not in str(trends.trend_view("boho", "mastodon"))  # one site chosen


def test_every_chart_has_its_csv_and_the_cli_gives_the_same_rows(app: Dash, data_dir: Path) -> None:
    client = app.server.test_client()
    answers = {}
    for view, query in [
        ("interest", "?tag=boho&tag=minimal"),
        ("rising", "?source=mastodon"),
        ("sources", "?tag=boho"),
        ("forecast", "?tag=boho"),
        ("styles", "?tag=boho"),
    ]:
        got = client.get(f"/trends/export/{view}.csv{query}")
        assert got.status_code == 200, (view, got.data)
        assert got.mimetype == "text/csv" and "attachment" in got.headers["Content-Disposition"]
        answers[view] = list(csv.DictReader(io.StringIO(got.get_data(as_text=True))))
        assert answers[view], view
    sources = {r["source"] for r in answers["sources"]}
    assert sources == {"mastodon", "flickr"}
    rising = {r["tag"]: r for r in answers["rising"]}
    assert rising["boho"]["label"] == "rising" and rising["boho"]["source"] == "mastodon"
    assert {r["style_name"] for r in answers["styles"]} == {"boho · hat", "minimal · coat"}
    assert any(r["forecast"] for r in answers["forecast"])  # 12 weeks: scored and forecast

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli_main(
            [
                "trends",
                "--view",
                "rising",
                "--source",
                "mastodon",
                "--json",
                "--data-dir",
                str(data_dir),
            ]
        )
    assert code == 0
    rows = json.loads(out.getvalue())["rows"]
    assert [r["tag"] for r in rows] == [r["tag"] for r in answers["rising"]]
    assert [r["label"] for r in rows] == [r["label"] for r in answers["rising"]]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli_main(
            ["trends", "--view", "sources", "--tag", "boho", "--csv", "--data-dir", str(data_dir)]
        )
    assert code == 0
    assert list(csv.DictReader(io.StringIO(out.getvalue()))) == answers["sources"]


@pytest.mark.parametrize(
    "path",
    [
        "/trends/export/nope.csv",
        "/trends/export/sources.csv",  # needs one tag
        "/trends/export/interest.csv?tag=%3Cscript%3E",
        "/trends/export/interest.csv?source=../etc",
        "/trends/export/styles.csv?tag=a&tag=b",
        "/trends/export/interest.csv?" + "&".join(["tag=boho"] * 13),
    ],
)
def test_bad_csv_requests_get_one_line(app: Dash, path: str) -> None:
    got = app.server.test_client().get(path)
    assert got.status_code == 400 and got.get_data(as_text=True).count("\n") == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--view", "sources"],
        ["--view", "sources", "--tag", "boho", "--source", "flickr"],
        ["--source", "nowhere"],
        ["--tag", "<b>"],
        ["--json", "--csv"],
        ["backtest", "--view", "rising"],
    ],
)
def test_bad_trend_commands_are_usage_errors(data_dir: Path, app: Dash, args: list[str]) -> None:
    with contextlib.redirect_stderr(io.StringIO()):
        assert cli_main(["trends", *args, "--data-dir", str(data_dir)]) == 2


def test_following_a_tag_from_the_page_and_its_notices(app: Dash) -> None:
    from dash_app.pages import trends
    from dash_app.web.context import get_context

    assert "None yet" in str(trends.followed_view())
    assert trends.notices_view() == []
    for junk in ("__all__", "nope", None, ["boho"], "x" * 500):
        view, said = trends.follow_chosen(1, junk)
        assert "Pick one tag" in said, junk
    view, said = trends.follow_chosen(1, "boho")
    assert said == "#boho is followed: gathered every 6 hours."
    table = str(view)
    assert "#boho" in table and "every 6 h" in table and "not run yet" in table
    assert "(12 weeks)" in table  # the whole weeks its posts cover
    store = get_context().store
    assert [f.tag for f in store.follows.all()] == ["boho"]
    notice = store.follows.add_notice("boho", "breakout", "#boho: new, breakout")
    shown = str(trends.notices_view())
    assert "breakout: " in shown and "#boho: new, breakout" in shown
    assert trends.dismiss_notices(1, [notice]) == [] and trends.notices_view() == []
    with pytest.raises(dash.exceptions.PreventUpdate):
        trends.dismiss_notices(None)


def test_a_window_of_weeks_lives_in_the_address_and_the_csv(app: Dash, data_dir: Path) -> None:
    from dash_app.pages import trends

    page = trends.layout(tag="boho", weeks="12", follow="boho,minimal")
    assert _find(page, "trend-window").value == 12
    assert _find(page, "trend-link").href == "/trends?tag=boho&follow=boho%2Cminimal&weeks=12"
    assert _find(trends.layout(weeks="7"), "trend-window").value == "all"  # not a window: ignored
    assert trends.view_link("boho", "__all__", ["boho"], "all") == "/trends?tag=boho&follow=boho"
    # the last 12 weeks start a week before the store's first whole week: the same 12 weeks
    full = _find(trends.interest_view(["boho"], "__all__", "all"), "interest-chart").figure
    last = _find(trends.interest_view(["boho"], "__all__", 12), "interest-chart").figure
    assert len(last.data[0].x) <= len(full.data[0].x) == 12
    assert "weeks=12" in str(trends.interest_view(["boho"], "__all__", 12))
    for junk in (5, "12", True, [12], {"a": 1}):
        assert "window was not accepted" in str(trends.interest_view(["boho"], "__all__", junk))
        assert "window was not accepted" in str(trends.trend_view("boho", "__all__", junk))
        assert "window was not accepted" in str(trends.tag_trend_view(["boho"], junk))
    client = app.server.test_client()
    assert client.get("/trends/export/interest.csv?tag=boho&weeks=12").status_code == 200
    assert client.get("/trends/export/interest.csv?tag=boho&weeks=5").status_code == 400
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli_main(["trends", "--tag", "boho", "--weeks", "12", "--csv", "--data-dir", str(data_dir)])
    assert len(list(csv.DictReader(io.StringIO(out.getvalue())))) == len(last.data[0].x)


def test_the_backtest_scores_each_tag_on_each_source(app: Dash, data_dir: Path) -> None:
    from clustering.trends.backtest import store_series
    from dash_app.web.context import get_context

    series = store_series(get_context().store, "sources", names=["boho", "minimal"])
    assert set(series) == {f"#{t} on {s}" for t in ("boho", "minimal") for s in PLAN_SOURCES}
    assert series["#boho on flickr"].tolist() == PLAN[("boho", "flickr")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        args = ["trends", "backtest", "--kind", "sources", "--json", "--data-dir", str(data_dir)]
        assert cli_main(args) == 0
    assert json.loads(out.getvalue())["sources"]["series"] == 4


def test_the_page_follows_a_tag_once_and_dismisses_only_what_it_showed(app: Dash) -> None:
    from dash_app.pages import trends
    from dash_app.web.context import get_context

    store = get_context().store
    store.follows.follow("boho", ["flickr"], 24, 7)
    _, said = trends.follow_chosen(1, "boho")
    assert "followed already" in said and store.follows.get("boho").every_hours == 24
    shown_ids = [store.follows.add_notice("boho", "rising", f"#boho {n}") for n in range(2)]
    trends.notices_view()
    later = store.follows.add_notice("boho", "breakout", "#boho later")  # after the page drew
    left = str(trends.dismiss_notices(1, shown_ids))
    assert "#boho later" in left and [n.id for n in store.follows.notices()] == [later]
    for junk in ([True], ["1"], [0], list(range(1, 8)), {"a": 1}):
        assert "not accepted" in str(trends.dismiss_notices(1, junk)), junk
    assert [n.id for n in store.follows.notices()] == [later]


def test_a_csv_of_a_tag_in_any_script_has_a_header_browsers_read(app: Dash) -> None:
    from dash_app.web.context import get_context

    store = get_context().store
    meta = meta_for(9999, source="mastodon", posted_at=START)
    store.images.add_image_bytes(jpeg_bytes(9999), meta, ["ключ"])
    got = app.server.test_client().get("/trends/export/interest.csv?tag=%D0%BA%D0%BB%D1%8E%D1%87")
    assert got.status_code == 200
    header = got.headers["Content-Disposition"]
    assert 'filename="stylescout-interest-____.csv"' in header
    assert "filename*=UTF-8''stylescout-interest-%D0%BA%D0%BB%D1%8E%D1%87.csv" in header


def test_a_post_dated_in_the_future_is_kept_as_seen_now(app: Dash) -> None:
    from dash_app.web.context import get_context

    store = get_context().store
    meta = meta_for(9998, source="mastodon", posted_at="2099-01-01T00:00:00Z")
    image_id = store.images.add_image_bytes(jpeg_bytes(9998), meta, ["boho"]).image_id
    (stamp,) = [t for i, t in store.images.post_times() if i == image_id]
    assert stamp < "2099" and stamp[:4] == str(dt.datetime.now(dt.UTC).year)
