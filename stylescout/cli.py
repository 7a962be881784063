"""What every StyleScout command line shares: --config/--data-dir, logging, one-line errors."""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, Protocol

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from stylescout.errors import StyleScoutError, UsageError
from stylescout.loader import load_config
from stylescout.settings import Config, StorePlace

EXIT_FAILURES = 1  # done, with failures (some images, some source)
EXIT_USAGE = 2  # an argument, a setting or a value that cannot be taken; nothing was done
EXIT_COULD_NOT_RUN = 3  # the command could not run (store, site, index, server)
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141  # the reader of the output went away (`... | head`), as a shell reports it


def human_bytes(n: int) -> str:
    """Sizes as people read them: '0 B', '2.0 KB', '5.0 GB'."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def _common_options(parser: argparse.ArgumentParser, after_command: bool) -> None:
    """--config, --data-dir and -v. After a subcommand they default to 'not given', so a value
    given before the subcommand is not overwritten by the subcommand's default."""
    unset = argparse.SUPPRESS if after_command else None
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=unset,
        help="settings file (default: $STYLESCOUT_CONFIG, else ./config.yaml, else"
        " config.yaml in the user config folder)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="PATH",
        default=unset,
        help="data folder, overriding the config's data_dir",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS if after_command else False,
        help="log debug messages",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS if after_command else False,
        help="only warnings, errors and the results: no progress bars",
    )


_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)")


class Parser(argparse.ArgumentParser):
    """argparse, with "did you mean" for a mistyped subcommand or choice."""

    def error(self, message: str) -> NoReturn:
        found = _INVALID_CHOICE.search(message)
        if found:
            choices = [c.strip().strip("'") for c in found.group(2).split(",")]
            close = difflib.get_close_matches(found.group(1), choices, n=1)
            if close:
                message += f"; did you mean '{close[0]}'?"
        super().error(message)


def base_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every command takes."""
    parser = Parser(prog=prog, description=description)
    _common_options(parser, after_command=False)
    return parser


_quiet = False


def progress(**options: Any) -> tqdm:
    """A progress bar on stderr, off with -q; log lines are written above the bars."""
    options["disable"] = bool(options.get("disable")) or _quiet
    return tqdm(**options)


def note(message: str) -> None:
    """A line for the person watching, not a result: on stderr above the progress bars (so
    standard output holds only results), and not at all with -q."""
    if not _quiet:
        tqdm.write(message, file=sys.stderr)


def add_command(
    subparsers: argparse._SubParsersAction, name: str, summary: str, aliases: Sequence[str] = ()
) -> argparse.ArgumentParser:
    """A subcommand that takes the common options after its name too (`scrape --data-dir X`)."""
    common = Parser(add_help=False)
    _common_options(common, after_command=True)
    description = summary[0].upper() + summary[1:] + "."
    return subparsers.add_parser(
        name, help=summary, description=description, parents=[common], aliases=list(aliases)
    )


def setup_logging(args: argparse.Namespace) -> None:
    """Log at INFO, DEBUG with -v, WARNING with -q (which also hides the progress bars)."""
    global _quiet
    _quiet = bool(getattr(args, "quiet", False))
    level = logging.DEBUG if args.verbose else logging.WARNING if _quiet else logging.INFO
    logging.getLogger().setLevel(level)


def config_from_args(args: argparse.Namespace) -> Config:
    """Set up logging for -v and load the settings: the file --config names (or the one found
    as `stylescout.loader` says), the environment, and --data-dir over both."""
    setup_logging(args)
    return load_config(args.config, args.data_dir)


def require_store(config: StorePlace) -> None:
    """Commands that read a store refuse one that is not there, instead of creating an empty
    one (a mistyped --data-dir, or a command run from another folder)."""
    if config.store.url is None and not config.data_dir.is_dir():
        raise UsageError(
            f"no store at {config.data_dir}: give the --data-dir of an existing store (or set"
            " data_dir); a scrape or an import makes a new one"
        )


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run a CLI entry point; known errors become one line on stderr and exit code 2 (usage)
    or 3 (could not run)."""
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")  # when nothing logs yet
    try:
        with logging_redirect_tqdm():  # log lines above the progress bars, not through them
            return main(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StyleScoutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_COULD_NOT_RUN
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `stylescout export | head`: stop quietly, as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush must not fail too
        os.close(devnull)
        return EXIT_PIPE_CLOSED


class Stoppable(Protocol):
    def stop(self) -> None: ...


def serve_until_interrupted(server: Stoppable) -> None:
    """Block until Ctrl-C, then stop the server (the demo feed's or the dashboard's)."""
    stop = threading.Event()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
