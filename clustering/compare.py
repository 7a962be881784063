"""Backbones compared offline: `python -m clustering compare --backbones resnet50,densenet121`.

The study StyleScout comes from compared ResNet50 with DenseNet, ResNet-101 and Inception by what
people rated; offline, each backbone is scored on the same store against its imported labels:
leave-one-out precision@k per label column, NMI of its styles, how fast it extracts, its vector
size and the peak memory of the extraction (each backbone extracts in a fresh process, so the
figure is its own). Features are cached per model key in the store, so a second run extracts
nothing and takes seconds.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.metrics import normalized_mutual_info_score

from clustering.build import descriptors_of, extract_missing
from clustering.calibration import StoreCalibration
from clustering.evaluate import precision_at_k
from clustering.features import FeatureExtractor
from clustering.styles import cluster_styles
from store import Store
from stylescout.errors import StyleScoutError, UsageError
from stylescout.settings import EngineSettings
from stylescout.spawned import run_spawned

Progress = Callable[[str, int, int], None]
BACKBONES = ("resnet50", "resnet101", "densenet121", "inception_v3")


@dataclass
class BackboneScores:
    """One row of the comparison."""

    backbone: str
    model_key: str
    images: int
    dims: int
    extracted: int  # 0: every feature came from the cache
    images_per_s: float | None  # None when nothing was extracted this run
    peak_mb: float | None  # peak memory of the process that extracted (None: cached)
    precision_at_k: dict[str, float] = field(default_factory=dict)
    nmi: dict[str, float] = field(default_factory=dict)
    weights_note: str = ""


def _extract(config: EngineSettings, report: Callable[[int, int], None]) -> tuple:
    """Runs in a fresh process: extract what is missing for `config`'s backbone, reporting
    progress; returns (extracted, seconds, the process's peak memory in MB, the weights note)."""
    import resource

    with Store.from_config(config) as store:
        extractor = FeatureExtractor(config.features, calibration=StoreCalibration(store))
        extracted, _, seconds = extract_missing(
            store, extractor, lambda _stage, done, total: report(done, total)
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    return extracted, seconds, peak, extractor.weights_note or ""


def _extract_apart(
    config: EngineSettings, report: Callable[[int, int], None] | None, timeout_s: float = 7200
) -> tuple[int, float, float, str]:
    """`extract_missing` for one backbone in its own spawned process, so its peak memory is
    its own (TensorFlow keeps what earlier models took) and nothing of it stays behind."""
    extracted, seconds, peak, note = run_spawned(
        _extract, config, what="the extraction", on_progress=report, timeout_s=timeout_s
    )
    return int(extracted), float(seconds), float(peak), str(note)


def compare(
    config: EngineSettings,
    store: Store,
    backbones: Sequence[str],
    label_columns: Sequence[str],
    k: int = 10,
    progress: Progress | None = None,
) -> list[BackboneScores]:
    """Score each backbone on the store's labelled images (features extracted where missing)."""
    labels = {c: store.images.labels(c) for c in label_columns}
    missing = [c for c, found in labels.items() if not found]
    if missing:
        raise StyleScoutError(
            f"no image has a '{missing[0]}' label: import a labelled folder"
            " (stylescout import DIR) first"
        )
    rows = []
    for backbone in backbones:
        if backbone not in BACKBONES:
            raise UsageError(f"unknown backbone {backbone!r}; known: {', '.join(BACKBONES)}")
        cfg = config.model_copy(
            update={"features": config.features.model_copy(update={"backbone": backbone})}
        )
        # its key; the model is built in the child
        extractor = FeatureExtractor(cfg.features, calibration=StoreCalibration(store))
        report = None if progress is None else (lambda d, t, b=backbone: progress(b, d, t))
        if store.features.images_without_features(extractor.key):
            extracted, seconds, peak, note = _extract_apart(cfg, report)
        else:  # all cached: no process, no model
            extracted, seconds, peak, note = 0, 0.0, 0.0, extractor.weights_note or ""
        ids, vectors, *_ = descriptors_of(cfg, store, extractor.key)
        styles = cluster_styles(vectors, cfg.clustering)
        row = BackboneScores(
            backbone,
            extractor.key,
            len(ids),
            int(store.features.load_features(extractor.key)[1].shape[1]),
            extracted,
            extracted / seconds if extracted and seconds > 0 else None,
            peak if extracted else None,
            weights_note=note,
        )
        for column, label_of in labels.items():
            keep = np.array([int(i) in label_of for i in ids])
            if keep.sum() < k + 1:
                continue
            wanted = np.array([label_of[int(i)] for i in ids[keep]])
            row.precision_at_k[column] = precision_at_k(vectors[keep], wanted, k)
            row.nmi[column] = float(normalized_mutual_info_score(wanted, styles.labels[keep]))
        rows.append(row)
    return rows


def as_dicts(rows: list[BackboneScores]) -> list[dict]:
    return [asdict(r) for r in rows]


COMPARISON_FILE = "backbones.json"


def save_comparison(
    store: Store, rows: list[BackboneScores], columns: Sequence[str], k: int
) -> None:
    """The last comparison, in the store's cache folder, for the dashboard's Feedback page."""
    path = store.cache_dir / COMPARISON_FILE
    body = {
        "compared_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "label_columns": list(columns),
        "k": k,
        "rows": as_dicts(rows),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(body, indent=1), encoding="utf-8")
    temp.replace(path)  # a reader never sees half a file


def load_comparison(store: Store) -> dict | None:
    """The last saved comparison, or None."""
    path = store.cache_dir / COMPARISON_FILE
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) and isinstance(body.get("rows"), list) else None
