from __future__ import annotations

from pathlib import Path

import pytest

from stylescout.errors import ConfigError
from stylescout.loader import load_config
from stylescout.settings import Config

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_repository_config_matches_built_in_defaults() -> None:
    loaded = load_config(REPO / "config.yaml")
    assert loaded.data_dir == REPO / "data"
    assert loaded.model_copy(update={"data_dir": Config().data_dir}) == Config()


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config.data_dir == tmp_path / "data"
    assert config.dashboard.host == "127.0.0.1"


def test_relative_data_dir_is_taken_from_the_config_folder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "data_dir: somewhere\n"))
    assert config.data_dir == tmp_path / "somewhere"


def test_data_dir_override_wins(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "data_dir: somewhere\n"), data_dir=tmp_path / "other")
    assert config.data_dir == tmp_path / "other"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("demo_feed:\n  prot: 1\n", "unknown key 'demo_feed.prot' (did you mean 'port'?)"),
        ("colour: red\n", "unknown key 'colour'"),
        ("dashboard:\n  port: many\n", "'dashboard.port'"),
        ("demo_feed:\n  posts_per_style: -5\n", "'demo_feed.posts_per_style'"),
        ("store:\n  busy_timeout_ms: -1\n", "'store.busy_timeout_ms'"),
        ("- just\n- a list\n", "top level must be a mapping"),
        ("demo_feed: [unclosed\n", "not valid YAML at line"),
    ],
)
def test_bad_configs_name_the_problem_and_the_file(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_empty_file_means_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")).demo_feed == Config().demo_feed


def test_source_entries_add_to_the_defaults_and_typos_are_named(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "sources:\n  shop:\n    url: http://127.0.0.1/t/{tag}\n"))
    assert {"mastodon", "flickr", "instagram", "shop"} <= set(config.sources)
    assert not {"demo", "demo-html"} & set(config.sources)  # the demo commands add those
    assert config.source("shop").kind == "html"
    with pytest.raises(ConfigError, match="unknown source 'nope'"):
        config.source("nope")
    bad = write(tmp_path, "sources:\n  shop:\n    url: x\n    selector: {}\n")
    with pytest.raises(
        ConfigError, match=r"'sources\.shop\.selector' \(did you mean 'selectors'\?\)"
    ):
        load_config(bad)


def test_an_entry_named_like_a_built_in_overrides_only_the_keys_it_gives(tmp_path: Path) -> None:
    text = (
        "sources:\n"
        "  mastodon:\n"
        "    base_url: http://127.0.0.1:8900\n"
        "    allow_private_network: true\n"
        "    api:\n"
        "      request_spacing_s: 0\n"
        "      fields: {likes: reblogs_count}\n"
        "  instagram: null\n"
    )
    config = load_config(write(tmp_path, text))
    mastodon, builtin = config.source("mastodon"), Config().source("mastodon")
    assert mastodon.base_url == "http://127.0.0.1:8900" and mastodon.allow_private_network
    assert mastodon.api is not None and builtin.api is not None
    assert mastodon.api.request_spacing_s == 0 and mastodon.api.fields.likes == "reblogs_count"
    # everything not given stays as built in, nested sections key by key
    assert mastodon.api.fields.image == builtin.api.fields.image
    assert mastodon.api.paging == builtin.api.paging and mastodon.instances == builtin.instances
    assert mastodon.api.credential == builtin.api.credential
    assert "instagram" not in config.sources and "flickr" in config.sources
    params = load_config(
        write(tmp_path, "sources:\n  mastodon:\n    api: {params: {limit: '5'}}\n")
    )
    assert params.source("mastodon").api.params == {"limit": "5"}  # parameters replaced whole
    assert load_config(write(tmp_path, "sources:\n")).sources.keys() == Config().sources.keys()


def test_built_in_api_sources_need_no_credential_only_where_enabled() -> None:
    sources = Config().sources
    for name in ("mastodon", "pixelfed", "bluesky", "flickr", "tumblr"):
        cfg = sources[name]
        assert cfg.kind == "api" and cfg.api is not None, name
        assert "{base_url}" in cfg.url, name  # every built-in API source takes base_url
        needs = cfg.api.credential is not None and cfg.api.credential.required
        assert cfg.enabled is not needs, name


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("    kind: api\n    url: http://x/{tag}\n", "needs an `api:` section"),
        (
            "    kind: api\n    url: x\n    api: {itemz: posts}\n",
            "'sources.site.api.itemz' (did you mean 'items'?)",
        ),
        (
            "    kind: api\n    url: x\n    api: {paging: {kind: offset}}\n",
            "'sources.site.api.paging.kind'",
        ),
        (
            "    kind: api\n    url: x\n    module: mastodn\n    api: {}\n",
            "sources.site.module: no built-in site 'mastodn' (did you mean 'mastodon'?)",
        ),
        (
            "    kind: api\n    url: x\n    api: {paging: {kind: cursor, param: c}}\n",
            "paging kind 'cursor' needs field",
        ),
        (
            "    kind: api\n    url: x\n    api: {credential: {env: K, send: param}}\n",
            "send: param needs `param`",
        ),
        (
            "    kind: api\n    url: x\n    api: {credential: {env: K, send: login}}\n",
            "send: login needs a source module",
        ),
    ],
)
def test_api_entries_are_checked(tmp_path: Path, entry: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "sources:\n  site:\n" + entry))
    assert expected in str(info.value)


def test_the_loader_scrape_path_and_dashboard_do_not_import_the_demo_feed() -> None:
    import subprocess
    import sys

    code = (
        "import sys, stylescout.settings, scraper.scrape, scraper.sources, scraper.probe,"
        " dash_app.app;"
        "bad = sorted(m for m in sys.modules if m.startswith('sandbox'));"
        "print(bad); raise SystemExit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_backbone_runs_on_openvino_fp32_unless_told_and_int8_needs_openvino(
    tmp_path: Path,
) -> None:
    config = load_config(write(tmp_path, "data_dir: d\n"))
    assert (config.features.runtime, config.features.precision) == ("openvino", "fp32")
    text = "features:\n  runtime: tensorflow\n  precision: int8\n"
    with pytest.raises(ConfigError, match="precision int8 needs runtime: openvino"):
        load_config(write(tmp_path, text))


def test_build_refuses_a_precision_tensorflow_cannot_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from clustering.cli import main as cli_main

    args = ["build", "--runtime", "tensorflow", "--precision", "int8", "--data-dir", str(tmp_path)]
    assert cli_main(args) == 2
    assert "precision int8 needs the openvino runtime" in capsys.readouterr().err


def test_a_relative_model_dir_is_taken_from_the_config_folder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "features:\n  model_dir: models\n"))
    assert config.features.model_dir == (tmp_path / "models").resolve()
