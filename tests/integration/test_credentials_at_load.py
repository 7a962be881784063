"""What a person (or a hostile config) gives a source to sign in with is checked when it is
loaded, before any request: a cookie or credential with a control character, and a credential
file that is no token (a private key, a large or a non-regular file, text with spaces), are
refused in one line that names the source and where the value came from, never the value."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask, Response, request

from sandbox.demo_feed.server import BackgroundServer
from sandbox.fault_server import good_jpeg
from scraper.cli import main

SECRET = "s3cr3t-VALUE-0123"
COOKIE_ENV = "STYLESCOUT_TEST_SESSION_COOKIE"
TOKEN_ENV = "STYLESCOUT_TEST_API_TOKEN"
PRIVATE_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    f"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ{SECRET}\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


@pytest.fixture
def site() -> Iterator[tuple[str, list[str]]]:
    """A page of one post and a JSON feed, on loopback; the requests it got (path and query)."""
    app = Flask("site")
    seen: list[str] = []

    @app.before_request
    def record() -> None:
        seen.append(request.full_path)

    @app.get("/tag/<tag>")
    def page(tag: str) -> str:
        return '<article><a href="/p/1"><img src="/img/1.jpg"></a></article>'

    @app.get("/feed/<tag>")
    def feed(tag: str) -> list[dict[str, str]]:
        return [{"image": "/img/1.jpg", "url": "/p/1"}]

    @app.get("/img/1.jpg")
    def image() -> Response:
        return Response(good_jpeg(1), mimetype="image/jpeg")

    with BackgroundServer(app, "127.0.0.1", 0) as server:
        yield server.url, seen


@pytest.fixture(autouse=True)
def _no_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (COOKIE_ENV, TOKEN_ENV):
        monkeypatch.delenv(name, raising=False)


def cookie_source(url: str, **where: Any) -> dict[str, Any]:
    return {
        "kind": "html",
        "url": f"{url}/tag/{{tag}}",
        "allow_private_network": True,
        "cookie_name": "sid",
        **where,
        "selectors": {"post": "article", "image": "img", "link": "a", "caption": "", "time": ""},
    }


def api_source(url: str, **credential: Any) -> dict[str, Any]:
    return {
        "kind": "api",
        "url": "{base_url}/feed/{tag}",
        "base_url": url,
        "allow_private_network": True,
        "api": {"credential": credential, "request_spacing_s": 0},
    }


def scrape_cli(tmp_path: Path, source: dict[str, Any]) -> int:
    """`python -m scraper scrape` in this process over a config with the one source `given`;
    an exception that escapes is printed as Python would (to the captured stderr)."""
    config = tmp_path / "config.yaml"
    data = {"data_dir": str(tmp_path / "data"), "sources": {"given": source}}
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    argv = ["-v", "--config", str(config), "scrape", "--tag", "boho", "--count", "1"]
    try:
        return main([*argv, "--source", "given"])
    except Exception:  # the bug: a traceback instead of one line
        traceback.print_exc()
        return -1


def said(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    """Everything shown: the output and every log record, arguments filled in."""
    out = capsys.readouterr()
    return "\n".join([out.out, out.err, *(r.getMessage() for r in caplog.records)])


def error_line(capsys_text: str) -> str:
    [line] = [x for x in capsys_text.splitlines() if x.startswith("error: ")]
    return line


@pytest.mark.parametrize(
    ("case", "value"),
    [
        ("cookie_file", f"{SECRET}\nsecond-line"),
        ("cookie_env", f"{SECRET}\r\nX-Injected: 1"),
        ("token_env", f"{SECRET}\nsecond-line"),
        ("token_file", f"{SECRET}\x1b[2Jmore"),  # a terminal escape, on one line
    ],
)
def test_a_control_character_is_refused_without_showing_the_value(
    case: str,
    value: str,
    site: tuple[str, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, seen = site
    caplog.set_level(logging.DEBUG)
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(value + "\n", encoding="utf-8")
    secret_file.chmod(0o600)
    if case == "cookie_file":
        source, origin = cookie_source(url, cookie_file=str(secret_file)), str(secret_file)
    elif case == "cookie_env":
        monkeypatch.setenv(COOKIE_ENV, value)
        source, origin = cookie_source(url, cookie_env=COOKIE_ENV), f"${COOKIE_ENV}"
    elif case == "token_env":
        monkeypatch.setenv(TOKEN_ENV, value)
        source, origin = api_source(url, env=TOKEN_ENV), f"${TOKEN_ENV}"
    else:
        source, origin = api_source(url, file=str(secret_file)), str(secret_file)
    code = scrape_cli(tmp_path, source)
    text = said(capsys, caplog)
    assert SECRET not in text and "Traceback" not in text, text
    line = error_line(text)
    assert code == 2 and ("'given'" in line or "sources.given." in line), line
    assert origin in line, line
    assert "control character" in line
    assert seen == []  # refused before any request


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (PRIVATE_KEY, "more than one line"),
        ("A" * 5000, "larger than 4096 bytes"),
        (f"correct horse battery staple {SECRET}", "printable ASCII"),
        (f"clé-{SECRET}", "printable ASCII"),
    ],
    ids=["private_key", "oversized", "spaces", "non_ascii"],
)
def test_a_credential_file_that_is_no_token_is_never_sent(
    content: str,
    why: str,
    site: tuple[str, list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A hostile config names any readable file as a credential sent as a query parameter."""
    url, seen = site
    caplog.set_level(logging.DEBUG)
    target = tmp_path / "id_ed25519"
    target.write_text(content, encoding="utf-8")
    target.chmod(0o600)
    code = scrape_cli(tmp_path, api_source(url, file=str(target), send="param", param="key"))
    text = said(capsys, caplog)
    assert seen == [], seen  # nothing went out
    assert SECRET not in text and "AAAAA" not in text and "Traceback" not in text, text
    line = error_line(text)
    assert code == 2 and "sources.given.api.credential.file" in line and str(target) in line
    assert why in line, line


def test_a_credential_file_that_is_not_a_regular_file_is_not_read(
    site: tuple[str, list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """/dev/zero never ends (a FIFO would block): refused before it is opened."""
    url, seen = site
    code = scrape_cli(tmp_path, api_source(url, file="/dev/zero", send="param", param="key"))
    line = error_line(said(capsys, caplog))
    assert code == 2 and "/dev/zero" in line and "not a regular file" in line, line
    assert seen == []


def test_a_one_line_token_file_still_works(
    site: tuple[str, list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, seen = site
    caplog.set_level(logging.INFO)
    token = tmp_path / "token"
    token.write_text(f"{SECRET}\n", encoding="utf-8")
    token.chmod(0o600)
    code = scrape_cli(tmp_path, api_source(url, file=str(token), send="param", param="key"))
    text = said(capsys, caplog)
    assert code == 0, text
    assert any(f"key={SECRET}" in path for path in seen)
    assert SECRET not in text and "value hidden" in text
