"""What the scraper may fetch: http(s) only, and no private, loopback or link-local address
unless the source allows it (the demo sources do; a deployed instance's sources do not)."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from scraper.downloader import Downloader, DownloadFailed
from store.config import ScraperConfig

FAKE_DNS = {  # names a hostile page might use, resolved without any network
    "metadata.internal": "169.254.169.254",
    "router.lan": "192.168.1.1",
    "shop.example": "93.184.216.34",
}


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    def getaddrinfo(host: str, *args: object, **kwargs: object) -> list:
        address = FAKE_DNS.get(host, "127.0.0.1" if host == "localhost" else host)
        ip = ipaddress.ip_address(address)  # numeric hosts resolve to themselves
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8765/tag/boho",
        "http://localhost/x.jpg",
        "http://10.1.2.3/x.jpg",
        "http://192.168.1.1/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.internal/computeMetadata/v1/",
        "http://router.lan/",
        "http://[::1]/x.jpg",
        "http://[fd00::1]/x.jpg",
        "http://0.0.0.0:8050/",
    ],
)
def test_private_addresses_are_refused_by_default(fake_dns: None, url: str) -> None:
    downloader = Downloader(ScraperConfig(), robots=False)
    with pytest.raises(DownloadFailed) as info:
        downloader.check_url(url)
    assert info.value.reason == "private_address"
    Downloader(ScraperConfig(), robots=False, allow_private_network=True).check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://shop.example/x.jpg",
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "gopher://shop.example/",
        "http:///no-host",
    ],
)
def test_only_http_and_https_are_fetched(fake_dns: None, url: str) -> None:
    downloader = Downloader(ScraperConfig(), robots=False, allow_private_network=True)
    with pytest.raises(DownloadFailed) as info:
        downloader.check_url(url)
    assert info.value.reason == "bad_url"


def test_public_addresses_pass(fake_dns: None) -> None:
    Downloader(ScraperConfig(), robots=False).check_url("https://shop.example/p/1.jpg")


def test_only_the_demo_sources_allow_private_networks() -> None:
    from store.config import DEFAULT_SOURCES

    allowed = {name for name, source in DEFAULT_SOURCES.items() if source.allow_private_network}
    assert allowed == {"demo", "demo-html"}
