"""The dashboard's pages in real headless Chromium, on a small demo store with a style index."""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from dash_app import create_app
from dash_app.demo import prepare_demo
from dash_app.web.serving import serve_app
from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from sandbox.replicas import ReplicaOptions, create_mastodon_app, serving
from store import Store
from stylescout.settings import Config
from tests.browser.conftest import console_errors, page_wait, skip_without_chromium
from tests.conftest import make_config, meta_for

pytestmark = pytest.mark.xdist_group("dashboard-pages")  # one demo store and dashboard, built once

SHOTS = os.environ.get("STYLESCOUT_SCREENSHOTS")  # a folder: save each page's screenshot there
SECOND_SITE, REPOSTS = "mastodon", 12


def _repost_on_a_second_site(store: Store) -> None:
    """Reposts of some demo items on another site, all in the demo's last week, so the per-source
    views have two sources and the second one a week with enough posts to chart."""
    last = max(t for _, t in store.images.post_times())
    for n, (image_id, _) in enumerate(store.images.image_files()[:REPOSTS]):
        store.images.add_post(image_id, meta_for(10_000 + n, source=SECOND_SITE, posted_at=last))


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    """A demo feed, a local replica of Mastodon and a store with two demo styles and an index,
    built once for the module; tests use copies (`demo`), so none sees what another wrote."""
    skip_without_chromium()
    data_dir = tmp_path_factory.mktemp("dash") / "data"
    mastodon = create_mastodon_app(ReplicaOptions(posts=40, tags=frozenset({"streetwear"})))
    with BackgroundServer(create_feed_app(), "127.0.0.1", 0) as feed, serving(mastodon) as site:
        config = make_config(
            data_dir,
            demo_feed={"port": feed.port},
            scraper={"default_source": "demo-html"},
            sources={  # a second site for the Scrape page, a local replica of Mastodon
                "mastodon": {
                    "base_url": site,
                    "allow_private_network": True,
                    "api": {"request_spacing_s": 0},
                }
            },
            features={"input_size": 64, "weights": "none"},
            clustering={"n_styles": 4, "min_size": 2},
        )
        with Store(data_dir) as store:
            prepare_demo(config, store, tags=("boho", "minimal"), per_tag=16, say=lambda _: None)
            _repost_on_a_second_site(store)
        yield config


@pytest.fixture
def demo(demo_store: Config, tmp_path: Path) -> Iterator[tuple[Config, str]]:
    """A copy of the module's demo store and the dashboard serving it."""
    data_dir = tmp_path / "data"
    shutil.copytree(demo_store.data_dir, data_dir, symlinks=True)  # the index pointer stays one
    config = demo_store.model_copy(update={"data_dir": data_dir})
    with serve_app(create_app(config, warm=True)) as server:
        yield config, server.url


def _shot(driver: WebDriver, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SHOTS) / f"{name}.png"))


def _items(driver: WebDriver) -> list[int]:
    """Image ids of the recommended items on the page, in order."""
    cards = driver.find_elements(By.CSS_SELECTOR, "#items .ss-item")
    return [json.loads(c.get_attribute("id"))["image"] for c in cards]


def _click(driver: WebDriver, element: object) -> None:
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element
    )
    element.click()


def _user_id(driver: WebDriver) -> str:
    return json.loads(driver.execute_script("return localStorage.getItem('user-id')"))


def _photo(config: Config, tmp_path: Path) -> Path:
    """A person's photo: a stored demo image, re-encoded at 224 px (so not the same bytes)."""
    with Store(config.data_dir) as store:
        path = store.images.image_files()[3][1]
    img = Image.open(path).convert("RGB")
    img.thumbnail((224, 224))
    out = tmp_path / "my outfit.jpg"
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=88)
    out.write_bytes(buffer.getvalue())
    return out


def test_upload_rate_and_the_next_recommendation_reflects_it(
    browser: WebDriver, demo: tuple[Config, str], tmp_path: Path
) -> None:
    config, url = demo
    wait = page_wait(browser, 60)
    browser.get(f"{url}/")
    wait.until(lambda d: d.find_elements(By.ID, "discover-message"))  # no photos: popular items
    upload = browser.find_element(By.CSS_SELECTOR, "#upload input[type=file]")
    upload.send_keys(str(_photo(config, tmp_path)))
    wait.until(lambda d: d.find_elements(By.ID, "style-card") and len(_items(d)) == 10)
    assert browser.find_elements(By.CSS_SELECTOR, "#photo-strip img")
    assert "match" in browser.find_element(By.ID, "style-score").text
    first = _items(browser)[0]
    _shot(browser, "discover")

    card = browser.find_element(By.CSS_SELECTOR, "#items .ss-item")
    _click(browser, card.find_elements(By.CSS_SELECTOR, ".ss-stars label")[0])  # 1 of 5
    wait.until(lambda _: "saved" in card.text)
    user = _user_id(browser)
    with Store(config.data_dir) as store:
        assert store.ratings.latest_ratings(user) == {first: 1}
        history = store.ratings.ratings_history()
    assert history[-1]["model_key"] and history[-1]["style"] and history[-1]["user_id"] == user

    _click(browser, browser.find_element(By.ID, "refresh-recs"))
    wait.until(lambda d: d.find_elements(By.ID, "ratings-used"))
    wait.until(lambda d: len(_items(d)) == 10)
    assert first not in _items(browser)  # pushed away
    assert "away from 1 disliked" in browser.find_element(By.ID, "ratings-used").text
    assert console_errors(browser) == []


def test_refused_uploads_say_why(
    browser: WebDriver, demo: tuple[Config, str], tmp_path: Path
) -> None:
    _, url = demo
    browser.get(f"{url}/")
    wait = page_wait(browser, 30)
    wait.until(lambda d: d.find_elements(By.ID, "discover-message"))
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    upload = browser.find_element(By.CSS_SELECTOR, "#upload input[type=file]")
    upload.send_keys(f"{svg}\n{empty}")
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".ss-refused")) == 2)
    text = browser.find_element(By.ID, "upload-messages").text
    assert "logo.svg is an SVG drawing" in text and "empty.jpg is empty" in text
    assert browser.find_element(By.ID, "photo-strip").text == "No photos yet."
    assert console_errors(browser) == []


def test_every_page_renders_without_console_errors(
    browser: WebDriver, demo: tuple[Config, str]
) -> None:
    config, url = demo
    with Store(config.data_dir) as store:  # the Feedback page shows its charts once rated:
        first = store.images.image_files()[0][0]  # a rating of its own, whatever ran before
        store.ratings.add_rating("pages-test-rater", first, 4)
    wait = page_wait(browser, 60)  # a loaded machine: every page's first callbacks at once
    pages = {
        "/styles": "style-dendrogram",
        "/trends": "trend-chart",
        "/feedback": "feedback-summary",
        "/store": "stat-images",
        "/scrape": "scrape-start",
    }
    for path, element in pages.items():
        browser.get(f"{url}{path}")
        wait.until(lambda d, e=element: d.find_elements(By.ID, e), f"{path}: no #{element}")
        wait.until(
            lambda d: not d.find_elements(By.CSS_SELECTOR, "._dash-loading"), f"{path}: loading"
        )
        _shot(browser, path.strip("/"))
        assert console_errors(browser) == [], path

    # the per-source views, with the demo's own posts and the reposts on a second site
    browser.get(f"{url}/styles")
    ticks = "#style-sources .xtick text"
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ticks))
    assert [t.text for t in browser.find_elements(By.CSS_SELECTOR, ticks)] == [
        "demo-html",
        SECOND_SITE,
    ]
    browser.get(f"{url}/trends")
    titles = "#trend-sources-chart .annotation-text"
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, titles)) == 2)
    assert browser.find_elements(By.CSS_SELECTOR, titles)[1].text == f"{SECOND_SITE} · 12 posts"
    _shot(browser, "trends-by-source")
    # the tag view: the followed tags (the most used ones) over the weeks their scrapes cover
    wait.until(lambda d: d.find_element(By.ID, "tag-trend-view").text.strip())
    tag_view = browser.find_element(By.ID, "tag-trend-view").text
    assert "Too few whole weeks" in tag_view or "#boho" in tag_view, tag_view
    wait.until(lambda d: "Emerging looks" in d.find_element(By.ID, "emerging-view").text)
    assert console_errors(browser) == []
    browser.get(f"{url}/feedback")  # the offline comparison of backbones, or how to run one
    wait.until(lambda d: d.find_elements(By.ID, "backbones"))
    assert "Backbones compared" in browser.find_element(By.ID, "backbones").text
    assert console_errors(browser) == []

    browser.get(f"{url}/styles?style=1")  # a style chosen in the URL is browsed at once
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#gallery-items img"))
    assert browser.find_element(By.ID, "gallery-name").text
    # which space the styles live in: 32 demo images are too few tagged images to learn from
    space = browser.find_element(By.ID, "style-space").text
    assert space.startswith("Style space: raw space (too few tagged images"), space
    assert space.endswith("Nearest items: exact (numpy)."), space  # a small index: no FAISS
    assert console_errors(browser) == []

    with Store(config.data_dir) as store:  # Discover, its chosen catalogue items in the URL
        chosen = [image_id for image_id, _ in store.images.image_files()[2:4]]
    browser.get(f"{url}/?items={chosen[0]},{chosen[1]}&rated=1")
    wait.until(lambda d: d.find_elements(By.ID, "style-card") and len(_items(d)) == 10)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#photo-strip img")) == 2
    assert not set(chosen) & set(_items(browser))  # your photos are not recommended back
    link = browser.find_element(By.ID, "discover-link").get_attribute("href")
    assert link == f"{url}/?items={chosen[0]},{chosen[1]}&rated=1"
    _click(browser, browser.find_element(By.CSS_SELECTOR, "#photo-strip .ss-remove"))
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#photo-strip img")) == 1)
    wait.until(
        lambda d: (
            d.find_element(By.ID, "discover-link").get_attribute("href")
            == f"{url}/?items={chosen[1]}&rated=1"
        )
    )
    assert console_errors(browser) == []


def test_scrape_page_runs_a_scrape_then_the_new_style_appears(
    browser: WebDriver, demo: tuple[Config, str]
) -> None:
    config, url = demo
    wait = page_wait(browser, 180)
    browser.get(f"{url}/scrape")
    wait.until(lambda d: d.find_elements(By.ID, "scrape-start"))
    tag = browser.find_element(By.ID, "scrape-tag")
    tag.send_keys("streetwear")
    count = browser.find_element(By.ID, "scrape-count")
    count.clear()
    count.send_keys("16")
    # a second source: open the multi-select, tick mastodon, close it
    browser.find_element(By.ID, "scrape-source").click()
    option = '.dash-dropdown-option input[value="mastodon"]'
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, option))
    _click(browser, browser.find_element(By.CSS_SELECTOR, option).find_element(By.XPATH, "../.."))
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    wait.until(lambda d: "mastodon" in d.find_element(By.ID, "scrape-source").text)
    assert "demo-html" in browser.find_element(By.ID, "scrape-source").text
    browser.find_element(By.ID, "scrape-start").click()
    wait.until(lambda d: d.find_element(By.ID, "scrape-cancel").is_enabled())  # running
    seen: set[str] = set()

    def finished(d: WebDriver) -> bool:
        seen.add(d.find_element(By.ID, "scrape-stage").text.split(":")[0])
        return bool(d.find_elements(By.ID, "scrape-done"))

    wait.until(finished)
    done = browser.find_element(By.ID, "scrape-done").text
    assert "streetwear" in done.split("The styles now")[-1], done
    bar = browser.find_element(By.CSS_SELECTOR, "#scrape-progress .progress-bar")
    assert bar.get_attribute("aria-valuenow") == "100"
    assert browser.find_element(By.ID, "count-added").text == "32"  # 16 from each source
    assert "Added 32 images" in done
    assert {"Scraping", "Rebuilding the styles"} & seen
    _shot(browser, "scrape")
    with Store(config.data_dir) as store:
        runs = store.runs.recent(2)
        assert {r["source"] for r in runs} == {"demo-html", "mastodon"}
        assert all(r["status"] == "completed" and r["tag"] == "streetwear" for r in runs)

    browser.get(f"{url}/styles")  # the new index is used without restarting the app
    wait.until(lambda d: "streetwear" in d.find_element(By.ID, "style-sizes").text)
    ActionChains(browser).move_to_element(browser.find_element(By.ID, "style-map")).perform()
    assert console_errors(browser) == []
