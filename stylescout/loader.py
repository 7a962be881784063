"""Find and load the settings as other tools do: a file, the environment, the command line.

The file is `--config`, else `$STYLESCOUT_CONFIG`, else `./config.yaml`, else `config.yaml` in
the user's config folder (platformdirs: `~/.config/stylescout/` on Linux), else none (defaults).
Every key can also come from the environment, read by pydantic-settings:
`STYLESCOUT_DASHBOARD__PORT=8060`, `STYLESCOUT_SOURCES__FLICKR__ENABLED=false`; lists and
mappings as JSON. Later wins: defaults < file < environment < command-line flags. The loader
remembers where each key came from, for `stylescout config show` and for error messages.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

import yaml
from platformdirs import user_config_path
from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from stylescout.errors import ConfigError
from stylescout.settings import Config, deep_merge

DEFAULT_CONFIG_NAME = "config.yaml"
ENV_PREFIX = "STYLESCOUT_"
CONFIG_ENV = "STYLESCOUT_CONFIG"
# The names of earlier releases, kept: each is the same as its key's own variable.
ENV_ALIASES = {
    "STYLESCOUT_STORE_URL": "store.url",
    "STYLESCOUT_IMAGES_URL": "store.images_url",
    "STYLESCOUT_REDIS_URL": "dashboard.redis_url",
}
SECTIONS = tuple(Config.model_fields)


class _Environment(BaseSettings):
    """The `STYLESCOUT_*` variables that name settings, as nested mappings (validated later,
    with the file's values, by `Config`)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="ignore", case_sensitive=False
    )

    data_dir: str | None = None
    store: dict[str, Any] | None = None
    demo_feed: dict[str, Any] | None = None
    scraper: dict[str, Any] | None = None
    sources: dict[str, Any] | None = None
    features: dict[str, Any] | None = None
    clustering: dict[str, Any] | None = None
    recommender: dict[str, Any] | None = None
    search: dict[str, Any] | None = None
    dashboard: dict[str, Any] | None = None
    follow: dict[str, Any] | None = None


assert set(_Environment.model_fields) == set(SECTIONS), "every section readable from the env"


@dataclass
class Loaded:
    """The settings and where each key came from: `origins` maps dotted keys (as given, a
    section or a leaf) to 'file PATH', 'environment NAME' or 'flag --NAME'."""

    config: Config
    file: Path | None
    found_by: str  # how the file was found: --config, $STYLESCOUT_CONFIG, ./config.yaml, ...
    origins: dict[str, str] = field(default_factory=dict)

    def origin(self, key: str) -> str:
        """Where `key` (dotted) got its value: its own origin or its closest parent's."""
        parts = key.split(".")
        for n in range(len(parts), 0, -1):
            found = self.origins.get(".".join(parts[:n]))
            if found:
                return found
        return "default"


def find_config_file(path: Path | str | None) -> tuple[Path | None, str]:
    """The settings file and how it was found; ConfigError when one named does not exist."""
    if path is not None:
        named = Path(path)
        if not named.is_file():
            raise ConfigError(f"config file not found: {named}")
        return named, "--config"
    from_env = os.environ.get(CONFIG_ENV, "").strip()
    if from_env:
        named = Path(from_env).expanduser()
        if not named.is_file():
            raise ConfigError(f"config file not found: {named} (from ${CONFIG_ENV})")
        return named, f"${CONFIG_ENV}"
    here = Path(DEFAULT_CONFIG_NAME)
    if here.is_file():
        return here, f"./{DEFAULT_CONFIG_NAME}"
    user = user_config_path("stylescout") / DEFAULT_CONFIG_NAME
    if user.is_file():
        return user, "the user config folder"
    return None, "none (defaults)"


def _leaves(raw: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in raw.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out += _leaves(value, dotted + ".")
        else:
            out.append(dotted)
    return out


def _decoded(value: Any) -> Any:
    """Environment values are text: JSON lists and mappings become lists and mappings."""
    if isinstance(value, dict):
        return {k: _decoded(v) for k, v in value.items()}
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _environment() -> tuple[dict[str, Any], dict[str, str]]:
    """Settings from the environment, and each key's variable."""
    raw = _decoded(_Environment().model_dump(exclude_none=True))
    origins: dict[str, str] = {}
    for name in os.environ:
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in ENV_ALIASES:
            continue
        dotted = upper[len(ENV_PREFIX) :].lower().replace("__", ".")
        if dotted.split(".")[0] in SECTIONS:
            origins[dotted] = f"environment {name}"
    for name, dotted in ENV_ALIASES.items():
        value = os.environ.get(name)
        if value:
            section, key = dotted.split(".")
            raw = deep_merge(raw, {section: {key: value}})
            origins[dotted] = f"environment {name}"
    return raw, origins


def _read_file(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of keys, not {type(raw).__name__}"
        )
    return raw


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the section at `loc` (for 'did you mean' hints)."""
    current: type[BaseModel] = model
    parts = list(loc)
    while parts:
        field_info = current.model_fields.get(str(parts.pop(0)))
        annotation = field_info.annotation if field_info else None
        if get_origin(annotation) is dict:  # e.g. sources.<name>: skip the entry's name
            annotation = get_args(annotation)[1]
            if parts:
                parts.pop(0)
        if get_origin(annotation) in (Union, UnionType):  # e.g. `ApiConfig | None`
            models = [a for a in get_args(annotation) if isinstance(a, type)]
            annotation = next((a for a in models if issubclass(a, BaseModel)), None)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            current = annotation
        else:
            break
    return list(current.model_fields)


def _describe(error: dict[str, Any], source: str) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) for p in loc)
    if not loc and error["type"] == "value_error":  # a check across sections names its keys
        return f"{source}: {error['ctx']['error']}"
    if error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _known_keys(Config, loc[:-1]), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{source}: unknown key '{key}'{hint}"
    return f"{source}: '{key}' {error['msg'].lower()} (got {error.get('input')!r})"


def parse_config(
    raw: Any, source: str, base_dir: Path, origins: dict[str, str] | None = None
) -> Config:
    """Validate settings already read (a YAML document, merged with the environment's);
    relative `data_dir` is taken from `base_dir`. An error names where its key came from."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: the top level must be a mapping of keys, not {type(raw).__name__}"
        )
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(p) for p in error["loc"]]
        by = next(
            (
                (origins or {}).get(".".join(loc[:n]))
                for n in range(len(loc), 0, -1)
                if (origins or {}).get(".".join(loc[:n]))
            ),
            None,
        )
        raise ConfigError(_describe(error, by or source)) from None
    data_dir = config.data_dir if config.data_dir.is_absolute() else base_dir / config.data_dir
    config = config.model_copy(update={"data_dir": data_dir.resolve()})
    models = config.features.model_dir
    if models is not None and not models.expanduser().is_absolute():  # as data_dir is
        features = config.features.model_copy(update={"model_dir": (base_dir / models).resolve()})
        config = config.model_copy(update={"features": features})
    return config


def load(path: Path | str | None = None, data_dir: Path | str | None = None) -> Loaded:
    """The settings with where each key came from (see the module's docstring)."""
    file, found_by = find_config_file(path)
    file_raw = _read_file(file) if file is not None else {}
    env_raw, origins = _environment()
    origins = {key: f"file {file}" for key in _leaves(file_raw)} | origins
    raw = deep_merge(file_raw, env_raw)
    base = file.resolve().parent if file is not None and "data_dir" not in env_raw else Path.cwd()
    config = parse_config(raw, str(file) if file else "settings", base, origins)
    if data_dir is not None:
        config = config.model_copy(update={"data_dir": Path(data_dir).resolve()})
        origins["data_dir"] = "flag --data-dir"
    return Loaded(config, file, found_by, origins)


def load_config(path: Path | str | None = None, data_dir: Path | str | None = None) -> Config:
    """The settings: the file found as the module says, the environment, and `data_dir` (the
    `--data-dir` flag, relative to the current directory) over both."""
    return load(path, data_dir).config
