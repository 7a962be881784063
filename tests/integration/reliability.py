"""Helpers for the crash and concurrency tests: a config file for the command lines, processes
started as a person would start them, and a poller that watches the dashboard's index."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from tests.integration.helpers import REPO

CONFIG = """\
data_dir: data
demo_feed:
  port: {port}
scraper:
  default_source: demo-html
features:
  input_size: 32
  weights: none
  batch_size: 8
clustering:
  n_styles: 6
  min_size: 2
"""


def write_config(folder: Path, feed_port: int, store_url: str | None = None) -> Path:
    """The config the command lines run with; `store_url` puts the store's database elsewhere
    (a PostgreSQL URL) than the data folder's SQLite file."""
    path = folder / "config.yaml"
    text = CONFIG.format(port=feed_port)
    if store_url:
        text += f"store:\n  url: {store_url}\n"
    path.write_text(text)
    return path


def start(config: Path, *args: str) -> subprocess.Popen[str]:
    """`python -m <args>` with this config, in its own process."""
    package, *rest = args
    return subprocess.Popen(
        [sys.executable, "-m", package, "--config", str(config), *rest],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def scrape_args(tag: str, count: int) -> tuple[str, ...]:
    return ("scraper", "scrape", "--tag", tag, "--count", str(count), "--source", "demo-html")


class IndexWatcher(threading.Thread):
    """Polls /api/index every `every_s` until stopped; records every answer that is not a
    complete index (status other than 200, or an empty index)."""

    def __init__(self, url: str, every_s: float = 0.05) -> None:
        super().__init__(name="index-watcher", daemon=True)
        self.url, self.every_s = url, every_s
        self.polls = 0
        self.problems: list[str] = []
        self.folders: set[str] = set()
        self._halt = threading.Event()

    def run(self) -> None:
        with requests.Session() as session:
            while not self._halt.is_set():
                try:
                    response = session.get(self.url + "/api/index", timeout=30)
                    body = response.json()
                    if response.status_code != 200 or body.get("items", 0) <= 0:
                        self.problems.append(f"{response.status_code}: {body}")
                    else:
                        self.folders.add(body["index"])
                except (requests.RequestException, ValueError) as exc:
                    self.problems.append(f"{type(exc).__name__}: {exc}")
                self.polls += 1
                time.sleep(self.every_s)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=30)
