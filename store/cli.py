"""`python -m store check|stats|copy|users`: verify, summarise and move the store; accounts."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict

from store.check import check_store
from store.copy import copy_database
from store.local_store import Store
from stylescout.cli import (
    add_command,
    base_parser,
    config_from_args,
    human_bytes,
    progress,
    require_store,
    run_cli,
)
from stylescout.errors import StyleScoutError, UsageError
from stylescout.settings import Config


def _main(argv: Sequence[str] | None, prog: str) -> int:
    parser = base_parser(prog, "Check or summarise the StyleScout store.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = add_command(sub, "check", "verify database, files and hashes")
    check.add_argument(
        "--repair",
        action="store_true",
        help="remove orphan temp files and files with no row; close abandoned runs",
    )
    check.add_argument("--no-hash", action="store_true", help="skip re-hashing every file")
    stats = add_command(sub, "stats", "print counts")
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    copy = add_command(sub, "copy", "copy the database into another (e.g. PostgreSQL)")
    copy.add_argument(
        "--to", required=True, help="postgresql://user@host/db or a SQLite file; must be empty"
    )
    users = add_command(sub, "users", "accounts for a shared dashboard: add, passwd, remove, list")
    users.add_argument(
        "action",
        choices=["add", "passwd", "remove", "list"],
        help="add an account, set its password, remove it (signing it out), or list them",
    )
    users.add_argument("name", nargs="?", help="the account (add, passwd, remove)")
    users.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    args = parser.parse_args(argv)
    config = config_from_args(args)
    if args.command in {"check", "stats", "copy"} or getattr(args, "action", None) == "list":
        require_store(config)  # reading: never create an empty store

    with Store.from_config(config) as store:
        if args.command == "copy":
            return _copy(config, store, args.to)
        if args.command == "users":
            return _users(store, args)
        if args.command == "check":
            total = store.stats().images
            with progress(total=total, desc="checking", unit="img", disable=total < 500) as bar:
                report = check_store(
                    store, repair=args.repair, verify_hashes=not args.no_hash, progress=bar.update
                )
            print(f"store {config.data_dir} (database {store.location})")
            print(f"  image files: {store.images_location}")
            for line in store.recovered:
                print(f"  recovered: {line}")
            for line in report.lines():
                print(f"  {line}")
            print(
                "OK: the store is consistent"
                if report.clean
                else "PROBLEMS found"
                + ("" if args.repair else ": run `stylescout check --repair` for orphans")
            )
            return 0 if report.clean else 1

        summary = store.stats()
        if args.json:
            print(json.dumps(asdict(summary), sort_keys=True))
            return 0
        runs = ", ".join(f"{k} {v}" for k, v in summary.scrape_runs.items() if v) or "none"
        print(f"store {config.data_dir} (database {store.location})")
        print(f"  images: {summary.images} ({human_bytes(summary.image_bytes)})")
        print(f"  tags: {summary.tags} distinct on {summary.tagged} images")
        print(f"  sources: {', '.join(f'{s} {n}' for s, n in summary.sources.items()) or 'none'}")
        print(f"  scrape runs: {runs}")
        print(f"  users: {summary.users}, ratings: {summary.ratings}")
        if summary.top_tags:
            print(f"  top tags: {', '.join(f'#{t} {n}' for t, n in summary.top_tags)}")
        return 0


def _password(from_stdin: bool) -> str:
    """The new password: one line of standard input, or typed twice at a prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise StyleScoutError("the two passwords differ")
    return first


def _users(store: Store, args: argparse.Namespace) -> int:
    if args.action == "list":
        for name in store.accounts.names():
            print(name)
        return 0
    if not args.name:
        raise StyleScoutError(f"users {args.action} needs an account name")
    if args.action == "remove":
        store.accounts.remove(args.name)
        print(f"removed account {args.name}")
    elif args.action == "add":
        store.accounts.add(args.name, _password(args.password_stdin))
        print(f"added account {args.name}")
    else:
        store.accounts.set_password(args.name, _password(args.password_stdin))
        print(f"new password for {args.name}")
    return 0


def _copy(config: Config, store: Store, url: str) -> int:
    """Copy the rows; the image files are shared, so switching is a change of store.url."""
    with Store(
        config.data_dir,
        config.store.busy_timeout_ms,
        url,
        store.images_location,
        config.store.images_options,
    ) as target:
        if target.location == store.location:
            raise UsageError("--to names the store being copied: give another database")
        summary = store.stats()
        total = summary.images + summary.posts + summary.ratings  # the bulk of the rows
        with progress(desc="copying rows", unit="row", disable=total < 5000) as bar:
            counts = copy_database(store.db, target.db, lambda _, n: bar.update(n))
        print(f"copied {store.location} into {target.location}")
        print("  " + ", ".join(f"{table} {n}" for table, n in counts.items()))
        print("  to use it: set store.url (or STYLESCOUT_STORE_URL) to the address given to --to")
    return 0


def main(argv: Sequence[str] | None = None, prog: str = "python -m store") -> int:
    """Entry point for `python -m store`."""
    return run_cli(lambda args: _main(args, prog), argv)
