"""Field paths into API answers, and the small readers an API source turns fields into posts
with (times, counts, URLs, HTML captions, credentials)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from scraper.json_paths import compile_path, depth, fill, first, resolve
from scraper.sources.api import as_count, as_time, html_to_text, read_credential, web_url
from scraper.sources.sites.flickr import decode_flickr
from scraper.sources.sites.mastodon import instance_base
from stylescout.errors import ConfigError
from stylescout.settings import CredentialConfig

STATUS = {
    "id": "1130",
    "reblog": None,
    "media_attachments": [
        {"type": "video", "url": "https://files.example/v.mp4"},
        {"type": "image", "url": None},  # still processing
        {"type": "image", "url": "https://files.example/a.jpg"},
    ],
    "account": {"acct": "ana"},
    "tags": [{"name": "boho"}, {"name": "OOTD"}],
}


def test_paths_select_filter_and_index() -> None:
    assert resolve(STATUS, "media_attachments[type=image].url").values == [
        "https://files.example/a.jpg"
    ]
    assert resolve(STATUS, "media_attachments[].type").values == ["video", "image", "image"]
    assert first(STATUS, "media_attachments[0].type") == "video"
    assert first(STATUS, "media_attachments[-1].url") == "https://files.example/a.jpg"
    assert resolve(STATUS, "tags[].name").values == ["boho", "OOTD"]
    assert first(STATUS, "account.acct") == "ana" and first(STATUS, None) is None


def test_a_missing_key_is_told_apart_from_an_empty_or_null_value() -> None:
    wrong = resolve(STATUS, "media[].url")
    assert wrong.values == [] and not wrong.present
    boost_free = resolve(STATUS, "reblog")  # the key is there, its value null
    assert boost_free.values == [] and boost_free.present
    filtered = resolve(STATUS, "media_attachments[type=gifv].url")
    assert filtered.values == [] and filtered.present


@pytest.mark.parametrize("bad", ["a..b", "a[", "", "a.[]"])
def test_a_path_that_is_not_a_path_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="field path"):
        compile_path(bad)


def test_templates_fill_from_fields_or_give_nothing() -> None:
    photo = {"owner": "12@N0", "id": 53, "title": {"x": 1}}
    assert fill("https://www.flickr.com/photos/{owner}/{id}", photo) == (
        "https://www.flickr.com/photos/12@N0/53"
    )
    assert fill("{owner}/{missing}", photo) is None
    assert fill("{title}", photo) is None  # not a scalar


def test_depth_stops_counting_past_the_limit() -> None:
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    assert depth(deep, 64) == 65
    assert depth({"a": [{"b": 1}]}, 64) == 3 and depth(7, 64) == 0


def test_flickr_feed_bodies_become_strict_json() -> None:
    body = b'jsonFlickrFeed({"title": "Ana\\\'s boho", "path": "C:\\\\", "x": "it\\\\\'"});'
    assert decode_flickr(body) == b'{"title": "Ana\'s boho", "path": "C:\\\\", "x": "it\\\\\'"}'
    assert decode_flickr(b'{"a": "b"}') == b'{"a": "b"}'


def test_field_readers_accept_what_sites_send_and_refuse_the_rest() -> None:
    assert as_time("2026-11-14T10:00:00.000Z") == dt.datetime(2026, 11, 14, 10, tzinfo=dt.UTC)
    assert (
        as_time(1_763_114_400)
        == as_time("1763114400")
        == dt.datetime(2025, 11, 14, 10, tzinfo=dt.UTC)
    )
    assert as_time("yesterday") is None and as_time(True) is None and as_time(10**20) is None
    assert as_count(12) == as_count("12") == 12
    assert as_count(-1) is None and as_count("1e9") is None and as_count(True) is None
    assert web_url("/@ana/1", "https://m.example/api") == "https://m.example/@ana/1"
    assert web_url("javascript:alert(1)", "https://m.example/") is None
    assert web_url("x" * 3000, "https://m.example/") is None and web_url(5, "https://a/") is None


def test_html_captions_become_text_with_their_lines() -> None:
    html = (
        '<p>Linen &amp; lace<br>for <a href="https://m.example/tags/boho" class="mention hashtag"'
        ' rel="tag">#<span>boho</span></a></p><p>second <script>x()</script></p>'
    )
    text = html_to_text(html)
    assert text.splitlines()[:2] == ["Linen & lace", "for #boho"]
    assert "<" not in text


def test_instances_are_host_names_or_urls() -> None:
    assert instance_base("Mastodon.Social", "mastodon") == "https://mastodon.social"
    assert instance_base("http://127.0.0.1:8900/", "mastodon") == "http://127.0.0.1:8900"
    for bad in ("mastodon social", "../etc", "host/path", "https://"):
        with pytest.raises(ConfigError, match="instances"):
            instance_base(bad, "mastodon")


def test_credentials_come_from_the_environment_or_a_file_and_are_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "tok-0123456789abcdef"
    cfg = CredentialConfig(env="SS_TEST_TOKEN", required=True, help="make one in Settings")
    monkeypatch.delenv("SS_TEST_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"set SS_TEST_TOKEN .make one in Settings"):
        read_credential("pixelfed", cfg)
    assert read_credential("x", cfg.model_copy(update={"required": False})) is None
    monkeypatch.setenv("SS_TEST_TOKEN", secret)
    caplog.set_level("INFO")
    cred = read_credential("pixelfed", cfg)
    assert cred is not None and cred.value == secret and secret not in repr(cred)
    monkeypatch.delenv("SS_TEST_TOKEN")
    path = tmp_path / "token"
    path.write_text(secret + "\n")
    path.chmod(0o644)
    cred = read_credential("pixelfed", cfg.model_copy(update={"file": path}))
    assert cred is not None and cred.value == secret
    assert "can be read by other users" in caplog.text and secret not in caplog.text
    with pytest.raises(ConfigError, match=r"credential.file"):
        read_credential("pixelfed", cfg.model_copy(update={"file": tmp_path / "none"}))
    login = CredentialConfig(env="SS_TEST_TOKEN", user_env="SS_TEST_USER", send="login")
    monkeypatch.setenv("SS_TEST_TOKEN", secret)
    monkeypatch.delenv("SS_TEST_USER", raising=False)
    with pytest.raises(ConfigError, match="set SS_TEST_USER"):
        read_credential("bluesky", login)


def test_alternative_keys_take_the_first_that_is_set() -> None:
    status = {
        "media_attachments": [
            {"type": "image", "url": None, "remote_url": "https://origin.example/a.jpg"},
            {"type": "image", "url": "https://files.example/b.jpg", "remote_url": "x"},
        ]
    }
    found = resolve(status, "media_attachments[type=image].url|remote_url")
    assert found.values == ["https://origin.example/a.jpg", "https://files.example/b.jpg"]
    assert not resolve(status, "media_attachments[].uri|href").present


def test_hostile_numbers_and_addresses_are_refused_not_raised() -> None:
    assert as_count("²") is None and as_count("9" * 5000) is None and as_time("²") is None
    assert web_url("http://[x/y.jpg", "https://m.example/") is None
