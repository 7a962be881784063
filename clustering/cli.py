"""`python -m clustering build|recommend|evaluate|stats`: the style engine's command line."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from clustering.index import IndexMissingError, current_folder, load_index
from store import Config, Store, StyleScoutError
from store.cli_support import base_parser, config_from_args, run_cli


def _build(config: Config, store: Store) -> int:
    from clustering.build import build_index

    bars: dict[str, tqdm] = {}

    def show(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="img" if total > 1 else "")
        bar.update(done - bar.n)

    try:
        report, _ = build_index(config, store, progress=show)
    finally:
        for bar in bars.values():
            bar.close()
    if report.weights_note:
        print(f"WARNING: {report.weights_note}")
    print(report.summary())
    return 0


def _exclusions(store: Store, photos: list[str], distance: int) -> set[int]:
    """Stored images that are the query photos themselves (same bytes or a near-duplicate)."""
    import imagehash
    from PIL import Image

    out: set[int] = set()
    for photo in photos:
        data = Path(photo).read_bytes()
        same = store.image_id_by_sha(hashlib.sha256(data).hexdigest())
        if same is not None:
            out.add(same)
        try:
            phash = str(imagehash.phash(Image.open(io.BytesIO(data)).convert("RGB")))
        except OSError:
            continue
        out.update(i for i, _ in store.near_duplicates(phash, distance))
    return out


def _recommend(args: argparse.Namespace, config: Config, store: Store) -> int:
    from clustering.descriptors import embed_photos
    from clustering.features import FeatureExtractor
    from clustering.recommender import Recommender

    index = load_index(store.index_dir)
    missing = [p for p in args.photos if not Path(p).is_file()]
    if missing:
        raise StyleScoutError(f"no such photo: {missing[0]}")
    extractor = FeatureExtractor(config.features)
    if extractor.key != index.meta.feature_key:
        raise StyleScoutError(
            f"the index was built with {index.meta.feature_key} but the config "
            f"now gives {extractor.key}: run `python -m clustering build`"
        )
    vectors, failures = embed_photos(
        args.photos,
        extractor,
        config.features,
        index.mean,
        index.std,
        index.meta.colour_key is not None,
    )
    if failures:
        raise StyleScoutError(
            f"cannot read {args.photos[min(failures)]}: {failures[min(failures)]}"
        )
    recommender = Recommender(index, config.recommender)
    match = recommender.match(vectors)
    exclude = _exclusions(store, args.photos, config.scraper.near_duplicate_distance)
    profile = vectors.mean(axis=0)
    items = recommender.nearest(profile, args.k, exclude)
    popular = store.popular_images(args.k) if match.fallback else []
    rows = [
        {
            "id": n.image_id,
            "distance": round(n.distance, 4),
            "style": n.style_name,
            "tags": store.tags_of(n.image_id),
        }
        for n in items
    ]
    if args.json:
        print(
            json.dumps(
                {
                    "style": match.name,
                    "score": round(match.score, 4),
                    "fallback": match.fallback,
                    "items": rows,
                    "popular": popular,
                    "model_key": index.meta.model_key,
                    "random_weights": index.random_weights,
                }
            )
        )
        return 0
    if index.random_weights:
        print(f"WARNING: {index.meta.weights_note}")
    if match.fallback:
        print(
            f"no style is close enough (best score {match.score:.2f}); popular items: "
            f"{', '.join(map(str, popular))}"
        )
    else:
        print(f"your style: {match.name} (score {match.score:.2f})")
    for rank, row in enumerate(rows, start=1):
        print(
            f"{rank:3d}. image {row['id']:>6}  distance {row['distance']:.3f}  "
            f"{row['style']:<24} {' '.join('#' + t for t in row['tags'][:6])}"
        )
    return 0


def _evaluate(args: argparse.Namespace, config: Config, store: Store) -> int:
    from clustering.evaluate import evaluate

    result = evaluate(
        store, load_index(store.index_dir), args.label_column, config.clustering, args.k
    )
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{result['images']} images, {result['classes']} classes of {result['label_column']}, "
        f"model {result['model_key']} ({result['weights']})"
    )
    print(f"{'method':<26}{'P@' + str(result['k']):>8}{'purity':>9}{'NMI':>8}{'silhouette':>12}")
    for row in result["results"]:
        print(
            f"{row['method']:<26}{row['precision_at_k']:8.3f}{row['purity']:9.3f}"
            f"{row['nmi']:8.3f}{row['silhouette']:12.3f}"
        )
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
    if index.random_weights:
        print(f"  WARNING: {index.meta.weights_note}")
    for n, (name, size) in enumerate(zip(index.meta.names, index.sizes, strict=True), start=1):
        print(f"  {n:3d}. {name:<32} {size:6d} images")
    return 0


def _main(argv: Sequence[str] | None) -> int:
    parser = base_parser("python -m clustering", "Build and query StyleScout's style clusters.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="extract missing features, cluster, write the index")
    rec = sub.add_parser("recommend", help="your style and the nearest items for your photos")
    rec.add_argument("photos", nargs="+", metavar="PHOTO")
    rec.add_argument("--k", type=int, default=10, help="how many items (default 10)")
    rec.add_argument("--json", action="store_true", help="print one JSON object")
    ev = sub.add_parser("evaluate", help="quality against imported labels, with a baseline")
    ev.add_argument("--label-column", default="articleType")
    ev.add_argument("--k", type=int, default=10)
    ev.add_argument("--json", action="store_true")
    sub.add_parser("stats", help="what the style index holds")
    args = parser.parse_args(argv)
    config = config_from_args(args)
    with Store.from_config(config) as store:
        if args.command == "build":
            return _build(config, store)
        if args.command == "recommend":
            return _recommend(args, config, store)
        if args.command == "evaluate":
            return _evaluate(args, config, store)
        return _stats(store)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for `python -m clustering`."""
    return run_cli(_main, argv)
