"""Server-side request forgery: nothing a site serves (a robots.txt redirect, a page's images and
scripts in the browser) makes a source reach an address the policy refuses.

Loopback is private, so the "site" is a loopback server on the source's `allowed_hosts`, and a
second loopback server, not on the list, stands for the internal service a hostile site would aim
at: it counts every TCP connection and must see none. Nothing here uses any other address.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask, Response, redirect, request

from sandbox.demo_feed.server import BackgroundServer
from sandbox.fault_server import good_jpeg
from scraper.downloader import ROBOTS_MAX_BYTES, Downloader, DownloadFailed
from scraper.scrape import scrape
from scraper.sources.base import SourceSpec
from scraper.sources.browser import BrowserSource
from stylescout.settings import ScraperConfig, Selectors, SourceConfig
from tests.browser.conftest import skip_without_chromium
from tests.conftest import make_config
from tests.unit.test_browser_network_policy import Listener

ROBOTS = "User-agent: *\nDisallow: /private/\n"


@pytest.fixture
def internal() -> Iterator[Listener]:
    """The service a hostile site aims at: any connection to it is a failure."""
    with Listener() as server:
        yield server


def serve(app: Flask) -> BackgroundServer:
    return BackgroundServer(app, "127.0.0.1", 0)


def downloader_for(site: BackgroundServer, **options: object) -> Downloader:
    config = ScraperConfig(retries=0, connect_timeout_s=2, read_timeout_s=5)
    return Downloader(config, allowed_hosts=[f"127.0.0.1:{site.port}"], **options)  # type: ignore[arg-type]


def site_app(robots: Callable[[], Response | str]) -> Flask:
    app = Flask(__name__)
    hits: Counter[str] = Counter()
    app.extensions["hits"] = hits

    @app.get("/robots.txt")
    def robots_txt() -> Response | str:
        hits["robots"] += 1
        return robots()

    @app.get("/rules.txt")
    def rules() -> Response:
        return Response(ROBOTS, mimetype="text/plain")

    @app.get("/<path:path>")
    def page(path: str) -> str:
        hits[path] += 1
        return "<html><body>ok</body></html>"

    return app


# -- robots.txt ---------------------------------------------------------------------------------


def test_a_robots_txt_redirect_to_a_refused_address_is_not_followed(
    internal: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="scraper.downloader")
    app = site_app(lambda: redirect(f"http://{internal.address}/robots.txt", 302))
    with serve(app) as site:
        downloader = downloader_for(site)
        assert "ok" in downloader.get_page(f"{site.url}/tag/boho")  # unreadable: allow all
        assert "ok" in downloader.get_page(f"{site.url}/private/x")
        with pytest.raises(DownloadFailed) as info:  # the same redirect on a page: refused
            downloader.get_page(f"http://{internal.address}/x")
        assert info.value.reason == "private_address"
        downloader.close()
    assert internal.connections == 0
    assert app.extensions["hits"]["robots"] == 1  # fetched once per origin
    assert "robots.txt of" in caplog.text and "private_address" in caplog.text


def test_a_robots_txt_redirect_on_the_site_is_followed_and_obeyed(internal: Listener) -> None:
    with serve(site_app(lambda: redirect("/rules.txt", 301))) as site:
        downloader = downloader_for(site)
        with pytest.raises(DownloadFailed) as info:
            downloader.get_page(f"{site.url}/private/x")
        assert info.value.reason == "robots"
        assert "ok" in downloader.get_page(f"{site.url}/tag/boho")
        downloader.close()
    assert internal.connections == 0


def test_a_robots_txt_redirect_loop_stops_at_max_redirects() -> None:
    app = site_app(lambda: redirect("/robots.txt", 302))
    with serve(app) as site:
        downloader = downloader_for(site)
        assert "ok" in downloader.get_page(f"{site.url}/private/x")  # unreadable: allow all
        downloader.close()
    assert app.extensions["hits"]["robots"] == ScraperConfig().max_redirects + 1


@pytest.mark.parametrize(
    ("status", "allowed"),
    [(401, True), (403, True), (404, True), (410, True), (500, False), (503, False)],
)
def test_robots_txt_statuses_keep_their_meaning(status: int, allowed: bool) -> None:
    """RFC 9309 2.3.1: a 4xx is "unavailable" (allow all), a server error means "assume
    complete disallow"."""
    with serve(site_app(lambda: Response("no", status=status))) as site:
        downloader = downloader_for(site)
        if allowed:
            downloader.check_url(f"{site.url}/private/x")
        else:
            with pytest.raises(DownloadFailed, match="robots"):
                downloader.check_url(f"{site.url}/tag/boho")
        downloader.close()


def test_a_huge_robots_txt_is_read_only_up_to_the_cap() -> None:
    """200 MiB of robots.txt: the rules at the top are obeyed, and the download stops near the
    cap instead of reading the whole body."""
    chunk = b"# padding padding padding padding padding padding padding padding\n" * 1000
    total_chunks = 200 * 1024 * 1024 // len(chunk)
    sent = {"chunks": 0}
    finished = threading.Event()

    def stream() -> Iterator[bytes]:
        try:
            yield ROBOTS.encode()
            for _ in range(total_chunks):
                sent["chunks"] += 1
                yield chunk
        finally:
            finished.set()

    declared = {"Content-Length": str(len(ROBOTS) + total_chunks * len(chunk))}
    app = site_app(lambda: Response(stream(), mimetype="text/plain", headers=declared))
    with serve(app) as site:
        downloader = downloader_for(site)
        started = time.monotonic()
        with pytest.raises(DownloadFailed) as info:
            downloader.check_url(f"{site.url}/private/secret")
        assert info.value.reason == "robots"
        downloader.check_url(f"{site.url}/tag/boho")
        assert time.monotonic() - started < 20
        downloader.close()
        assert finished.wait(20), "the server is still streaming robots.txt"
    read_at_most = ROBOTS_MAX_BYTES + 64 * 1024 * 1024  # the cap plus what socket buffers hold
    assert sent["chunks"] * len(chunk) < read_at_most < total_chunks * len(chunk)


# -- the browser --------------------------------------------------------------------------------


def hostile_feed(internal: str) -> Flask:
    """A feed whose page aims images, a redirect, an iframe, a stylesheet, fetch, XHR and a
    WebSocket at `internal`, and reports from the page what happened (`/beacon`)."""
    app = Flask(__name__)
    hits: Counter[str] = Counter()
    beacons: list[str] = []
    app.extensions["hits"] = hits
    app.extensions["beacons"] = beacons
    posts = "".join(
        f'<article class="post"><a class="post-link" href="/p/{n}">'
        f'<img class="post-image" src="/img/{n}.jpg"></a><p class="caption">look {n} #boho</p>'
        "</article>"
        for n in range(4)
    )
    page = f"""<!doctype html><html><head>
<link rel="stylesheet" href="http://{internal}/style.css">
<script>
function report(what) {{ fetch('/beacon?what=' + what); }}
fetch('http://{internal}/api', {{mode: 'no-cors'}})
  .then(r => report('fetch-' + r.type), e => report('fetch-error'));
var xhr = new XMLHttpRequest();
xhr.open('GET', 'http://{internal}/xhr');
xhr.onload = () => report('xhr-load'); xhr.onerror = () => report('xhr-error');
xhr.send();
try {{
  var ws = new WebSocket('ws://{internal}/socket');
  ws.onerror = () => report('ws-error');
}} catch (e) {{ report('ws-throw'); }}
</script></head><body>{posts}
<img src="http://{internal}/pixel.png" onerror="report('img-error')" onload="report('img-load')">
<img src="https://{internal}/tls.png" onerror="report('tls-error')">
<img src="/bounce.png" onerror="report('bounce-error')" onload="report('bounce-load')">
<iframe src="http://{internal}/frame"></iframe>
</body></html>"""

    @app.get("/robots.txt")
    def robots() -> Response:
        return Response("User-agent: *\nAllow: /\n", mimetype="text/plain")

    @app.get("/tag/<tag>")
    def feed(tag: str) -> str:
        hits["page"] += 1
        return page

    @app.get("/img/<int:n>.jpg")
    def image(n: int) -> Response:
        hits[f"img{n}"] += 1
        return Response(good_jpeg(n), mimetype="image/jpeg")

    @app.get("/bounce.png")
    def bounce() -> Response:
        hits["bounce"] += 1
        return redirect(f"http://{internal}/bounced.png", 302)

    @app.get("/beacon")
    def beacon() -> str:
        beacons.append(request.args.get("what", ""))
        return ""

    return app


@pytest.mark.browser
@pytest.mark.parametrize("allow_private", [False, True], ids=["policy", "private-allowed"])
def test_the_browser_reaches_nothing_the_policy_refuses(
    internal: Listener, allow_private: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """With the policy, the internal server sees no connection at all while the site's own page
    and images load and its posts are parsed; with `allow_private_network` (no proxy, as the
    demo sources run) the same page does reach it, which shows the page really tries."""
    skip_without_chromium()
    caplog.set_level(logging.INFO, logger="scraper.network_policy")
    app = hostile_feed(internal.address)
    with serve(app) as site:
        source_config = SourceConfig(
            kind="browser",
            url=f"{site.url}/tag/{{tag}}",
            selectors=Selectors(post="article.post", image="img.post-image", link="a.post-link"),
            allow_private_network=allow_private,
            max_scrolls_without_new=1,
            scroll_wait_s=2,
        )
        downloader = downloader_for(site, allow_private_network=allow_private)
        source = BrowserSource(SourceSpec("hostile-feed", source_config), downloader)
        posts = list(source.search("boho"))
        downloader.close()
    assert [post.image_url for post in posts] == [f"{site.url}/img/{n}.jpg" for n in range(4)]
    hits = app.extensions["hits"]
    assert all(hits[f"img{n}"] >= 1 for n in range(4)), hits  # loaded by the browser
    assert hits["bounce"] >= 1
    beacons = set(app.extensions["beacons"])
    assert {"img-error", "bounce-error", "tls-error"} <= beacons, beacons  # the page's scripts ran
    assert beacons & {"fetch-opaque", "fetch-error"} and beacons & {"xhr-error", "xhr-load"}
    if allow_private:
        assert internal.connections > 0
        return
    assert internal.connections == 0
    refused = {
        r.getMessage().split()[4]
        for r in caplog.records
        if r.getMessage().startswith("browser request refused")
    }
    prefix = f"http://{internal.address}/"
    assert {f"{prefix}pixel.png", f"{prefix}bounced.png", f"{prefix}api", internal.address} <= (
        refused
    ), refused


@pytest.mark.parametrize("kind", ["html", pytest.param("browser", marks=pytest.mark.browser)])
def test_a_scrape_reaches_the_allowed_site_only(
    internal: Listener, data_dir: Path, kind: str
) -> None:
    """`sources.<name>.allowed_hosts` in the config reaches the downloader and the browser."""
    if kind == "browser":
        skip_without_chromium()
    app = hostile_feed(internal.address)
    with serve(app) as site:
        entry = {
            "kind": kind,
            "url": f"{site.url}/tag/{{tag}}",
            "allowed_hosts": [f"127.0.0.1:{site.port}"],
            "max_scrolls_without_new": 1,
            "scroll_wait_s": 1,
            "selectors": {"post": "article.post", "image": "img.post-image", "link": "a.post-link"},
        }
        config = make_config(data_dir, sources={"hostile-feed": entry})
        result = scrape(config.scraping, "boho", 4, "hostile-feed")
    assert result.progress.mode == kind
    assert result.progress.added == 4 and not result.progress.failed_by_reason
    assert internal.connections == 0


def test_robots_txt_wildcards_and_end_anchors_are_obeyed() -> None:
    """`*` and `$` as RFC 9309 2.2.3 reads them (the standard library's parser ignored them)."""
    rules = "User-agent: *\nDisallow: /*.jpg$\nDisallow: /private*/x\nAllow: /\n"
    with serve(site_app(lambda: Response(rules, mimetype="text/plain"))) as site:
        downloader = downloader_for(site)
        for path in ("/a/b.jpg", "/private-2/x", "/privatex/x/y"):
            with pytest.raises(DownloadFailed, match="robots"):
                downloader.check_url(f"{site.url}{path}")
        for path in ("/a/b.jpgx", "/a/b.jpg?size=2", "/tag/boho", "/public/x"):
            downloader.check_url(f"{site.url}{path}")
        downloader.close()


def test_an_unreachable_robots_txt_disallows_everything() -> None:
    """RFC 9309 2.3.1.4: robots.txt unreachable (the server gone mid-answer, or not there at
    all): assume complete disallow, so nothing of the site is fetched."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, not listening: connections are refused
        config = ScraperConfig(retries=0, connect_timeout_s=2, read_timeout_s=5)
        downloader = Downloader(config, allowed_hosts=[f"127.0.0.1:{port}"])
        with pytest.raises(DownloadFailed) as info:
            downloader.check_url(f"http://127.0.0.1:{port}/tag/boho")
        assert info.value.reason == "connection"  # why the site is closed, not "robots"
        assert "robots.txt could not be read" in str(info.value)
        downloader.close()
