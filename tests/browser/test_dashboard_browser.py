from __future__ import annotations

from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from dash_app import create_app
from dash_app.web.serving import serve_app
from store import Store
from stylescout.loader import load_config
from tests.browser.conftest import console_errors, page_wait
from tests.conftest import jpeg_bytes, meta_for


def test_overview_shows_store_counts(browser: WebDriver, data_dir: Path) -> None:
    with Store(data_dir) as store:
        for seed in range(5):
            store.images.add_image_bytes(jpeg_bytes(seed), meta_for(seed), ["streetwear", "hat"])
        store.runs.finish_run(store.runs.start_run("streetwear", "demo", 5), "completed", 5, 0)
    app = create_app(load_config(data_dir=data_dir))
    with serve_app(app) as server:
        browser.get(f"{server.url}/store")
        wait = page_wait(browser, 30)
        wait.until(lambda d: d.find_elements(By.ID, "stat-images"))
        assert "5" in browser.find_element(By.ID, "stat-images").text
        assert "5 images" in browser.find_element(By.ID, "header-counts").text
        assert "#streetwear" in browser.find_element(By.ID, "runs-table").text
        assert "#hat · 5" in browser.find_element(By.ID, "top-tags").text
        # Bootstrap is served locally and applied
        assert (
            browser.execute_script(
                "return getComputedStyle(document.querySelector('.card')).borderRadius"
            )
            != "0px"
        )
        assert console_errors(browser) == []
