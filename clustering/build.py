"""`python -m clustering build`: extract what is missing, cluster, name, write the index."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from clustering.calibration import StoreCalibration
from clustering.colour import colour_histogram, colour_key
from clustering.descriptors import combine, standardisation
from clustering.features import FeatureExtractor
from clustering.garment import (
    block_weights,
    garment_key,
    garment_vector,
    weighted_blocks,
    weights_key,
)
from clustering.images import load_rgb
from clustering.index import IndexMeta, StyleIndex, save_index
from clustering.learned_space import LearnedSpace, image_tags, learn_space, project, tag_set
from clustering.search import wants_faiss
from clustering.styles import cluster_styles, name_styles, representatives
from store import Store
from stylescout.errors import StyleScoutError
from stylescout.settings import EngineSettings

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    model_key: str
    extracted: int
    extract_seconds: float
    skipped: int
    images: int
    styles: int
    cluster_path: str
    seconds: float
    weights_note: str
    space: str = "raw space"
    search: str = "exact (numpy)"

    def summary(self) -> str:
        rate = self.extracted / self.extract_seconds if self.extract_seconds > 0 else 0.0
        search = "" if self.search == "exact (numpy)" else f", search {self.search}"
        return (
            f"model {self.model_key}: extracted {self.extracted} ({rate:.1f} images/s), "
            f"skipped {self.skipped} unreadable, {self.images} images in {self.styles} styles "
            f"({self.cluster_path} path), {self.space}{search}, in {self.seconds:.1f} s"
        )


COLOUR_CHUNK = 256  # colour histograms saved per this many images


def _colour_features(store: Store, config: EngineSettings, progress: Progress | None) -> None:
    cfg = config.features.colour
    _side_features(
        store, colour_key(cfg), lambda p: colour_histogram(load_rgb(p), cfg), "colour", progress
    )


def _garment_features(store: Store, config: EngineSettings, progress: Progress | None) -> None:
    cfg = config.features.garment
    _side_features(
        store, garment_key(cfg), lambda p: garment_vector(load_rgb(p), cfg), "garment", progress
    )


def _side_features(
    store: Store,
    key: str,
    compute: Callable[[object], np.ndarray],
    stage: str,
    progress: Progress | None,
) -> None:
    """Features computed from each image file beside the model's (colour, the garment's
    blocks), cached in the store under `key` for the images that have none yet."""
    todo = store.features.images_without_features(key)
    if not todo:
        return

    def one(item: tuple[int, object]) -> tuple[int, np.ndarray | None, str]:
        image_id, path = item
        try:
            return image_id, compute(path), ""
        except Exception as exc:  # reported, never fatal
            return image_id, None, f"{type(exc).__name__}: {exc}"[:300]

    done: list[tuple[int, np.ndarray]] = []
    failures: dict[int, str] = {}

    def save() -> None:  # as it goes, like the model's features: a stopped build keeps its work
        if done:
            store.features.save_features(key, [i for i, _ in done], np.stack([v for _, v in done]))
        if failures:
            store.features.save_feature_failures(key, failures)
        done.clear()
        failures.clear()

    with ThreadPoolExecutor(max_workers=2) as pool:
        for n, (image_id, vector, error) in enumerate(pool.map(one, todo), start=1):
            if vector is None:
                failures[image_id] = error
            else:
                done.append((image_id, vector))
            if n % COLOUR_CHUNK == 0 or n == len(todo):
                save()
                if progress:
                    progress(stage, n, len(todo))


def extract_missing(
    store: Store, extractor: FeatureExtractor, progress: Progress | None = None
) -> tuple[int, int, float]:
    """Features for stored images that have none for this model; (extracted, failed, seconds)."""
    todo = store.features.images_without_features(extractor.key)
    started = time.perf_counter()
    done = 0
    chunk = extractor.cfg.batch_size * 8  # saved as it goes: an interrupted build keeps its work
    failed = 0
    for start in range(0, len(todo), chunk):
        part = todo[start : start + chunk]
        result = extractor.extract([p for _, p in part])
        if result.ok:
            store.features.save_features(
                extractor.key, [part[i][0] for i in result.ok], result.vectors
            )
        if result.failures:
            store.features.save_feature_failures(
                extractor.key, {part[i][0]: why for i, why in result.failures.items()}
            )
            for i, why in result.failures.items():
                log.warning("skipped image %d: %s", part[i][0], why)
        done += len(part)
        failed += len(result.failures)
        if progress:
            progress("features", done, len(todo))
    return done - failed, failed, time.perf_counter() - started


def descriptors_of(
    config: EngineSettings, store: Store, feature_key: str, progress: Progress | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str | None]:
    """(ids, vectors, mean, std, colour key) of the stored features of one model, standardised
    and joined to the colour part as the index holds them (colour extracted where missing)."""
    cnn_ids, cnn = store.features.load_features(feature_key)
    ids = cnn_ids
    if len(ids) == 0:
        raise StyleScoutError("the store has no readable images: scrape or import some first")
    colour, ckey, garment = None, None, None
    sides: list[tuple[str, str]] = []  # (which, cache key) of the parts beside the model's
    if config.features.colour.enabled and config.features.colour.weight > 0:
        _colour_features(store, config, progress)
        ckey = colour_key(config.features.colour)
        sides.append(("colour", ckey))
    if config.features.garment.enabled:
        _garment_features(store, config, progress)
        sides.append(("garment", garment_key(config.features.garment)))
    loaded = {which: store.features.load_features(key) for which, key in sides}
    for side_ids, _ in loaded.values():  # images with every part
        ids = np.intersect1d(ids, side_ids)
    cnn = cnn[np.searchsorted(cnn_ids, ids)]
    parts = {w: v[np.searchsorted(i, ids)] for w, (i, v) in loaded.items()}
    colour = parts.get("colour")
    if "garment" in parts:
        garment = weighted_blocks(parts["garment"], block_weights(config.features.garment))
    mean, std = standardisation(cnn, config.features.standardise)
    vectors = combine(cnn, colour, mean, std, config.features.colour.weight, garment)
    return ids, vectors, mean, std, ckey


def build_index(
    config: EngineSettings,
    store: Store,
    extractor: FeatureExtractor | None = None,
    progress: Progress | None = None,
    index_dir: Path | None = None,
    derive: bool = True,
) -> tuple[BuildReport, StyleIndex]:
    """Bring features up to date, cluster them into styles and swap in the new index (in
    `index_dir`, the store's main index folder by default), with the views the Trends page
    shows of it worked out once here (`derive`: the emerging looks and the regions whose share
    rises or falls), not on every page view."""
    started = time.perf_counter()
    extractor = extractor or FeatureExtractor(config.features, calibration=StoreCalibration(store))
    if config.features.engine == "ray":
        from clustering.ray_extract import extract_missing_ray

        extracted, _, extract_seconds = extract_missing_ray(
            store, config.features, extractor.key, progress, extractor.model_files
        )
    else:
        extracted, _, extract_seconds = extract_missing(store, extractor, progress)
    ids, vectors, mean, std, ckey = descriptors_of(config, store, extractor.key, progress)
    if progress:
        progress("clustering", 0, 1)
    tags = store.images.tags_by_image()
    learned, space_note = None, ""
    if config.features.space == "learned":
        learned, space_note = _learned_space(config, store, ids, vectors, tags)
        if learned is not None:
            vectors = project(learned, vectors)
    styles = cluster_styles(vectors, config.clustering)
    names = name_styles(styles.labels, [tags.get(int(i), []) for i in ids])
    garment = config.features.garment
    model_key = extractor.key + garment_part(config)
    model_key += f"+{ckey}x{config.features.colour.weight:g}" if ckey else ""
    meta = IndexMeta(
        model_key=model_key + (f"+{learned.key()}" if learned else ""),
        feature_key=extractor.key,
        colour_key=ckey,
        colour_weight=config.features.colour.weight if ckey else 0.0,
        garment_key=garment_key(garment) if garment.enabled else None,
        garment_weights=block_weights(garment) if garment.enabled else {},
        weights_note=extractor.weights_note,
        names=names,
        representatives=representatives(vectors, styles, ids, config.clustering.representatives),
        cluster_path=styles.path,
        skipped=len(store.features.feature_failures(extractor.key)),
        space="learned" if learned else "raw",
        learned_images=learned.images if learned else 0,
        learned_tags=learned.tags if learned else 0,
        space_note=space_note,
        raw_weight=learned.raw_weight if learned else 0.0,
        space_colour_dims=learned.colour_dims if learned else 0,
        space_colour_weight=learned.colour_weight if learned else 0.0,
    )
    index = StyleIndex(
        ids=ids.astype(np.int64),
        vectors=vectors,
        labels=styles.labels,
        centroids=styles.centroids,
        linkage=styles.linkage,
        mean=mean,
        std=std,
        meta=meta,
        learned=learned,
    )
    if progress and wants_faiss(len(ids), config.search):
        progress("search index", 0, 1)
    derived = None
    if derive:
        from clustering.trends.model import emerging_looks, saved_looks
        from clustering.trends.regions import find_regions

        if progress:
            progress("trends", 0, 1)
        try:
            looks = emerging_looks(store, ids, vectors, config.clustering)
            regions = find_regions(store, ids, vectors, config.clustering)
            derived = {
                "emerging_looks": saved_looks(looks),
                "regions": [r.to_json() for r in regions],
            }
        except Exception:  # the styles are built: the Trends page works these out itself
            log.exception("build: the emerging looks and regions could not be worked out")
    folder, meta = save_index(index, index_dir or store.index_dir, config.search, derived)
    index = replace(index, meta=meta, folder=folder)
    if progress:
        progress("clustering", 1, 1)
    report = BuildReport(
        meta.model_key,
        extracted,
        extract_seconds,
        meta.skipped,
        len(ids),
        len(names),
        styles.path,
        time.perf_counter() - started,
        extractor.weights_note,
        meta.space_summary(),
        meta.search,
    )
    return report, index


def garment_part(config: EngineSettings) -> str:
    """The garment's blocks in a model key (`+garment-v1-128px-hog64@s1.2m1g0.3c0`), or ''."""
    cfg = config.features.garment
    return f"+{garment_key(cfg)}@{weights_key(block_weights(cfg))}" if cfg.enabled else ""


def colour_part(config: EngineSettings) -> tuple[int, float]:
    """(dimensions, weight) of the colour part at the end of the descriptor; (0, 0) when off."""
    colour = config.features.colour
    return (colour.bins**3, colour.weight) if colour.enabled and colour.weight > 0 else (0, 0.0)


def _learned_space(
    config: EngineSettings,
    store: Store,
    ids: np.ndarray,
    vectors: np.ndarray,
    tags: dict[int, list[str]],
) -> tuple[LearnedSpace | None, str]:
    """The space learned from every image's tags, labels and ratings, or why there is none."""
    cfg = config.features.learning
    per_image = image_tags(
        [int(i) for i in ids], tags, store.images.labels_by_image(), store.ratings.liked_by_user()
    )
    learned = learn_space(vectors, tag_set(per_image, cfg), cfg, *colour_part(config))
    if isinstance(learned, str):
        log.warning("the raw space is used: %s", learned)
        return None, learned
    return learned, ""


def build_indexes(
    config: EngineSettings, store: Store, progress: Progress | None = None
) -> list[BuildReport]:
    """The main index and, with `recommender.interleave` on, the challenger's (its own
    backbone, the same clustering; its progress stages are named "challenger ..."), each
    swapped in when done."""
    reports = [build_index(config, store, progress=progress)[0]]
    if config.recommender.interleave.enabled:
        challenger = config.challenger()
        tell = None if progress is None else (lambda s, d, t: progress(f"challenger {s}", d, t))
        dir_b = store.challenger_index_dir
        built = build_index(challenger, store, progress=tell, index_dir=dir_b, derive=False)
        reports.append(built[0])
    return reports


def rebuild(config: EngineSettings, report: Progress) -> str:
    """Every index rebuilt, as a spawned process runs it for the dashboard (this module is what
    that process imports, so it starts without the dashboard's own modules); one line back."""
    with Store.from_config(config) as store:
        reports = build_indexes(config, store, progress=report)
    for each in reports:
        log.info("dashboard build: %s", each.summary())
    main = reports[0]
    return (
        f"the styles were rebuilt: {main.images} images in {main.styles} styles, "
        f"{main.extracted} new features, in {main.seconds:.0f} s"
    )
