"""Load and validate `config.yaml` into typed settings.

Every section forbids unknown keys, so a typo such as `demo_feed.prot` is an error naming the
key and the file instead of a setting that silently does nothing.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from store.errors import ConfigError

DEFAULT_CONFIG_NAME = "config.yaml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreConfig(_Section):
    """SQLite settings."""

    busy_timeout_ms: int = Field(10_000, ge=0, description="How long a writer waits for a lock.")


class DemoFeedConfig(_Section):
    """The local social-media-like site used by `make demo` and the tests."""

    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    seed: int = 7
    posts_per_style: int = Field(200, ge=25, le=5000)
    page_size: int = Field(24, ge=20, le=200)
    image_width: int = Field(320, ge=256, le=2048)
    image_height: int = Field(400, ge=256, le=2048)
    weeks: int = Field(12, ge=2, le=104)
    end_date: dt.date = dt.date(2026, 11, 15)
    repost_rate: float = Field(0.08, ge=0.0, le=0.5)


class DashboardConfig(_Section):
    """The Dash web app."""

    host: str = "127.0.0.1"
    port: int = Field(8050, ge=0, le=65535)
    title: str = "StyleScout"


class Config(_Section):
    """All settings; `data_dir` is resolved to an absolute path on load."""

    data_dir: Path = Path("data")
    store: StoreConfig = StoreConfig()
    demo_feed: DemoFeedConfig = DemoFeedConfig()
    dashboard: DashboardConfig = DashboardConfig()


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the section at `loc` (for 'did you mean' hints)."""
    current: type[BaseModel] = model
    for part in loc:
        field = current.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            current = annotation
        else:
            break
    return list(current.model_fields)


def _describe(error: dict[str, Any], source: str) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) for p in loc)
    if error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _known_keys(Config, loc[:-1]), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{source}: unknown key '{key}'{hint}"
    return f"{source}: '{key}' {error['msg'].lower()} (got {error.get('input')!r})"


def parse_config(raw: Any, source: str, base_dir: Path) -> Config:
    """Validate an already-parsed YAML document; relative `data_dir` is taken from `base_dir`."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: the top level must be a mapping of keys, not {type(raw).__name__}"
        )
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc.errors()[0], source)) from None
    data_dir = config.data_dir if config.data_dir.is_absolute() else base_dir / config.data_dir
    return config.model_copy(update={"data_dir": data_dir.resolve()})


def load_config(path: Path | str | None = None, data_dir: Path | str | None = None) -> Config:
    """Load settings from `path` (default: ./config.yaml when present, else built-in defaults).

    `data_dir`, when given, overrides the file's data folder (relative to the current directory).
    """
    explicit = path is not None
    config_path = Path(path) if explicit else Path(DEFAULT_CONFIG_NAME)
    if config_path.is_file():
        try:
            raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            raise ConfigError(f"{config_path}: not valid YAML{where}") from None
        except OSError as exc:
            raise ConfigError(f"{config_path}: cannot be read ({exc.strerror})") from None
        config = parse_config(raw, str(config_path), config_path.resolve().parent)
    elif explicit:
        raise ConfigError(f"config file not found: {config_path}")
    else:
        config = parse_config({}, "defaults", Path.cwd())
    if data_dir is not None:
        config = config.model_copy(update={"data_dir": Path(data_dir).resolve()})
    return config
