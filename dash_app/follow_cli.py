"""`stylescout follow`: tags gathered on a schedule (dash_app/follow.py).

stylescout follow add boho --source mastodon,flickr --every 6
stylescout follow list
stylescout follow run            # what is due now: for cron, e.g. every 15 minutes
stylescout follow notices
stylescout follow remove boho
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from store import Store
from stylescout.cli import add_command, base_parser, config_from_args, require_store, run_cli
from stylescout.errors import InvalidTagError, UsageError
from stylescout.settings import Config
from stylescout.tags import normalise_tag


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = base_parser(prog, "Tags gathered on a schedule, and what their trends raise.")
    sub = parser.add_subparsers(dest="action", required=True)
    add = add_command(sub, "add", "follow a tag (or change how a followed tag is gathered)")
    add.add_argument("tag", help="the tag to follow")
    add.add_argument(
        "--source", help="comma-separated sources (default: the configured default source)"
    )
    add.add_argument(
        "--every", type=float, help="hours between runs (default: follow.every_hours, 6)"
    )
    add.add_argument(
        "--count", type=int, help="new images a run asks of each source (default: follow.count)"
    )
    remove = add_command(sub, "remove", "stop following a tag")
    remove.add_argument("tag")
    listing = add_command(sub, "list", "the followed tags, their last run and the next")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    run = add_command(sub, "run", "gather the followed tags that are due (for cron)")
    run.add_argument("--all", action="store_true", help="every followed tag, due or not")
    notices = add_command(sub, "notices", "what the followed tags' trends raised")
    notices.add_argument("--all", action="store_true", help="seen ones too")
    notices.add_argument("--seen", action="store_true", help="mark the ones shown as seen")
    notices.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _tag(raw: str) -> str:
    try:
        return normalise_tag(raw)
    except InvalidTagError as exc:
        raise UsageError(str(exc)) from None


def _add(args: argparse.Namespace, config: Config) -> int:
    from scraper.scrape import parse_sources

    tag = _tag(args.tag)
    every = config.follow.every_hours if args.every is None else args.every
    if not 0.25 <= every <= 24 * 28:
        raise UsageError(f"--every is 0.25 to 672 hours, not {every:g}")
    count = config.follow.count if args.count is None else args.count
    if not 1 <= count <= 100_000:
        raise UsageError(f"--count is 1 to 100000, not {count}")
    sources = parse_sources(args.source, config.scraping) if args.source else []
    with Store.from_config(config) as store:
        follow = store.follows.follow(tag, sources, every, count)
    where = ", ".join(follow.sources) or "the default source"
    print(
        f"following #{tag} from {where}, {count} images a source every {every:g} hours;"
        f" first run due {follow.next_run_at}"
    )
    return 0


def _list(args: argparse.Namespace, config: Config) -> int:
    with Store.from_config(config) as store:
        follows = store.follows.all()
    if args.json:
        print(json.dumps({"follows": [f.as_dict() for f in follows]}))
        return 0
    if not follows:
        print("no followed tags: stylescout follow add TAG")
        return 0
    for f in follows:
        last = (
            f"last run {f.last_run_at}: {f.last_status}, {f.last_message}"
            if f.last_run_at
            else "not run yet"
        )
        call = f", trends: {f.last_call}" if f.last_call else ""
        print(
            f"#{f.tag}  from {', '.join(f.sources) or 'the default source'}, every"
            f" {f.every_hours:g} h; {last}; next {f.next_run_at}{call}"
        )
    return 0


def _run(args: argparse.Namespace, config: Config) -> int:
    from dash_app.follow import run_due

    result = run_due(config, everything=args.all, say=print)
    if result.busy:
        return 3
    if not result.runs:
        print("nothing due")
    for notice in result.notices:
        print(f"notice ({notice.kind}): {notice.text}")
    return 1 if any(r.status == "failed" for r in result.runs) else 0


def _notices(args: argparse.Namespace, config: Config) -> int:
    with Store.from_config(config) as store:
        shown = store.follows.notices(unseen_only=not args.all, limit=100)
        if args.seen:
            store.follows.mark_seen([n.id for n in shown])
    if args.json:
        print(json.dumps({"notices": [n.__dict__ for n in shown]}))
        return 0
    if not shown:
        print("no notices")
    for n in shown:
        print(f"{n.created_at}  #{n.tag}  {n.kind}: {n.text}")
    return 0


def _main(argv: Sequence[str] | None, prog: str) -> int:
    args = _parser(prog).parse_args(argv)
    config = config_from_args(args)
    if args.action == "add":
        return _add(args, config)
    require_store(config)  # the others read or run what is there: they never make a store
    if args.action == "remove":
        with Store.from_config(config) as store:
            gone = store.follows.unfollow(_tag(args.tag))
        print(f"#{args.tag} is no longer followed" if gone else f"#{args.tag} was not followed")
        return 0
    if args.action == "list":
        return _list(args, config)
    if args.action == "notices":
        return _notices(args, config)
    return _run(args, config)


def main(argv: Sequence[str] | None = None, prog: str = "stylescout follow") -> int:
    """Entry point of `stylescout follow`."""
    return run_cli(lambda args: _main(args, prog), argv)
