"""`stylescout config show`: the settings in effect, secrets masked, and where each came from."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from stylescout.cli import add_command, base_parser, run_cli, setup_logging
from stylescout.loader import Loaded, load
from stylescout.settings import builtin_sources

MASK = "****"
_SECRET_KEY = re.compile(r"(password|passwd|secret|token|api_?key|access_?key|^key)$", re.I)


def masked(key: str, value: Any) -> Any:
    """`value` as it may be shown: secrets by their key's name, and a URL's password."""
    name = key.rsplit(".", 1)[-1]
    if value is not None and value != "" and _SECRET_KEY.search(name):
        return MASK
    if isinstance(value, str) and "://" in value:
        parts = urlsplit(value)
        if parts.password:
            host = parts.hostname or ""
            port = f":{parts.port}" if parts.port else ""
            user = parts.username or ""
            return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}{port}"))
    return value


def _flat(value: Any, prefix: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        out: list[tuple[str, Any]] = []
        for key, item in value.items():
            out += _flat(item, f"{prefix}.{key}" if prefix else str(key))
        return out
    return [(prefix, value)]


def settings_lines(loaded: Loaded) -> list[tuple[str, Any, str]]:
    """(dotted key, value as shown, where it came from) for every setting in effect."""
    builtin = builtin_sources()
    rows = []
    for key, value in _flat(loaded.config.model_dump(mode="json"), ""):
        origin = loaded.origin(key)
        parts = key.split(".")
        if origin == "default" and parts[0] == "sources" and parts[1] in builtin:
            origin = "built-in site"
        rows.append((key, masked(key, value), origin))
    return rows


def _main(argv: Sequence[str] | None, prog: str) -> int:
    parser = base_parser(prog, "The settings StyleScout uses, and where each came from.")
    sub = parser.add_subparsers(dest="command", required=True)
    show = add_command(sub, "show", "print the settings in effect, secrets masked, with origins")
    show.add_argument("--json", action="store_true", help="one JSON object: key -> value, origin")
    args = parser.parse_args(argv)
    setup_logging(args)
    loaded = load(args.config, args.data_dir)
    rows = settings_lines(loaded)
    if args.json:
        print(json.dumps({key: {"value": value, "from": origin} for key, value, origin in rows}))
        return 0
    where = f"{loaded.file} (found by {loaded.found_by})" if loaded.file else loaded.found_by
    print(f"# settings file: {where}")
    width = min(60, max(len(f"{key}: {json.dumps(value)}") for key, value, _ in rows))
    for key, value, origin in rows:
        print(f"{f'{key}: {json.dumps(value)}':<{width}}  # {origin}")
    return 0


def main(argv: Sequence[str] | None = None, prog: str = "stylescout config") -> int:
    """Entry point of `stylescout config`."""
    return run_cli(lambda args: _main(args, prog), argv)
