"""Field paths into JSON answers: `media_attachments[type=image].url`, `photos[].original_size.url`.

A path is dotted keys; a key may be followed by `[]` (every element of a list), `[N]` (one
element) or `[key=value]` (the elements whose `key` equals `value`), and `a|b` takes `a`, or `b`
where `a` is missing or null (Mastodon's `url|remote_url` for media not yet processed).
Resolving tells apart "the answer has no such key" (a wrong path: a failure worth naming) from
"the key is there but empty or filtered out" (a post without an image: skipped).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from stylescout.errors import ConfigError

_STEP = re.compile(r"([^.\[\]]+)((?:\[[^\]]*\])*)")
_SELECTOR = re.compile(r"\[([^\]]*)\]")


@dataclass(frozen=True)
class _Step:
    key: str
    selectors: tuple[str, ...]  # '' = every element, 'N' = one, 'k=v' = filter


@dataclass(frozen=True)
class Resolved:
    """What a path found: the values (None dropped) and whether every key existed somewhere."""

    values: list[Any]
    present: bool


@lru_cache(maxsize=512)
def compile_path(path: str) -> tuple[_Step, ...]:
    """The steps of a path; ConfigError for one that is not a path."""
    steps = []
    for part in path.split("."):
        match = _STEP.fullmatch(part)
        if not match:
            raise ConfigError(f"field path {path!r}: {part!r} is not a key, key[] or key[k=v]")
        steps.append(_Step(match.group(1), tuple(_SELECTOR.findall(match.group(2)))))
    return tuple(steps)


def _select(values: list[Any], selector: str) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if not isinstance(value, list):
            continue
        if selector == "":
            out.extend(value)
        elif selector.lstrip("-").isdigit():
            index = int(selector)
            if -len(value) <= index < len(value):
                out.append(value[index])
        else:
            key, _, wanted = selector.partition("=")
            out.extend(v for v in value if isinstance(v, dict) and str(v.get(key)) == wanted)
    return out


def _first_set(value: dict[str, Any], names: list[str]) -> Any:
    """The first of `names` that `value` has with a value that is not null."""
    return next((value[n] for n in names if value.get(n) is not None), None)


def resolve(data: Any, path: str) -> Resolved:
    """Every value at `path` in `data`."""
    values = [data]
    present = True
    for step in compile_path(path):
        names = step.key.split("|")
        dicts = [v for v in values if isinstance(v, dict)]
        if not any(name in v for v in dicts for name in names):
            present = False
        values = [_first_set(v, names) for v in dicts]
        values = [v for v in values if v is not None]
        for selector in step.selectors:
            values = _select(values, selector)
        if not values:
            break
    return Resolved([v for v in values if v is not None], present)


def first(data: Any, path: str | None) -> Any:
    """The first value at `path`, or None (also for no path)."""
    if not path:
        return None
    values = resolve(data, path).values
    return values[0] if values else None


def fill(template: str, data: Any) -> str | None:
    """`template` with each `{path}` replaced by the scalar at that path in `data`; None when a
    field is missing (a link is better absent than wrong)."""
    missing = False

    def one(match: re.Match[str]) -> str:
        nonlocal missing
        value = first(data, match.group(1))
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            missing = True
            return ""
        return str(value)

    out = re.sub(r"\{([^{}]+)\}", one, template)
    return None if missing else out


def depth(data: Any, limit: int) -> int:
    """How deeply lists and mappings nest in `data`, counted up to `limit` + 1 at most.

    Level by level, not value by value: an answer of a million `{}` is checked in a fraction of
    a second (a stack of (value, level) pairs took seconds)."""
    level = 0
    values: list[Any] = [data]
    while True:
        containers = [v for v in values if isinstance(v, dict | list)]
        if not containers:
            return level
        level += 1
        if level > limit:
            return level
        values = []
        for container in containers:
            values.extend(container.values() if isinstance(container, dict) else container)
