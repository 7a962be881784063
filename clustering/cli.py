"""`python -m clustering ...`: the style engine's command line."""

from __future__ import annotations

from collections.abc import Sequence

from store import Store
from store.cli_support import base_parser, config_from_args, run_cli

CURRENT_INDEX = "current"


def _main(argv: Sequence[str] | None) -> int:
    parser = base_parser("python -m clustering", "Build and query StyleScout's style clusters.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("stats", help="what the style index holds")
    args = parser.parse_args(argv)
    config = config_from_args(args)

    with Store.from_config(config) as store:
        images = store.stats().images
        current = store.index_dir / CURRENT_INDEX
        if not current.is_dir():
            print(f"no style index yet: {images} images in the store, none clustered")
            return 0
        print(f"style index at {current.resolve()} ({images} images in the store)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for `python -m clustering`."""
    return run_cli(_main, argv)
