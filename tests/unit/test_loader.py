"""Settings found as other tools find theirs (`stylescout.loader`): --config, then
$STYLESCOUT_CONFIG, ./config.yaml, the user config folder; every key from the environment; the
command line over all; `stylescout config show` says where each came from, secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stylescout.config_cli import main as config_main
from stylescout.errors import ConfigError
from stylescout.loader import load, load_config


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder without config.yaml, a user config folder of its own, no STYLESCOUT_*."""
    import os

    for name in list(os.environ):
        if name.startswith("STYLESCOUT_"):
            monkeypatch.delenv(name)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_file_is_found_in_the_order_other_tools_use(elsewhere: Path, monkeypatch) -> None:
    assert load().found_by == "none (defaults)" and load().config.dashboard.port == 8050
    user = _write(elsewhere / "xdg" / "stylescout" / "config.yaml", "dashboard: {port: 1001}\n")
    assert (load().file, load().config.dashboard.port) == (user, 1001)
    _write(Path("config.yaml"), "dashboard: {port: 1002}\n")
    assert load().config.dashboard.port == 1002 and load().found_by == "./config.yaml"
    named = _write(elsewhere / "named.yaml", "dashboard: {port: 1003}\n")
    monkeypatch.setenv("STYLESCOUT_CONFIG", str(named))
    assert load().config.dashboard.port == 1003 and load().found_by == "$STYLESCOUT_CONFIG"
    flag = _write(elsewhere / "flag.yaml", "dashboard: {port: 1004}\n")
    assert load(flag).config.dashboard.port == 1004
    monkeypatch.setenv("STYLESCOUT_CONFIG", str(elsewhere / "missing.yaml"))
    with pytest.raises(ConfigError, match=r"missing.yaml \(from \$STYLESCOUT_CONFIG\)"):
        load()


def test_every_key_can_come_from_the_environment(elsewhere: Path, monkeypatch) -> None:
    _write(Path("config.yaml"), "dashboard: {port: 1002, threads: 3}\nscraper: {workers: 2}\n")
    monkeypatch.setenv("STYLESCOUT_DASHBOARD__PORT", "8060")
    monkeypatch.setenv("STYLESCOUT_SOURCES__FLICKR__ENABLED", "false")
    monkeypatch.setenv("STYLESCOUT_SOURCES__MASTODON__INSTANCES", '["a.example", "b.example"]')
    monkeypatch.setenv("STYLESCOUT_STORE_URL", str(elsewhere / "db.sqlite"))  # the older name
    monkeypatch.setenv("STYLESCOUT_DATA_DIR", "here")
    loaded = load()
    config = loaded.config
    assert config.dashboard.port == 8060 and config.dashboard.threads == 3  # env over file
    assert config.scraper.workers == 2
    assert not config.sources["flickr"].enabled
    assert config.sources["flickr"].url.endswith("photos_public.gne")  # the rest: built in
    assert config.sources["mastodon"].instances == ["a.example", "b.example"]
    assert config.store.url == str(elsewhere / "db.sqlite")
    assert config.data_dir == (elsewhere / "work" / "here").resolve()  # the env's: from cwd
    assert loaded.origin("dashboard.port") == "environment STYLESCOUT_DASHBOARD__PORT"
    assert loaded.origin("dashboard.threads") == "file config.yaml"
    assert loaded.origin("store.url") == "environment STYLESCOUT_STORE_URL"
    assert load_config(data_dir=elsewhere / "flag").data_dir == elsewhere / "flag"  # flag wins
    monkeypatch.setenv("STYLESCOUT_DASHBOARD__PORT", "eighty")
    with pytest.raises(
        ConfigError, match=r"^environment STYLESCOUT_DASHBOARD__PORT: 'dashboard\.port'"
    ):
        load()


def test_config_show_says_where_each_setting_came_from_and_hides_secrets(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(
        Path("config.yaml"),
        "store:\n  images_options: {key: AKIAEXAMPLE, secret: hunter2, endpoint_url: http://s3}\n",
    )
    monkeypatch.setenv("STYLESCOUT_REDIS_URL", "redis://:s3cret@127.0.0.1:6379/0")
    assert config_main(["show", "--json", "--data-dir", str(elsewhere / "d")]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["data_dir"] == {"value": str(elsewhere / "d"), "from": "flag --data-dir"}
    assert shown["dashboard.redis_url"] == {
        "value": "redis://:****@127.0.0.1:6379/0",
        "from": "environment STYLESCOUT_REDIS_URL",
    }
    assert shown["store.images_options.key"]["value"] == "****"
    assert shown["store.images_options.secret"] == {"value": "****", "from": "file config.yaml"}
    assert shown["store.images_options.endpoint_url"]["value"] == "http://s3"
    assert shown["dashboard.port"] == {"value": 8050, "from": "default"}
    assert shown["sources.flickr.enabled"]["from"] == "built-in site"
    assert config_main(["show"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# settings file: config.yaml (found by ./config.yaml)")
    assert "hunter2" not in text and "s3cret" not in text and "AKIAEXAMPLE" not in text
