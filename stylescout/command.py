"""`stylescout`: one command for every part (`stylescout scrape`, `stylescout build`, ...).

Each subcommand is the part's own command line, reached by module name, so the core imports no
part; `python -m scraper ...` and the others keep working.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys
from collections.abc import Sequence

from stylescout import __version__

# name -> (module with main(argv, prog), what the part's command line calls it, summary)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "scrape": ("scraper.cli", "scrape", "gather the images of a tag from a source"),
    "probe": ("scraper.cli", "probe", "ask a source for a few posts and show what it reads"),
    "import": ("scraper.cli", "import", "import a folder of images, with labels from a CSV"),
    "build": ("clustering.cli", "build", "extract missing features, cluster, write the index"),
    "recommend": ("clustering.cli", "recommend", "your style and the nearest items for photos"),
    "evaluate": ("clustering.cli", "evaluate", "quality against imported labels"),
    "compare": ("clustering.cli", "compare", "backbones scored on the same labelled store"),
    "styles": ("clustering.cli", "styles", "what the style index holds"),
    "trends": (
        "clustering.cli",
        "trends",
        "the numbers behind the trends as tables, and their forecasts scored on past weeks",
    ),
    "follow": (
        "dash_app.follow_cli",
        "",
        "tags gathered on a schedule, and the notices they raise",
    ),
    "export": (
        "clustering.cli",
        "export",
        "the store, a tag, a source or a style as CSV/JSONL/Parquet",
    ),
    "stats": ("store.cli", "stats", "what the store holds"),
    "check": ("store.cli", "check", "verify database, files and hashes"),
    "copy": ("store.cli", "copy", "copy the database into another (e.g. PostgreSQL)"),
    "users": ("store.cli", "users", "accounts for a shared dashboard"),
    "serve": ("dash_app.cli", "", "serve the dashboard"),
    "demo": ("dash_app.cli", "--demo", "serve the demo feed and the dashboard, with styles built"),
    "demo-feed": ("scraper.cli", "demo-feed", "serve the local demo social-media feed"),
    "config": ("stylescout.config_cli", "", "the settings in effect and where each came from"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stylescout",
        description="StyleScout: gather a tag's images, find its styles, recommend and learn.",
        epilog="`stylescout COMMAND --help` tells more about each.",
    )
    parser.add_argument("--version", action="version", version=f"stylescout {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_module, _command, summary) in COMMANDS.items():
        sub.add_parser(name, help=summary, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `stylescout` command."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        if args and not args[0].startswith("-"):
            close = difflib.get_close_matches(args[0], list(COMMANDS), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            print(
                f"stylescout: unknown command '{args[0]}'{hint}; `stylescout --help` lists them",
                file=sys.stderr,
            )
            return 2
        _parser().parse_args(args)  # --help, --version, or a usage error naming the commands
        return 2
    name, rest = args[0], args[1:]
    module, command, _summary = COMMANDS[name]
    part = importlib.import_module(module)
    if command and not command.startswith("-"):  # the part's own subcommand: usage reads as ours
        return part.main([command, *rest], prog="stylescout")
    return part.main(([command] if command else []) + rest, prog=f"stylescout {name}")
