from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests
from bs4 import BeautifulSoup

from tests.integration.helpers import REPO


@pytest.fixture(scope="module")
def feed_url() -> Iterator[str]:
    """`python -m scraper demo-feed --port 0` as a real process; its URL from its first line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "scraper", "demo-feed", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        assert match, line
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_plain_pages_with_requests_cover_the_whole_tag(feed_url: str) -> None:
    session = requests.Session()
    url, seen, pages = f"{feed_url}/tag/dress?page=1", [], 0
    deadline = time.monotonic() + 60
    while url and pages < 50 and time.monotonic() < deadline:
        response = session.get(url, timeout=10)
        assert response.status_code == 200
        soup = BeautifulSoup(response.text, "lxml")
        seen += [a["data-post-id"] for a in soup.select("article.post")]
        next_link = soup.select_one('a[rel="next"]')
        url = requests.compat.urljoin(url, next_link["href"]) if next_link else None
        pages += 1
    assert len(seen) == len(set(seen)) >= 150
    first = soup.select_one("article.post img")
    image = session.get(requests.compat.urljoin(feed_url, first["src"]), timeout=10)
    assert image.headers["Content-Type"] == "image/jpeg" and image.content[:2] == b"\xff\xd8"
