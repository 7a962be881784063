"""A team's dashboard as it is deployed: two dashboards of two gunicorn workers each behind a load
balancer, one Celery worker, Redis, one store; sign-in in real Chromium. The balancer sends the
scrape's start to one dashboard and its progress polls and Cancel to the other: the job is
followed and cancelled through a worker that did not start it, after the one that did stopped."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from sandbox.balancer import Balancer
from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from store import Store
from tests.browser.conftest import console_errors, page_wait, skip_without_chromium
from tests.services import Process, free_port

PASSWORD = "a long team password"
CONFIG = """\
data_dir: {data}
demo_feed:
  port: {feed}
scraper:
  default_source: demo-html
sources:
  demo-html:
    kind: html
    url: "http://127.0.0.1:{feed}/tag/{{tag}}?page=1"
    page_url: "http://127.0.0.1:{feed}/tag/{{tag}}?page={{page}}"
    selectors: {{post: article.post, image: img.post-image, link: a.post-link}}
    allow_private_network: true
features:
  input_size: 32
  weights: none
  batch_size: 8
clustering:
  n_styles: 4
  min_size: 2
dashboard:
  auth: password
  redis_url: "{redis}"
"""
START = b'"output":"scrape-result.children"'  # the background callback (no allow_duplicate)


def _wait_for(what: str, ready, processes: list[Process], seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        for process in processes:
            if process.proc.poll() is not None:
                raise AssertionError(f"{what}: a process stopped:\n{process.output()[-3000:]}")
        if time.monotonic() > deadline:
            logs = "\n".join(p.output()[-2000:] for p in processes)
            raise AssertionError(f"{what} did not happen in {seconds:.0f} s:\n{logs}")
        time.sleep(0.25)


def _added(driver: WebDriver) -> int:
    """The 'added' count on the Scrape page (a stale read raises, and the wait reads again)."""
    return int(driver.find_element(By.ID, "count-added").text or 0)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def team(tmp_path: Path, redis_url: str) -> Iterator[tuple[Balancer, list[Process], Path]]:
    skip_without_chromium()
    data = tmp_path / "data"
    with BackgroundServer(create_feed_app(), "127.0.0.1", 0) as feed:
        config = tmp_path / "config.yaml"
        config.write_text(CONFIG.format(data=data, feed=feed.port, redis=redis_url))
        with Store(data) as store:
            store.accounts.add("ana", PASSWORD)
        args = ("dash_app", "--config", str(config))
        worker = Process(tmp_path / "celery.log", *args, "--celery-worker", "--concurrency", "1")
        ports = [free_port(), free_port()]
        dashboards = [
            Process(tmp_path / f"dashboard-{n}.log", *args, "--workers", "2", "--port", str(p))
            for n, p in enumerate(ports)
        ]
        every = [worker, *dashboards]
        try:
            _wait_for("the Celery worker", lambda: " ready." in worker.output(), every)
            for port in ports:
                _wait_for(
                    "a dashboard", lambda p=port: _answers(f"http://127.0.0.1:{p}/login"), every
                )
            turn = itertools.count()
            down: set[int] = set()

            def route(path: str, body: bytes) -> int:
                """The scrape's start to dashboard 0, its polls and Cancel to dashboard 1; the
                rest in turn, to those still up."""
                if START in body:
                    return 1 if "cacheKey=" in path else 0
                if b"scrape-cancel" in body:
                    return 1
                up = [n for n in range(len(ports)) if n not in down]
                return up[next(turn) % len(up)]

            route.down = down  # type: ignore[attr-defined]

            with Balancer(ports, route) as balancer:
                yield balancer, dashboards, data
        finally:
            for process in every:
                process.stop()


def test_a_scrape_started_on_one_dashboard_is_followed_and_cancelled_on_another(
    browser: WebDriver, team: tuple[Balancer, list[Process], Path]
) -> None:
    balancer, dashboards, data = team
    for dashboard in dashboards:  # gunicorn: a master and its two workers
        assert len(psutil.Process(dashboard.proc.pid).children()) == 2
    for path, status in (("/", 303), ("/_dash-layout", 401), ("/api/index", 401)):
        answer = requests.get(balancer.url + path, allow_redirects=False, timeout=30)
        assert answer.status_code == status, path  # no session, on gunicorn too
    assert requests.get(f"{balancer.url}/api/health", timeout=30).json() == {"ok": True}
    # the counts are re-rendered on every progress update: a badge read mid-update is read again
    wait = page_wait(browser, 240)
    browser.get(f"{balancer.url}/scrape")
    wait.until(lambda d: d.find_elements(By.ID, "login-form"))  # no session: the sign-in form
    browser.find_element(By.ID, "login-name").send_keys("ana")
    browser.find_element(By.ID, "login-password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login-submit").click()
    wait.until(lambda d: d.find_elements(By.ID, "scrape-start"))
    assert browser.find_element(By.ID, "signed-in-as").text == "ana"
    browser.find_element(By.ID, "scrape-tag").send_keys("boho")
    count = browser.find_element(By.ID, "scrape-count")
    count.clear()
    count.send_keys("1000")
    browser.find_element(By.ID, "scrape-start").click()
    wait.until(lambda d: _added(d) >= 3)
    # the dashboard that started the job dies: the job runs on, followed through the other
    balancer.route.down.add(0)  # type: ignore[attr-defined]
    dashboards[0].kill()
    seen = wait.until(lambda d: _added(d))
    wait.until(lambda d: _added(d) > seen)
    browser.find_element(By.ID, "scrape-cancel").click()
    wait.until(lambda d: d.find_elements(By.ID, "scrape-done"))
    done = browser.find_element(By.ID, "scrape-done").text
    assert "ancel" in done, done
    assert console_errors(browser) == []

    starts = [(b, p) for b, p, body in balancer.log if START in body and "cacheKey=" not in p]
    polls = [b for b, p, body in balancer.log if START in body and "cacheKey=" in p]
    cancels = [b for b, _, body in balancer.log if b"scrape-cancel" in body]
    assert [b for b, _ in starts] == [0] and polls and set(polls) == {1} and cancels == [1]
    with Store(data) as store:
        images = store.stats().images
        runs = store.runs.recent(1)
    assert 3 <= images <= 200  # the feed has 200 boho posts
    # cancelled while scraping (the run is "interrupted") or, when the scrape had finished, while
    # rebuilding the styles (the scrape "completed", the new index is not swapped in)
    assert runs and runs[0]["status"] in ("interrupted", "completed")
    if runs[0]["status"] == "completed":
        assert "previous index stays" in done, done
