"""What the scraper may fetch: http(s) only, and no private, loopback or link-local address
unless the source allows it (the demo sources do; a deployed instance's sources do not)."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from scraper.downloader import Downloader, DownloadFailed
from scraper.network_policy import NetworkPolicy, PolicyRefused
from stylescout.errors import ConfigError
from stylescout.settings import ScraperConfig

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
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
        "http://[::ffff:a9fe:a9fe]/latest/meta-data/",  # 169.254.169.254, mapped
        "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1: "global" to ipaddress
        "http://[2002:c0a8:101::]/",  # 6to4 of 192.168.1.1: "global" to ipaddress
        "http://224.0.0.251/",  # multicast
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
    from sandbox.demo_feed.sources import demo_sources
    from stylescout.settings import DemoFeedConfig, builtin_sources

    assert not any(source.allow_private_network for source in builtin_sources().values())
    assert all(s.allow_private_network for s in demo_sources(DemoFeedConfig()).values())


def test_allowed_hosts_open_exactly_those_host_port_pairs(fake_dns: None) -> None:
    downloader = Downloader(ScraperConfig(), robots=False, allowed_hosts=["127.0.0.1:8900"])
    downloader.check_url("http://127.0.0.1:8900/tag/boho")
    downloader.check_url("https://127.0.0.1:8900/x.jpg")
    downloader.check_url("http://localhost:8900/x.jpg")  # resolves to the allowed address
    for url in ("http://127.0.0.1:8901/", "http://127.0.0.1/", "http://[::1]:8900/"):
        with pytest.raises(DownloadFailed) as info:
            downloader.check_url(url)
        assert info.value.reason == "private_address"


def test_an_allowed_name_does_not_open_its_address(fake_dns: None) -> None:
    policy = NetworkPolicy(allowed_hosts=["Router.LAN.:80", "[::1]:8443"])
    assert policy.check_url("http://router.lan/status").addresses[0][1][:2] == ("192.168.1.1", 80)
    policy.check_url("https://[::1]:8443/")
    with pytest.raises(PolicyRefused):
        policy.check_url("http://192.168.1.1/status")
    with pytest.raises(PolicyRefused):
        policy.check_url("https://router.lan/")  # port 443 is not on the list


@pytest.mark.parametrize(
    "entry", ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "::1:80", "host:http", "", "a b:80"]
)
def test_a_bad_allowed_hosts_entry_is_a_config_error(entry: str) -> None:
    with pytest.raises(ConfigError, match="allowed_hosts"):
        NetworkPolicy(allowed_hosts=[entry])


def test_the_policy_returns_the_addresses_it_checked(fake_dns: None) -> None:
    destination = NetworkPolicy().check_url("https://shop.example/p/1.jpg")
    assert (destination.host, destination.port) == ("shop.example", 443)
    assert [sockaddr[:2] for _, sockaddr in destination.addresses] == [("93.184.216.34", 443)]


@pytest.mark.parametrize("url", ["http://[::1/", "http://127.0.0.1:99999/", "http://x:port/"])
def test_unparseable_urls_are_bad_urls(url: str) -> None:
    with pytest.raises(DownloadFailed) as info:
        Downloader(ScraperConfig(), robots=False, allow_private_network=True).check_url(url)
    assert info.value.reason == "bad_url"


def test_a_name_that_does_not_resolve_is_refused_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline (or a mistyped host), one line that says so, and no request to retry."""
    import socket

    from scraper import network_policy
    from scraper.downloader import Downloader, DownloadFailed
    from stylescout.settings import ScraperConfig

    asked: list[str] = []

    def no_dns(host: str, *args: object, **kwargs: object) -> list:
        asked.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(network_policy.socket, "getaddrinfo", no_dns)
    with pytest.raises(network_policy.PolicyRefused) as refused:
        network_policy.NetworkPolicy().check_url("https://photos.example/a.jpg")
    assert refused.value.reason == "no_such_host"
    assert "cannot resolve photos.example" in str(refused.value) and "offline" in str(refused.value)
    downloader = Downloader(ScraperConfig(), robots=False)
    with pytest.raises(DownloadFailed) as failed:
        downloader.get_page("https://photos.example/feed")
    assert failed.value.reason == "no_such_host" and asked.count("photos.example") == 2
