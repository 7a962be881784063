"""Tag trends against the demo feed's own design, after full scrapes of its six style tags."""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import pytest

from clustering.build import build_index
from clustering.cli import main as cli_main
from clustering.index import read_derived
from clustering.trends.backtest import METHODS, backtest, store_series
from clustering.trends.model import emerging_looks, tag_trends
from sandbox.demo_feed.catalog import Catalog
from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from sandbox.demo_feed.styles import STYLES
from scraper.scrape import scrape
from store import Store
from stylescout.settings import DemoFeedConfig
from tests.conftest import make_config

pytestmark = pytest.mark.model  # builds a Keras backbone: not in make test-fast


@pytest.mark.slow
def test_the_tag_view_calls_what_the_feed_was_designed_to_do(data_dir: Path) -> None:
    catalog = Catalog(DemoFeedConfig())
    with BackgroundServer(create_feed_app(), "127.0.0.1", 0) as feed:
        config = make_config(data_dir, demo_feed={"port": feed.port})
        for tag in STYLES:
            scrape(config.scraping, tag, len(catalog.by_tag[tag]), "demo-html")
    with Store(data_dir) as store:
        trends = tag_trends(store, list(STYLES))
    by_name = {t.name: t for t in trends}
    assert set(by_name) == set(STYLES)
    ranked = [t.name for t in trends]  # fastest rising first
    assert set(ranked[:2]) == {"streetwear", "boho"}
    assert set(ranked[-2:]) == {"romantic", "preppy"}
    for name in ("streetwear", "boho"):
        assert by_name[name].direction == "rising" and by_name[name].low > 0, by_name[name]
    for name in ("romantic", "preppy"):
        assert by_name[name].direction == "falling" and by_name[name].high < 0, by_name[name]
    for name in ("sporty", "minimal"):  # about flat by design: not called
        assert by_name[name].direction == "flat", by_name[name].describe()
    for trend in trends:  # counts beside shares, over whole weeks only, with a forecast
        assert trend.counts.sum() > 150 and len(trend.coverage.weeks) >= 8
        assert (trend.shares <= 1).all() and len(trend.forecast) == 4
        assert all(f.low <= f.mean <= f.high for f in trend.forecast)

    # the forecasts' track record on the same weeks: every method scored on every tag's series
    with Store(data_dir) as store:
        series = store_series(store, "tags", names=list(STYLES))
    assert set(series) == {f"#{t}" for t in STYLES}
    assert all(len(s) == len(by_name[n[1:]].counts) for n, s in series.items())  # same weeks
    record = backtest(series.values(), horizon=4, min_train=6)
    assert record.series == 6 and {m for m, _ in record.scores} == set(METHODS)
    for score in record.scores.values():
        assert score.forecasts > 0 and 0 <= score.coverage <= 1 and 0 <= score.direction <= 1
        assert math.isfinite(score.mase)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert (
            cli_main(
                [
                    "trends",
                    "backtest",
                    "--kind",
                    "tags",
                    "--top",
                    "6",
                    "--json",
                    "--data-dir",
                    str(data_dir),
                ]
            )
            == 0
        )
    said = json.loads(out.getvalue())["tags"]
    assert said["series"] + said["too_short"] == 6 and said["best"]["4"] in METHODS

    # emerging looks: micro-styles rising significantly, from the families designed to rise
    family_of = {post.id: post.style for post in catalog.posts}
    features = {"weights": "none", "input_size": 64}  # small inputs: the test judges the trends
    config = config.model_copy(update={"features": config.features.model_copy(update=features)})
    with Store(data_dir) as store:
        _, index = build_index(config.engine, store)
        looks = emerging_looks(store, index.ids, index.vectors, config.clustering)
        cards = store.images.cards([i for look in looks for i in look.examples])
    assert looks and all(look.trend.direction == "rising" for look in looks)
    # the build kept the looks of its index (the Trends page reads them, never works them out)
    kept = read_derived(index.folder)["emerging_looks"]
    assert [k["name"] for k in kept] == [look.name for look in looks]
    # each look is led by a family designed to rise: a look of sneakers may show a sporty pair
    # beside the streetwear ones (the store's ids, hence the fine cut, vary from scrape to scrape)
    for look in looks:
        families = [family_of[cards[i]["post_url"].rsplit("/", 1)[-1]] for i in look.examples]
        rising = sum(f in ("streetwear", "boho") for f in families)
        assert rising >= 0.75 * len(families), (look.name, families)
