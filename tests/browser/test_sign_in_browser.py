"""Sign-in in real Chromium on a dashboard that asks for it: the form, a rating kept under the
account (through Dash's own CSRF header), images served to the session, and signing out."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from dash_app import create_app
from dash_app.app import close_app
from dash_app.demo import prepare_demo
from dash_app.web.auth import Person
from dash_app.web.serving import serve_app
from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from store import Store
from stylescout.settings import Config
from tests.browser.conftest import console_errors, page_wait, skip_without_chromium
from tests.conftest import make_config

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Config, str]]:
    skip_without_chromium()
    data_dir = tmp_path_factory.mktemp("signed") / "data"
    with BackgroundServer(create_feed_app(), "127.0.0.1", 0) as feed:
        config = make_config(
            data_dir,
            demo_feed={"port": feed.port},
            scraper={"default_source": "demo-html"},
            features={"input_size": 32, "weights": "none"},
            clustering={"n_styles": 3, "min_size": 2},
            dashboard={"auth": "password"},
        )
        with Store(data_dir) as store:
            prepare_demo(config, store, tags=("boho", "minimal"), per_tag=12, say=lambda _: None)
            store.accounts.add("ana", PASSWORD)
            store.accounts.add("bob", PASSWORD)
    app = create_app(config)
    try:
        with serve_app(app) as server:
            yield config, server.url
    finally:
        close_app(app)


def _sign_in(browser: WebDriver, wait: WebDriverWait, name: str, password: str) -> None:
    wait.until(lambda d: d.find_elements(By.ID, "login-form"))
    browser.find_element(By.ID, "login-name").send_keys(name)
    browser.find_element(By.ID, "login-password").send_keys(password)
    browser.find_element(By.ID, "login-submit").click()


def test_sign_in_rate_as_the_account_and_sign_out(
    browser: WebDriver, signed: tuple[Config, str]
) -> None:
    config, url = signed
    wait = page_wait(browser, 90)
    browser.get(f"{url}/")
    assert "/login" in browser.current_url
    _sign_in(browser, wait, "ana", "not the password")
    wait.until(lambda d: d.find_elements(By.ID, "login-message"))
    assert "Wrong name or password" in browser.find_element(By.ID, "login-message").text
    assert all("/login" in m and "401" in m for m in console_errors(browser))  # that answer
    _sign_in(browser, wait, "ana", PASSWORD)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#items .ss-item"))  # popular items
    assert browser.find_element(By.ID, "signed-in-as").text == "ana"
    wait.until(
        lambda d: d.execute_script(
            "const i = document.querySelector('#items img');"
            " return i !== null && i.complete && i.naturalWidth > 0;"
        )
    )
    card = browser.find_element(By.CSS_SELECTOR, "#items .ss-item")
    item = json.loads(card.get_attribute("id"))["image"]
    stars = card.find_elements(By.CSS_SELECTOR, ".ss-stars label")
    browser.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", stars[4]
    )  # instantly: Bootstrap makes scrolling smooth, and a click mid-scroll misses
    stars[4].click()
    wait.until(lambda _: "saved" in card.text)
    browser_id = json.loads(browser.execute_script("return localStorage.getItem('user-id')"))
    with Store(config.data_dir) as store:
        assert store.ratings.latest_ratings(Person("ana", "password").user_id) == {item: 5}
        assert store.ratings.latest_ratings(browser_id) == {}
        assert store.ratings.latest_ratings(Person("bob", "password").user_id) == {}
    assert console_errors(browser) == []

    # back to the header, above the rated card (instantly: Bootstrap makes scrolling smooth)
    browser.execute_script("window.scrollTo({top: 0, behavior: 'instant'})")
    wait.until(lambda d: d.execute_script("return window.scrollY") == 0)
    browser.find_element(By.ID, "signed-in-as").click()
    wait.until(lambda d: d.find_elements(By.ID, "logout-form"))
    assert browser.find_element(By.ID, "logout-name").text == "ana"
    browser.find_element(By.ID, "logout-submit").click()
    wait.until(lambda d: d.find_elements(By.ID, "login-form"))
    browser.get(f"{url}/styles")
    assert "/login?next=/styles" in browser.current_url
    status = browser.execute_script(
        "return fetch('/api/index').then(r => r.status)"  # the old session is gone
    )
    assert status == 401
