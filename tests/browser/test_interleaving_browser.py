"""Interleaving in real headless Chromium: Discover mixes two models' items, a rating is
credited to the model that placed the item, and Feedback shows the online comparison."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from clustering.build import build_indexes
from dash_app import create_app
from dash_app.web.serving import serve_app
from store import Store
from stylescout.settings import Config
from tests.browser.conftest import console_errors, page_wait, skip_without_chromium
from tests.conftest import jpeg_bytes, make_config, meta_for


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Config, str]]:
    """A store of 40 images with a ResNet50 and a DenseNet121 index, interleaving on."""
    skip_without_chromium()
    data_dir = tmp_path_factory.mktemp("mixed") / "data"
    config = make_config(
        data_dir,
        features={"input_size": 32, "weights": "none", "batch_size": 8},
        clustering={"n_styles": 3, "min_size": 2},
        recommender={"interleave": {"enabled": True, "challenger": "densenet121"}},
    )
    with Store(data_dir) as store:
        for seed in range(40):
            store.images.add_image_bytes(
                jpeg_bytes(seed, (96, 120)), meta_for(seed), [f"t{seed % 3}"]
            )
        build_indexes(config.engine, store)
    with serve_app(create_app(config, warm=True)) as server:
        yield config, server.url


def _click(driver: WebDriver, element: object) -> None:
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element
    )
    element.click()


def test_a_rating_in_a_mixed_list_counts_for_the_model_that_placed_the_item(
    browser: WebDriver, mixed: tuple[Config, str]
) -> None:
    config, url = mixed
    wait = page_wait(browser, 60)
    browser.get(f"{url}/feedback")
    wait.until(lambda d: d.find_elements(By.ID, "online-empty"))  # on, nothing rated yet
    assert console_errors(browser) == []

    browser.get(f"{url}/")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#picker .ss-pick"))
    _click(browser, browser.find_elements(By.CSS_SELECTOR, "#picker .ss-pick")[0])
    wait.until(lambda d: d.find_elements(By.ID, "interleaved-note"))
    cards = browser.find_elements(By.CSS_SELECTOR, "#items .ss-item")
    assert len(cards) == 10
    card = cards[0]
    image_id = json.loads(card.get_attribute("id"))["image"]
    _click(browser, card.find_elements(By.CSS_SELECTOR, ".ss-stars label")[4])  # 5 of 5
    wait.until(lambda _: "saved" in card.text)
    user = json.loads(browser.execute_script("return localStorage.getItem('user-id')"))
    with Store(config.data_dir) as store:
        impression, model = store.ratings.impression_credit(user, image_id)
        rated = store.ratings.ratings_history()[-1]
    assert (rated["model_key"], rated["impression_id"]) == (model, impression)
    assert rated["query_kind"] == "interleaved"

    browser.get(f"{url}/feedback")
    wait.until(lambda d: d.find_elements(By.ID, "online-result"))
    text = browser.find_element(By.ID, "online-result").text
    winner = "A won 1 and B 0" if model.startswith("resnet50") else "A won 0 and B 1"
    assert winner in text and "from 1 rating on 1 rated list" in text, text
    assert console_errors(browser) == []
