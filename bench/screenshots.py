"""The docs' screenshots of every dashboard page: `python -m bench.screenshots [--out docs/images]`.

Not a benchmark: it drives the real dashboard in headless Chromium on a demo store (the same
store `bench.dashboard` builds; pass --data-dir to reuse one): uploads a photo on Discover, rates
three items and updates, hovers the style map, runs a small scrape from the Scrape page, and saves
one PNG per page, and one of the demo feed.
"""

from __future__ import annotations

import argparse
import io
import tempfile
from pathlib import Path

from PIL import Image
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from bench.dashboard import demo_config, prepare_store
from dash_app import create_app
from dash_app.web.serving import serve_app
from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from scraper.browser import Chromium
from store import Store

REPO = Path(__file__).resolve().parents[1]


def _click(driver: WebDriver, element: object) -> None:
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element
    )
    element.click()  # type: ignore[attr-defined]


def _settle(driver: WebDriver, selector: str, timeout: float = 120) -> None:
    WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, selector)
            and not d.find_elements(By.CSS_SELECTOR, "._dash-loading")
        )
    )
    driver.execute_script("window.scrollTo(0, 0)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="shots-")) / "data"
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with BackgroundServer(create_feed_app(), "127.0.0.1", 0) as feed:
        config = demo_config(data_dir, feed.port)
        prepare_store(config, 40)
        with Store.from_config(config) as store:
            source = store.images.image_files()[17][1]
        photo = Path(tempfile.mkdtemp()) / "my-outfit.jpg"
        img = Image.open(source).convert("RGB")
        img.thumbnail((224, 224))
        buffer = io.BytesIO()
        img.save(buffer, "JPEG", quality=90)
        photo.write_bytes(buffer.getvalue())
        app = create_app(config, warm=True)
        with serve_app(app) as server, Chromium() as chromium:
            d = chromium.driver
            d.set_window_size(1360, 1180)
            d.get(server.url + "/")
            _settle(d, "#discover-message")
            d.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(photo))
            _settle(d, "#style-card")
            cards = d.find_elements(By.CSS_SELECTOR, "#items .ss-item")
            for card, stars in zip(cards[:3], (5, 4, 2), strict=True):
                _click(d, card.find_elements(By.CSS_SELECTOR, ".ss-stars label")[stars - 1])
                WebDriverWait(d, 30).until(lambda _, c=card: "saved" in c.text)
            _click(d, d.find_element(By.ID, "refresh-recs"))
            _settle(d, "#ratings-used")
            d.save_screenshot(str(out / "discover.png"))

            d.get(server.url + "/styles")
            _settle(d, "#style-dendrogram .main-svg")
            point = d.find_element(By.CSS_SELECTOR, "#style-map")
            ActionChains(d).move_to_element_with_offset(point, -60, 40).perform()
            d.save_screenshot(str(out / "styles.png"))

            d.get(server.url + "/trends")
            _settle(d, "#trend-chart .main-svg")
            d.save_screenshot(str(out / "trends.png"))

            d.get(server.url + "/feedback")
            _settle(d, "#ratings-model .main-svg")
            d.save_screenshot(str(out / "feedback.png"))

            d.get(server.url + "/scrape")
            _settle(d, "#scrape-start")
            d.find_element(By.ID, "scrape-tag").send_keys("romantic")
            count = d.find_element(By.ID, "scrape-count")
            count.clear()
            count.send_keys("50")
            d.find_element(By.ID, "scrape-start").click()
            _settle(d, "#scrape-done", timeout=300)
            WebDriverWait(d, 10).until(  # the bar's width transition has ended
                lambda d: d.execute_script(
                    "const b = document.querySelector('#scrape-progress .progress-bar');"
                    "return b.getBoundingClientRect().width >= b.parentNode.clientWidth - 1;"
                )
            )
            d.save_screenshot(str(out / "scrape.png"))

            d.get(server.url + "/store")
            _settle(d, "#stat-images")
            d.save_screenshot(str(out / "overview.png"))

            d.get(f"http://127.0.0.1:{feed.port}/tag/boho")  # the demo feed itself
            _settle(d, "article img")
            d.save_screenshot(str(out / "demo-feed.png"))
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
