"""DNS rebinding: the downloader connects to an address its network policy approved, never to what
a name answers a moment after the check.

`rebind.test` is resolved by a fake `socket.getaddrinfo` whose answer changes between calls: the
check sees one address, the connection would see another. Every TCP connect is recorded and
anything off loopback is refused, so even a broken pin reaches nothing; the servers listen on
127.0.0.1 only.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scraper.downloader import Downloader, DownloadFailed
from scraper.pinned_adapter import PinnedAdapter
from stylescout.settings import ScraperConfig
from tests.unit.test_browser_network_policy import Listener

NAME = "rebind.test"
PAGE = b"<html><body>ok</body></html>"
log = logging.getLogger(__name__)


class Site:
    """A small HTTP(S) server on 127.0.0.1:0 answering every GET with `PAGE`; it records each
    request's Host header and, with TLS, each handshake's server name (SNI)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.hosts: list[str] = []
        self.server_names: list[str | None] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hosts.append(self.headers.get("Host", ""))
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                log.debug("test site: a connection failed", exc_info=True)  # a refused TLS cert

        self._server = Server(("127.0.0.1", 0), Handler)
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _context: site.server_names.append(name)
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Site:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class RebindingDns:
    """`socket.getaddrinfo` for `NAME` gives `answers` in turn (the last one repeats; an
    exception is raised); any other host is resolved as before (by the loopback guard)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answers: list[str | OSError]) -> None:
        self.asked = 0
        before = socket.getaddrinfo

        def getaddrinfo(host: object, port: object, *args: object, **kwargs: object) -> list:
            if host != NAME:
                return before(host, port, *args, **kwargs)
            answer = answers[min(self.asked, len(answers) - 1)]
            self.asked += 1
            if isinstance(answer, OSError):
                raise answer
            number = int(port or 0)  # type: ignore[call-overload]
            if ipaddress.ip_address(answer).version == 6:
                return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (answer, number, 0, 0))]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, number))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every (address, port) a TCP socket connects to; one off loopback is recorded and refused
    before anything is sent, so a test can never reach it even if the pin is broken."""
    seen: list[tuple[str, int]] = []
    before = socket.socket.connect

    def connect(sock: socket.socket, address: tuple) -> None:  # type: ignore[type-arg]
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            seen.append((address[0], address[1]))
            if not ipaddress.ip_address(address[0].split("%")[0]).is_loopback:
                raise ConnectionRefusedError(f"the test refuses {address[0]}: loopback only")
        return before(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


def downloader(*allowed_hosts: str, retries: int = 0) -> Downloader:
    config = ScraperConfig(retries=retries, backoff_s=0, connect_timeout_s=2, read_timeout_s=5)
    return Downloader(config, robots=False, allowed_hosts=allowed_hosts)


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("later", ["169.254.169.254", "10.0.0.1", "fd00::1"])
def test_a_name_that_rebinds_after_the_check_is_refused_at_connect(
    monkeypatch: pytest.MonkeyPatch,
    connects: list[tuple[str, int]],
    caplog: pytest.LogCaptureFixture,
    later: str,
    scheme: str,
) -> None:
    """The check sees the allowed loopback site; the connection would see `later` (refused
    before any TLS, so the site needs none)."""
    with Site() as site:
        dns = RebindingDns(monkeypatch, ["127.0.0.1", later])
        loader = downloader(f"127.0.0.1:{site.port}", retries=2)
        with pytest.raises(DownloadFailed) as info:
            loader.get_page(f"{scheme}://{NAME}:{site.port}/tag/boho")
        loader.close()
    assert connects == [] and site.hosts == []  # nothing was even tried
    assert info.value.reason == "private_address"  # the policy's reason, not "connection"
    assert info.value.detail == (
        f"{NAME}:{site.port} is {later}: the source may not reach local networks"
    )
    assert dns.asked == 2  # the check and the one connection: a refusal is not retried
    assert "refused when opened" in caplog.text


def test_a_public_name_that_turns_to_loopback_never_reaches_the_service_there(
    monkeypatch: pytest.MonkeyPatch, connects: list[tuple[str, int]]
) -> None:
    """The classic attack: public for the check, 127.0.0.1 (an internal service) to connect."""
    with Listener() as internal:
        RebindingDns(monkeypatch, ["93.184.216.34", "127.0.0.1"])
        loader = downloader()
        with pytest.raises(DownloadFailed) as info:
            loader.get_page(f"http://{NAME}:{internal.port}/latest/meta-data/")
        loader.close()
    assert internal.connections == 0 and connects == []
    assert info.value.reason == "private_address"


def test_a_name_that_stops_resolving_after_the_check_is_no_such_host(
    monkeypatch: pytest.MonkeyPatch, connects: list[tuple[str, int]]
) -> None:
    gone = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    with Site() as site:
        dns = RebindingDns(monkeypatch, ["127.0.0.1", gone])
        loader = downloader(f"127.0.0.1:{site.port}", retries=2)
        with pytest.raises(DownloadFailed) as info:
            loader.get_page(f"http://{NAME}:{site.port}/tag/boho")
        loader.close()
    assert connects == []
    assert info.value.reason == "no_such_host" and dns.asked == 2


@pytest.mark.parametrize("allowed", ["127.0.0.1:{port}", f"{NAME}:{{port}}"])
def test_an_allowed_fetch_connects_to_the_checked_address_with_the_name_as_host(
    monkeypatch: pytest.MonkeyPatch, connects: list[tuple[str, int]], allowed: str
) -> None:
    """Pages and API calls, with `allowed_hosts` naming the address or the name."""
    with Site() as site:
        RebindingDns(monkeypatch, ["127.0.0.1"])
        loader = downloader(allowed.format(port=site.port))
        url = f"http://{NAME}:{site.port}/tag/boho"
        assert loader.get_page(url) == PAGE.decode()
        answer = loader.request_api(url, cap=10_000)
        loader.close()
    assert answer.status == 200 and answer.body == PAGE
    assert site.hosts == [f"{NAME}:{site.port}"] * 2
    assert set(connects) == {("127.0.0.1", site.port)}
    for session in (loader.session, loader.api_session):
        assert isinstance(session.get_adapter(url), PinnedAdapter)


def tls_server(folder: Path, name: str) -> tuple[Path, ssl.SSLContext]:
    """A throwaway CA (its certificate written to `folder`, for the client to trust) and a
    server context whose certificate that CA issued for `name` alone."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "StyleScout test CA")])

    def issue(subject: x509.Name, public: ec.EllipticCurvePublicKey, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
        )
        if ca:
            usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
            builder = builder.add_extension(usage, critical=True)
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
            ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        return builder.sign(ca_key, hashes.SHA256())

    ca = issue(ca_name, ca_key.public_key(), ca=True)
    leaf = issue(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), key.public_key(), False
    )
    ca_file, chain, key_file = folder / "ca.pem", folder / "site.pem", folder / "site.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain, key_file)
    return ca_file, context


@pytest.mark.parametrize(("certified", "works"), [(NAME, True), ("other.test", False)])
def test_https_keeps_the_name_for_sni_and_certificate_verification(
    monkeypatch: pytest.MonkeyPatch,
    connects: list[tuple[str, int]],
    tmp_path: Path,
    certified: str,
    works: bool,
) -> None:
    """The socket goes to 127.0.0.1, TLS still asks for and verifies `rebind.test`: a certificate
    for that name alone is accepted, one for another name is refused."""
    ca_file, context = tls_server(tmp_path, certified)
    with Site(context) as site:
        RebindingDns(monkeypatch, ["127.0.0.1"])
        loader = downloader(f"127.0.0.1:{site.port}")
        loader.session.verify = str(ca_file)
        url = f"https://{NAME}:{site.port}/tag/boho"
        if works:
            assert loader.get_page(url) == PAGE.decode()
        else:
            with pytest.raises(DownloadFailed) as info:
                loader.get_page(url)
            assert info.value.reason == "connection"
        loader.close()
    assert site.server_names == [NAME]
    assert site.hosts == ([f"{NAME}:{site.port}"] if works else [])
    assert set(connects) == {("127.0.0.1", site.port)}


def test_the_recorder_refuses_what_is_off_loopback(connects: list[tuple[str, int]]) -> None:
    """The safety net of these tests: an address off loopback is refused before any packet."""
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("169.254.169.254", 80))
    assert connects == [("169.254.169.254", 80)]
