"""Dashboard benchmarks: `python -m bench.dashboard [--photos 30] [--loads 3]`.

- Discover: server time from upload to response for one 224 px photo, through the app's real
  HTTP callback endpoint: the upload callback (decode, checks, store by hash, preview) plus the
  recommendation callback (ResNet50 features + colour, style match, top-10, cards), feature
  extraction included (every photo is new: no cache hits). p50 / p95, and the ratio against one
  bare ResNet50 forward pass on a ready tensor measured in the same run (the floor).
- First render: headless Chromium, navigation start to the page's main element drawn, for every
  page; median of --loads loads.

The store is the demo's: 40 images of each of the six demo style tags, scraped from the demo feed
(html mode) and built with ResNet50 at 224 px (random weights: the same computation as ImageNet).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from clustering.index import read_meta
from dash_app import create_app
from dash_app.demo import prepare_demo
from dash_app.web.serving import serve_app
from sandbox.dash_client import recommend_body, upload_body
from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from sandbox.demo_feed.sources import with_demo_sources
from scraper.browser import Chromium, chromium_available
from store import Store
from stylescout import paths
from stylescout.loader import parse_config
from stylescout.settings import Config

PAGES = {  # CSS selector of what shows the page is drawn (figures drawn, item cards shown)
    "/": "#items .ss-item",
    "/scrape": "#scrape-start",
    "/styles": "#style-dendrogram .main-svg",
    "/trends": "#trend-chart .main-svg",
    "/feedback": "#no-ratings",
    "/store": "#stat-images",
}


def demo_config(data_dir: Path, feed_port: int) -> Config:
    return with_demo_sources(
        parse_config(
            {
                "data_dir": str(data_dir),
                "demo_feed": {"port": feed_port},
                "scraper": {"default_source": "demo-html"},
                "features": {"weights": "none"},
            },
            "benchmark config",
            data_dir.parent,
        )
    )


def prepare_store(config: Config, per_tag: int) -> None:
    """The demo store and index, unless the data dir has an index already."""
    with Store.from_config(config) as store:
        prepare_demo(config, store, per_tag=per_tag, say=lambda line: print(line, flush=True))


def _photos(config: Config, n: int) -> list[bytes]:
    """n distinct 224 px JPEG photos made from stored demo images (one pixel differs)."""
    with Store.from_config(config) as store:
        files = [p for _, p in store.images.image_files()]
    out = []
    for i in range(n):
        img = Image.open(files[(7 * i) % len(files)]).convert("RGB")
        img = img.resize((224, 224), Image.BICUBIC)
        img.putpixel((i % 224, 0), (i % 256, 0, 0))
        buffer = io.BytesIO()
        img.save(buffer, "JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def _post(client: object, body: dict) -> dict:
    response = client.post("/_dash-update-component", json=body)  # type: ignore[attr-defined]
    if response.status_code != 200:
        raise RuntimeError(f"callback failed: {response.status_code} {response.data[:300]!r}")
    return json.loads(response.data)


def _discover_once(client: object, photo: bytes, user_id: str) -> tuple[float, float]:
    """Seconds from posting the upload to the recommendation's response (both callbacks), and
    of the upload callback alone."""
    started = time.perf_counter()
    photos = _post(client, upload_body(photo, "photo.jpg", "image/jpeg"))["response"]["my-photos"][
        "data"
    ]
    uploaded = time.perf_counter() - started
    result = _post(client, recommend_body(photos, user_id))
    elapsed = time.perf_counter() - started
    if "style-card" not in json.dumps(result):
        raise RuntimeError("the recommendation has no style card")
    return elapsed, uploaded


def _bare_forward(app: object, repeats: int) -> float:
    """Median seconds of one bare forward pass on a ready 224 px tensor (the engine's model)."""
    from dash_app.web.context import EXTENSION_KEY

    engine = app.server.extensions[EXTENSION_KEY].engine  # type: ignore[attr-defined]
    extractor = engine.embedder.extractor()
    size = extractor.cfg.input_size
    batch = np.random.default_rng(0).integers(0, 255, (1, size, size, 3), dtype=np.uint8)
    extractor.run_batch(batch)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        extractor.run_batch(batch)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _first_render(url: str, loads: int) -> dict[str, float]:
    """Median ms from navigation start to each page drawn, in headless Chromium."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    out: dict[str, float] = {}
    with Chromium() as chromium:
        driver = chromium.driver
        driver.set_window_size(1280, 1000)
        for path, element in PAGES.items():
            times = []
            for _ in range(loads + 1):  # the first load warms the browser's cache
                driver.get(url + path)
                WebDriverWait(driver, 60, poll_frequency=0.01).until(
                    lambda d, e=element: d.find_elements(By.CSS_SELECTOR, e)
                )
                times.append(driver.execute_script("return performance.now()"))
            out[path] = statistics.median(times[1:])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=30, help="timed uploads (after 3 warm-ups)")
    parser.add_argument("--loads", type=int, default=3, help="loads per page for first render")
    parser.add_argument("--per-tag", type=int, default=40, help="demo images per style tag")
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse this store")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-dash-")) / "data"
    with BackgroundServer(create_feed_app(), "127.0.0.1", 0) as feed:
        config = demo_config(data_dir, feed.port)
        prepare_store(config, args.per_tag)
        app = create_app(config)
        meta = read_meta(paths.index_dir(config.data_dir))
        print(f"index: {meta.model_key}, {len(meta.names)} styles", flush=True)
        client = app.server.test_client()
        photos = _photos(config, args.photos + 3)
        user = "u" + "5" * 32
        for photo in photos[:3]:
            _discover_once(client, photo, user)
        runs = [_discover_once(client, photo, user) for photo in photos[3:]]
        times = [1000 * total for total, _ in runs]
        upload_ms = statistics.median(1000 * part for _, part in runs)
        bare = _bare_forward(app, 20) * 1000
        p50, p95 = np.percentile(times, 50), np.percentile(times, 95)
        print(f"Discover, upload to response, one 224 px photo, {len(times)} photos:")
        print(f"  p50 {p50:.0f} ms, p95 {p95:.0f} ms (target p50 <= 400 ms)")
        print(
            f"  of which the upload callback (checks, store by hash, preview): {upload_ms:.0f} ms"
        )
        print(
            f"  one bare ResNet50 forward pass: {bare:.0f} ms -> callback / bare = "
            f"{p50 / bare:.2f}x"
        )
        if not chromium_available():
            print("first render: skipped (needs chromium and chromium-driver)")
            return 0
        with serve_app(app) as server:
            renders = _first_render(server.url, args.loads)
        print(f"first render in headless Chromium, median of {args.loads} loads:")
        print("| page | ms |")
        print("|---|---|")
        for path, ms in renders.items():
            print(f"| {path} | {ms:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
