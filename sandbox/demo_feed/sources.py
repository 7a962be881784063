"""The demo feed as sources (`demo`, `demo-html`), added to a config by the demo commands only.

The config loader, the scrape path and the dashboard know nothing of the demo feed: `make demo`
(`python -m dash_app --demo`), `python -m scraper demo-feed` and `python -m scraper scrape
--source demo` add these entries for the feed's configured address, and start the feed in-process
when nothing answers there. A config file may define its own `demo` entry; it is kept as it is.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator

from stylescout.settings import Config, DemoFeedConfig, Selectors, SourceConfig

log = logging.getLogger(__name__)
NAMES = ("demo", "demo-html")


def feed_url(feed: DemoFeedConfig) -> str:
    """Base URL of the configured demo feed."""
    host = f"[{feed.host}]" if ":" in feed.host else feed.host
    return f"http://{host}:{feed.port}"


def demo_sources(feed: DemoFeedConfig) -> dict[str, SourceConfig]:
    """`demo`: the feed in headless Chromium (infinite scroll), its plain pages without one;
    `demo-html`: the plain pages."""
    base = feed_url(feed)
    browser = SourceConfig(
        kind="browser",
        url=f"{base}/tag/{{tag}}",
        page_url=f"{base}/tag/{{tag}}?page={{page}}",
        selectors=Selectors(
            post="article.post",
            image="img.post-image",
            link="a.post-link",
            author=".user",
            licence='a[rel~="license"]@href',
        ),
        html_fallback=True,
        allow_private_network=True,  # it runs on this machine
    )
    html = browser.model_copy(
        update={"kind": "html", "url": f"{base}/tag/{{tag}}?page=1", "html_fallback": False}
    )
    return {"demo": browser, "demo-html": html}


def with_demo_sources(config: Config) -> Config:
    """`config` with the demo sources added where it has none of that name, and `demo` as the
    default source when none is set."""
    sources = {**demo_sources(config.demo_feed), **config.sources}
    scraper = config.scraper
    if scraper.default_source is None:
        scraper = scraper.model_copy(update={"default_source": "demo"})
    return config.model_copy(update={"sources": sources, "scraper": scraper})


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def demo_feed_running(config: Config) -> Iterator[None]:
    """Make sure the demo feed answers, starting it in this process when nothing listens."""
    from sandbox.demo_feed.server import BackgroundServer
    from sandbox.demo_feed.site import create_feed_app

    cfg = config.demo_feed
    if _listening(cfg.host, cfg.port):
        yield
        return
    log.info("starting the embedded demo feed on %s:%d", cfg.host, cfg.port)
    with BackgroundServer(create_feed_app(cfg), cfg.host, cfg.port):
        yield
