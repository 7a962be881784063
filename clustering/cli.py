"""`python -m clustering build|recommend|evaluate|stats`: the style engine's command line."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from clustering.index import IndexMissingError, current_folder, load_index
from clustering.trends.model import WINDOWS as TREND_WINDOWS
from clustering.trends.tables import VIEWS as TREND_VIEWS
from store import Store
from stylescout.cli import (
    add_command,
    base_parser,
    config_from_args,
    progress,
    require_store,
    run_cli,
)
from stylescout.errors import InvalidTagError, StyleScoutError, UsageError
from stylescout.settings import Config
from stylescout.tags import normalise_tag


def _build(config: Config, store: Store) -> int:
    from clustering.build import build_indexes

    bars: dict[str, tqdm] = {}

    def show(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = progress(total=total, desc=stage, unit="img" if total > 1 else "")
        bar.update(done - bar.n)

    try:
        reports = build_indexes(config.engine, store, progress=show)
    finally:
        for bar in bars.values():
            bar.close()
    for n, report in enumerate(reports):
        if report.weights_note and n == 0:
            print(f"WARNING: {report.weights_note}")
        print(("challenger " if n else "") + report.summary())
    return 0


def _recommend(args: argparse.Namespace, config: Config, store: Store) -> int:
    from clustering.engine import Engine
    from clustering.query import Photo

    missing = [p for p in args.photos if not Path(p).is_file()]
    if missing:
        raise UsageError(f"no such photo: {missing[0]}")
    photos = [Photo.from_file(p) for p in args.photos]
    ratings = store.ratings.latest_ratings(args.user) if args.user else {}
    engine = Engine(config.engine, store)  # the dashboard's serving engine: interleaving included
    try:
        served = engine.answer(photos, ratings, args.user, k=args.k)
    except (OSError, ValueError) as exc:
        raise StyleScoutError(f"cannot read one of the photos: {exc}") from None
    result, index = served.answer, served.loaded.index
    match = result.match
    cards = store.images.cards([n.image_id for n in served.neighbours])
    files = dict(store.images.image_files([n.image_id for n in served.neighbours]))
    rows = [
        {
            "id": n.image_id,
            "distance": round(n.distance, 4),
            "style": n.style_name,
            "tags": cards[n.image_id]["tags"],
            "sha256": cards[n.image_id]["sha256"],
            "file": str(files[n.image_id]),  # a path, or the URL of an image folder on S3
            "post_url": cards[n.image_id]["post_url"],
            "source": cards[n.image_id]["source"],
            "posted_at": cards[n.image_id]["posted_at"],
            "author": cards[n.image_id]["author"],
            "author_url": cards[n.image_id]["author_url"],
            "licence": cards[n.image_id]["licence"],
        }
        for n in served.neighbours
        if n.image_id in cards and n.image_id in files
    ]
    if args.json:
        print(
            json.dumps(
                {
                    "style": None if result.fallback else match.name,
                    "score": round(match.score, 4) if match else None,
                    "fallback": result.fallback,
                    "items": rows,
                    "popular": result.popular,
                    "liked": result.liked,
                    "disliked": result.disliked,
                    "model_key": index.meta.model_key,
                    "random_weights": index.random_weights,
                    "interleaved": served.interleaved,
                }
            )
        )
        return 0
    if index.random_weights:
        print(f"WARNING: {index.meta.weights_note}")
    if result.fallback:
        print(
            f"no style is close enough (best score {match.score:.2f}); popular items: "
            f"{', '.join(map(str, result.popular))}"
        )
    else:
        print(f"your style: {match.name} (score {match.score:.2f})")
    if result.liked or result.disliked:
        print(f"shaped by your ratings: {result.liked} liked, {result.disliked} disliked")
    if served.interleaved:
        print("two models' items mixed (recommender.interleave): your ratings say which is better")
    for rank, row in enumerate(rows, start=1):
        print(
            f"{rank:3d}. image {row['id']:>6}  distance {row['distance']:.3f}  "
            f"{row['style']:<24} {' '.join('#' + t for t in row['tags'][:6])}"
        )
    return 0


def _learned_split(args: argparse.Namespace, config: Config, store: Store) -> int:
    from clustering.evaluate import learned_split

    index = load_index(store.index_dir)
    columns = [c.strip() for c in (args.label_column or "").split(",") if c.strip()]
    split = (config.engine, store, index.meta.feature_key, args.learned_split)
    scoring = (columns or None, args.k, args.seed)
    result = learned_split(*split, *scoring)
    if args.blocks:
        from clustering.evaluate import block_ablation

        result["blocks"] = block_ablation(*split, *scoring)
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"learned on {result['learned_on']} images ({result['tagged']} tagged, {result['tags']} "
        f"tags), scored on the other {result['held_out']}; dims raw {result['dims']['raw']}, "
        f"learned {result['dims']['learned']}"
    )
    print(f"{'label column':<18}{'space':<9}{'P@' + str(result['k']):>7}{'purity':>8}{'NMI':>7}")
    for row in result["rows"]:
        print(
            f"{row['label_column']:<18}{row['space']:<9}{row['precision_at_k']:7.3f}"
            f"{row['purity']:8.3f}{row['nmi']:7.3f}"
        )
    if args.blocks:
        _print_blocks(result["blocks"], result["k"])
    return 0


def _print_blocks(rows: list[dict], k: int) -> None:
    """The ablation as a table: a descriptor per line, P@k per label column (change)."""
    columns = list(dict.fromkeys(r["label_column"] for r in rows))
    names = list(dict.fromkeys(r["descriptor"] for r in rows))
    cell = {(r["descriptor"], r["label_column"]): r for r in rows}
    print(f"\nlearned P@{k} without each block of the descriptor (change against every block)")
    print(f"{'descriptor':<26}" + "".join(f"{c[:14]:>16}" for c in columns))
    for name in names:
        parts = []
        for column in columns:
            row = cell[(name, column)]
            change = f" ({row['change']:+.3f})" if name != "every block" else ""
            parts.append(f"{row['precision_at_k']:.3f}{change}".rjust(16))
        print(f"{name:<26}" + "".join(parts))


def _trend_table(args: argparse.Namespace, store: Store) -> int:
    from clustering.trends import tables

    if not 1 <= args.top <= 300:
        raise UsageError(f"--top is 1 to 300 tags, not {args.top}")
    tags = []
    for raw in args.tag or []:
        try:
            tags.append(normalise_tag(raw))
        except InvalidTagError as exc:
            raise UsageError(str(exc)) from None
    known_sources = {s for _, s, _ in store.images.source_post_times()}
    if args.source is not None and args.source not in known_sources:
        names = ", ".join(sorted(known_sources)) or "none yet"
        raise UsageError(f"no posts from source {args.source!r} (sources: {names})")
    since = tables.since_weeks(store, args.weeks)
    if args.view == "sources":
        if len(tags) != 1:
            raise UsageError("--view sources needs one --tag")
        if args.source is not None:
            raise UsageError("--view sources shows every source: leave out --source")
        table = tables.sources_table(store, tags[0], since)
    elif args.view == "styles":
        if len(tags) > 1:
            raise UsageError("--view styles takes at most one --tag")
        index = load_index(store.index_dir)
        table = tables.styles_table(store, index, tags[0] if tags else None, args.source, since)
    elif args.view == "forecast":
        if args.source is not None:
            raise UsageError("--view forecast counts every source: leave out --source")
        table = tables.forecast_table(store, tags or None, args.top, since)
    elif args.view == "rising":
        table = tables.rising_table(store, tags or None, args.source, args.top, since)
    else:
        table = tables.interest_table(store, tags or None, args.source, args.top, since)
    if args.json:
        print(json.dumps(table.as_dict()))
    elif args.csv:
        tables.write_csv(table, sys.stdout)
    else:
        _print_table(table)
    for note in table.notes:
        if not args.json:
            print(note, file=sys.stderr)
    return 0


def _print_table(table: Any) -> None:
    """Rows as aligned text columns (for CSV or JSON, ask --csv or --json)."""
    if not table.rows:
        print(f"no rows for this {table.view} view")
        return
    cells = [[_text(row.get(c)) for c in table.columns] for row in table.rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(table.columns)]
    print("  ".join(c.ljust(w) for c, w in zip(table.columns, widths, strict=True)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _trends(args: argparse.Namespace, config: Config, store: Store) -> int:
    """`trends`: a view's table (`--view`), or `trends backtest`: each forecast method scored on
    the store's own weekly series."""
    if args.json and args.csv:
        raise UsageError("--json or --csv, not both")
    if args.action is None:
        return _trend_table(args, store)
    if args.tag or args.source or args.csv or args.weeks or args.view != "interest":
        raise UsageError("trends backtest takes --kind, --top, --horizon, --min-weeks and --json")
    from clustering.trends.backtest import METHODS, backtest, store_series

    if not 1 <= args.horizon <= 12:
        raise UsageError(f"--horizon is 1 to 12 weeks, not {args.horizon}")
    if args.min_weeks < 3:
        raise UsageError(f"--min-weeks must be at least 3, not {args.min_weeks}")
    kinds = ["tags", "sources", "styles"] if args.kind == "all" else [args.kind]
    out: dict[str, dict] = {}
    for kind in kinds:
        index = load_index(store.index_dir) if kind == "styles" else None
        series = store_series(store, kind, args.top, index)
        result = backtest(series.values(), args.horizon, args.min_weeks)
        out[kind] = {
            "series": result.series,
            "too_short": result.too_short,
            "best": {h: result.best(h) for h in range(1, args.horizon + 1)},
            "rows": result.rows(),
            "by_length": [
                {"lengths": bucket, **score.as_dict()}
                for (bucket, _, _), score in sorted(result.by_length.items())
            ],
        }
    if args.json:
        print(json.dumps(out))
        return 0
    for kind, result in out.items():
        print(
            f"{kind}: {result['series']} series scored, {result['too_short']} too short "
            f"(fewer than {args.min_weeks + 1} weeks, or never changing)"
        )
        if not result["series"]:
            continue
        print(f"  {'method':<7}{'weeks ahead':>12}{'MASE':>7}{'in 95% band':>13}{'direction':>11}")
        for method in METHODS:
            for row in (r for r in result["rows"] if r["method"] == method):
                print(
                    f"  {method:<7}{row['horizon']:>12}{row['mase']:7.2f}"
                    f"{row['coverage']:13.0%}{row['direction']:11.0%}"
                )
        best = result["best"][args.horizon]
        print(f"  best {args.horizon} weeks ahead: {best} (lowest MASE; below 1 beats last week)")
        for bucket in dict.fromkeys(r["lengths"] for r in result["by_length"]):
            at = [
                r
                for r in result["by_length"]
                if r["lengths"] == bucket and r["horizon"] == args.horizon and r["forecasts"]
            ]
            if at:
                top = min(at, key=lambda r: r["mase"])
                print(
                    f"  on series {bucket} long: {top['method']} (MASE {top['mase']:.2f},"
                    f" {top['forecasts']} forecasts)"
                )
    return 0


def _evaluate(args: argparse.Namespace, config: Config, store: Store) -> int:
    from clustering.evaluate import evaluate

    if args.blocks and args.learned_split is None:
        raise UsageError("--blocks needs --learned-split (e.g. --learned-split 0.5 --blocks)")
    if args.learned_split is not None:
        return _learned_split(args, config, store)
    column = (args.label_column or "articleType").split(",")[0].strip()
    result = evaluate(store, load_index(store.index_dir), column, config.clustering, args.k)
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{result['images']} images, {result['classes']} classes of {result['label_column']}, "
        f"model {result['model_key']} ({result['weights']})"
    )
    if result["space"].startswith("learned"):
        print(
            f"the index's {result['space']}, these labels among them: the scores are on the "
            "images it learned from (--learned-split 0.5 scores images it did not see)"
        )
    print(f"{'method':<26}{'P@' + str(result['k']):>8}{'purity':>9}{'NMI':>8}{'silhouette':>12}")
    for row in result["results"]:
        print(
            f"{row['method']:<26}{row['precision_at_k']:8.3f}{row['purity']:9.3f}"
            f"{row['nmi']:8.3f}{row['silhouette']:12.3f}"
        )
    return 0


def _compare(args: argparse.Namespace, config: Config, store: Store) -> int:
    from clustering.compare import as_dicts, compare, save_comparison

    backbones = [b.strip() for b in args.backbones.split(",") if b.strip()]
    columns = [c.strip() for c in args.label_column.split(",") if c.strip()]
    bars: dict[str, tqdm] = {}

    def show(backbone: str, done: int, total: int) -> None:
        bar = bars.setdefault(backbone, progress(total=total, desc=backbone, unit="img"))
        bar.update(done - bar.n)

    try:
        rows = compare(config.engine, store, backbones, columns, args.k, progress=show)
    finally:
        for bar in bars.values():
            bar.close()
    save_comparison(store, rows, columns, args.k)
    if args.json:
        print(json.dumps(as_dicts(rows)))
        return 0
    heads = [f"P@{args.k} {c}" for c in columns] + [f"NMI {c}" for c in columns]
    print(
        f"{'backbone':<14}" + "".join(f"{h:>18}" for h in heads) + f"{'img/s':>8}{'dims':>6}"
        f"{'peak MB':>9}"
    )
    for row in rows:
        cells = [row.precision_at_k.get(c) for c in columns] + [row.nmi.get(c) for c in columns]
        speed = "cached" if row.images_per_s is None else f"{row.images_per_s:.1f}"
        peak = "-" if row.peak_mb is None else f"{row.peak_mb:.0f}"
        print(
            f"{row.backbone:<14}"
            + "".join(f"{'-' if v is None else f'{v:.3f}':>18}" for v in cells)
            + f"{speed:>8}{row.dims:>6}{peak:>9}"
        )
    notes = {r.weights_note for r in rows if r.weights_note}
    for note in notes:
        print(f"note: {note}")
    return 0


def _export(args: argparse.Namespace, store: Store) -> int:
    from clustering.export import copy_images, export_rows, write_rows

    if args.format == "parquet" and not args.out:
        raise UsageError("--format parquet needs --out FILE")
    tag = normalise_tag(args.tag) if args.tag else None
    if tag is not None:
        known = [t for t, _ in store.images.tag_counts()]
        if tag not in known:
            close = difflib.get_close_matches(tag, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise UsageError(f"no image in the store has the tag '{tag}'{hint}")
    with progress(desc="reading", unit="img") as bar:

        def show(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        rows = list(export_rows(store, tag, args.source, args.style, progress=show))
    out = Path(args.out) if args.out else sys.stdout
    written = write_rows(rows, args.format, out)
    copied = copy_images(store, rows, Path(args.with_images)) if args.with_images else None
    where = args.out or "standard output"
    files = f"; {copied} files copied to {args.with_images}" if copied is not None else ""
    print(f"exported {written} images as {args.format} to {where}{files}", file=sys.stderr)
    return 0


def _stats(store: Store) -> int:
    images = store.stats().images
    folder = current_folder(store.index_dir)
    try:
        index = load_index(store.index_dir)
    except IndexMissingError:
        print(f"no style index yet: {images} images in the store, none clustered")
        return 0
    print(f"style index {folder} built {index.meta.built_at}")
    print(
        f"  model {index.meta.model_key}; {len(index.ids)} of {images} images; "
        f"{len(index.meta.names)} styles ({index.meta.cluster_path} path)"
    )
    print(f"  {index.meta.space_summary()}; search {index.meta.search}")
    if index.random_weights:
        print(f"  WARNING: {index.meta.weights_note}")
    for n, (name, size) in enumerate(zip(index.meta.names, index.sizes, strict=True), start=1):
        print(f"  {n:3d}. {name:<32} {size:6d} images")
    return 0


def _main(argv: Sequence[str] | None, prog: str) -> int:
    parser = base_parser(prog, "Build and query StyleScout's style clusters.")
    sub = parser.add_subparsers(dest="command", required=True)
    build = add_command(sub, "build", "extract missing features, cluster, write the index")
    weights_help = "auto, imagenet, none (random) or a .h5 file; overrides features.weights"
    build.add_argument("--weights", default=None, help=weights_help)
    build.add_argument(
        "--engine", choices=["local", "ray"], default=None, help="overrides features.engine"
    )
    build.add_argument(
        "--runtime",
        choices=["tensorflow", "openvino"],
        default=None,
        help="what runs the backbone; overrides features.runtime",
    )
    build.add_argument(
        "--precision",
        choices=["fp32", "int8", "bf16"],
        default=None,
        help="OpenVINO's arithmetic (int8: calibrated on the store); overrides features.precision",
    )
    build.add_argument("--address", default=None, help="a Ray cluster to join, e.g. auto")
    build.add_argument("--actors", type=int, default=None, help="Ray actors (features.ray_actors)")
    rec = add_command(sub, "recommend", "your style and the nearest items for your photos")
    rec.add_argument(
        "photos", nargs="+", metavar="PHOTO", help="image files of yours (JPEG, PNG, WebP, ...)"
    )
    rec.add_argument("--k", type=int, default=10, help="how many items (default 10)")
    rec.add_argument("--user", default=None, help="use this person's ratings (the dashboard's id)")
    rec.add_argument("--weights", default=None, help=weights_help)
    rec.add_argument("--json", action="store_true", help="print one JSON object")
    ev = add_command(sub, "evaluate", "quality against imported labels, with a baseline")
    ev.add_argument(
        "--label-column",
        default=None,
        help="label column(s), comma-separated (default: articleType; with --learned-split: all)",
    )
    ev.add_argument("--k", type=int, default=10, help="neighbours scored per image (default 10)")
    ev.add_argument(
        "--learned-split",
        type=float,
        default=None,
        metavar="SHARE",
        help="learn the space on this share of the labelled images, score raw against learned "
        "on the rest",
    )
    ev.add_argument("--seed", type=int, default=7, help="of the --learned-split draw")
    ev.add_argument(
        "--blocks",
        action="store_true",
        help="with --learned-split: also score the descriptor without each of its blocks "
        "(colour, the garment's shape, mask, geometry and colour)",
    )
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    cmp = add_command(sub, "compare", "backbones scored on the same labelled store")
    cmp.add_argument(
        "--backbones",
        default="resnet50,resnet101,densenet121,inception_v3",
        help="comma-separated (default: all four)",
    )
    cmp.add_argument(
        "--label-column",
        default="articleType,baseColour",
        help="label column(s), comma-separated (default: articleType,baseColour)",
    )
    cmp.add_argument("--k", type=int, default=10, help="neighbours scored per image (default 10)")
    cmp.add_argument("--json", action="store_true", help="print one JSON object")
    tr = add_command(
        sub,
        "trends",
        "the numbers behind the Trends page (interest, rising list, sites side by side, forecasts,"
        " styles) as CSV or JSON, or the forecasts scored on past weeks (backtest)",
    )
    tr.add_argument(
        "action",
        nargs="?",
        choices=["backtest"],
        help="backtest: score every forecast method on past weeks (default: print a view's table)",
    )
    tr.add_argument(
        "--tag",
        action="append",
        help="a tag (repeatable; default: the most used, or every post for --view styles)",
    )
    tr.add_argument("--source", help="only posts seen on this source (default: all)")
    tr.add_argument(
        "--view",
        choices=list(TREND_VIEWS),
        default="interest",
        help="interest (0-100 of the peak share), rising (last 3 weeks against the 3 before),"
        " sources (one tag on each site), forecast (with its track record) or styles"
        " (default: interest)",
    )
    tr.add_argument(
        "--weeks",
        type=int,
        choices=list(TREND_WINDOWS),
        help="only the last N weeks of posts (default: every week)",
    )
    tr.add_argument("--csv", action="store_true", help="print CSV rows (default: a table)")
    tr.add_argument(
        "--kind",
        choices=["tags", "sources", "styles", "all"],
        default="all",
        help="backtest: which series: the top tags', each of them on each source, the styles',"
        " or all three (default)",
    )
    tr.add_argument(
        "--top", type=int, default=12, help="tags scored or shown (the most used; default 12)"
    )
    tr.add_argument("--horizon", type=int, default=4, help="backtest: weeks ahead (default 4)")
    tr.add_argument(
        "--min-weeks",
        type=int,
        default=6,
        help="backtest: weeks of history before a forecast (default 6)",
    )
    tr.add_argument("--json", action="store_true", help="print one JSON object")
    add_command(sub, "styles", "what the style index holds", aliases=["stats"])
    exp = add_command(sub, "export", "the store, a tag, a source or a style as rows of data")
    exp.add_argument(
        "--format",
        choices=["csv", "jsonl", "parquet"],
        default="csv",
        help="csv (default), jsonl (one JSON object a line) or parquet (needs make setup-scale)",
    )
    exp.add_argument(
        "--out", metavar="FILE", help="write here (default: standard output; parquet needs it)"
    )
    exp.add_argument("--tag", default=None, help="only images with this tag")
    exp.add_argument("--source", default=None, help="only images seen on this source")
    exp.add_argument("--style", default=None, help="only this style: its number or its name")
    exp.add_argument(
        "--with-images", metavar="DIR", default=None, help="also copy the files, named by style"
    )
    args = parser.parse_args(argv)
    config = config_from_args(args)
    if getattr(args, "weights", None):
        features = config.features.model_copy(update={"weights": args.weights})
        config = config.model_copy(update={"features": features})
    overrides = {
        key: value
        for key, value in (
            ("engine", getattr(args, "engine", None)),
            ("runtime", getattr(args, "runtime", None)),
            ("precision", getattr(args, "precision", None)),
            ("ray_address", getattr(args, "address", None)),
            ("ray_actors", getattr(args, "actors", None)),
        )
        if value is not None
    }
    if overrides:
        if overrides.get("ray_actors", 1) < 1:
            raise UsageError(f"--actors must be at least 1, not {overrides['ray_actors']}")
        features = config.features.model_copy(update=overrides)
        if features.runtime == "tensorflow" and features.precision != "fp32":
            raise UsageError(
                f"precision {features.precision} needs the openvino runtime, not tensorflow"
            )
        config = config.model_copy(update={"features": features})
    if getattr(args, "k", 10) < 1:
        raise UsageError(f"--k must be at least 1, not {args.k}")
    require_store(config)  # every command here works on a store that has images
    with Store.from_config(config) as store:
        if args.command == "build":
            return _build(config, store)
        if args.command == "recommend":
            return _recommend(args, config, store)
        if args.command == "evaluate":
            return _evaluate(args, config, store)
        if args.command == "compare":
            return _compare(args, config, store)
        if args.command == "export":
            return _export(args, store)
        if args.command == "trends":
            return _trends(args, config, store)
        return _stats(store)


def main(argv: Sequence[str] | None = None, prog: str = "python -m clustering") -> int:
    """Entry point for `python -m clustering`."""
    return run_cli(lambda args: _main(args, prog), argv)
