"""Helpers for the crash and concurrency tests: a config file for the command lines, processes
started as a person would start them, and a poller that watches the dashboard's index."""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import tqdm

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


FORK_PRELOAD = ["tests.integration.forked_preload"]


def _forked_main(package: str, argv: list[str], log: str) -> None:
    """The child's whole life: a command line's main with its output in `log`."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # tqdm's bars share a cross-process lock, a named semaphore that a killed child leaves for
    # the worker's resource tracker to clean up (and warn about); one process needs no more
    tqdm.tqdm.set_lock(threading.RLock())
    raise SystemExit(importlib.import_module(f"{package}.cli").main(argv))


class ForkedRun:
    """A command line forked from a process that imported the command lines once, with the
    `subprocess.Popen` methods the kill tests use. What is killed is still a process of its own
    running the real main; it only skips the interpreter's start and imports, which is where
    most kills landed when each run was a new interpreter."""

    def __init__(self, process: multiprocessing.process.BaseProcess, log: Path) -> None:
        self.process, self.log = process, log
        self.returncode: int | None = None

    @property
    def pid(self) -> int:
        return int(self.process.pid or 0)

    def poll(self) -> int | None:
        if self.returncode is None and not self.process.is_alive():
            self.process.join()
            self.returncode = self.process.exitcode
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            # it may end (and the fork server reap it) between the poll and the signal
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self.process.join(timeout)
        if self.poll() is None:
            raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
        return self.log.read_text(errors="replace"), ""


def fork_start(config: Path, *args: str) -> ForkedRun:
    """`python -m <args>` with this config, forked from this worker's fork server: a clean
    interpreter started once, which imported what forked_preload names, and started no thread
    and opened no store."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(FORK_PRELOAD)
    package, *rest = args
    fd, log = tempfile.mkstemp(prefix="forked-", suffix=".log", dir=config.parent)
    os.close(fd)
    process = context.Process(
        target=_forked_main, args=(package, ["--config", str(config), *rest], log), daemon=False
    )
    process.start()
    return ForkedRun(process, Path(log))


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
