"""Discover's logic without Dash: your style from your photos and the 10 nearest items, shaped by
your ratings (Rocchio), or the popular items when nothing matches."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from clustering.recommender import rocchio_profile
from dash_app.engine import Engine, LoadedIndex
from dash_app.uploads import upload_path
from store import Store

LIKED, DISLIKED = (4, 5), (1, 2)


@dataclass(frozen=True)
class ItemCard:
    """One recommended (or popular) item as the page shows it."""

    image_id: int
    sha256: str
    distance: float | None
    style_name: str | None
    tags: list[str]
    post_url: str | None
    caption: str | None
    rating: int | None


@dataclass(frozen=True)
class StyleCard:
    """The best-matching style."""

    style: int
    name: str
    score: float
    size: int
    representatives: list[str]  # sha256 of a few typical items
    top_tags: list[tuple[str, int]]


@dataclass
class Recommendation:
    """What Discover shows for the current photos and ratings."""

    items: list[ItemCard]
    style: StyleCard | None = None
    message: str = ""
    fallback: bool = False
    liked: int = 0
    disliked: int = 0
    problems: list[str] = field(default_factory=list)


def safe_link(url: str | None) -> str | None:
    """A post URL only when it is http(s): scraped `javascript:` and the like never become links."""
    if not url:
        return None
    parsed = urlparse(url)
    return url if parsed.scheme in ("http", "https") and parsed.netloc else None


def uploads_folder(store: Store) -> Path:
    """Where accepted uploads are kept (by hash)."""
    return store.cache_dir / "uploads"


def style_tags(loaded: LoadedIndex, store: Store, top: int = 6) -> list[list[tuple[str, int]]]:
    """Each style's most used tags (computed once per index)."""
    if "style_tags" not in loaded.derived:
        tags = store.tags_by_image()
        counters = [Counter() for _ in range(len(loaded.index.centroids))]
        for image_id, label in zip(loaded.index.ids, loaded.index.labels, strict=True):
            counters[int(label)].update(tags.get(int(image_id), []))
        loaded.derived["style_tags"] = [c.most_common(top) for c in counters]
    return loaded.derived["style_tags"]


def item_cards(
    store: Store,
    ids: list[int],
    ratings: dict[int, int],
    distances: dict[int, float] | None = None,
    styles: dict[int, str] | None = None,
) -> list[ItemCard]:
    """Cards for image ids, in the given order (ids no longer stored are left out)."""
    rows = store.cards(ids)
    distances, styles = distances or {}, styles or {}
    return [
        ItemCard(
            image_id=i,
            sha256=rows[i]["sha256"],
            distance=distances.get(i),
            style_name=styles.get(i),
            tags=rows[i]["tags"],
            post_url=safe_link(rows[i]["post_url"]),
            caption=rows[i]["caption"],
            rating=ratings.get(i),
        )
        for i in ids
        if i in rows
    ]


def _popular(store: Store, ratings: dict[int, int], message: str, k: int) -> Recommendation:
    ids = store.popular_images(k)
    return Recommendation(item_cards(store, ids, ratings), message=message, fallback=True)


def _photo_vectors(
    engine: Engine, loaded: LoadedIndex, photos: list[dict]
) -> tuple[np.ndarray, list[int], list[str]]:
    """Vectors of the person's photos, the catalogue ids among them, and what could not be used."""
    problems: list[str] = []
    item_ids = [int(p["id"]) for p in photos if p.get("kind") == "item" and p.get("id") is not None]
    found, item_vectors = loaded.vectors_of(item_ids)
    files: list[tuple[str, Path]] = []
    for image_id in set(item_ids) - set(found):  # stored after the last build
        row = engine.store.cards([image_id]).get(image_id)
        hit = engine.store.file_for_sha(row["sha256"]) if row else None
        if hit:
            files.append((row["sha256"], hit[0]))
        else:
            problems.append(f"catalogue item {image_id} is no longer stored")
    folder = uploads_folder(engine.store)
    for photo in photos:
        if photo.get("kind") == "upload":
            path = upload_path(folder, str(photo.get("sha256", "")))
            if path is None:
                problems.append(f"{photo.get('name') or 'a photo'} is no longer on the server")
            else:
                files.append((photo["sha256"], path))
                same = engine.store.image_id_by_sha(photo["sha256"])
                if same is not None:  # the photo is in the catalogue: do not recommend itself
                    item_ids.append(same)
    parts = [item_vectors] if len(item_vectors) else []
    if files:
        parts.append(engine.embed(loaded, files))
    vectors = np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
    return vectors, item_ids, problems


def recommend(engine: Engine, photos: list[dict], user_id: str | None) -> Recommendation:
    """Your style and the nearest items for `photos` (dicts with kind 'upload' + sha256, or kind
    'item' + id), shaped by the person's latest ratings."""
    store, cfg = engine.store, engine.config.recommender
    ratings = store.latest_ratings(user_id) if user_id else {}
    loaded = engine.loaded()
    if loaded is None:
        return _popular(
            store, ratings, "No style index yet: scrape a tag on the Scrape page first.", cfg.k
        )
    if not photos:
        return _popular(
            store,
            ratings,
            "Add photos of your own (or pick catalogue items) to find your style.",
            cfg.k,
        )
    vectors, query_ids, problems = _photo_vectors(engine, loaded, photos)
    if not len(vectors):
        result = _popular(store, ratings, "None of your photos could be used.", cfg.k)
        result.problems = problems
        return result
    match = loaded.recommender.match(vectors)
    liked_ids = [i for i, r in ratings.items() if r in LIKED]
    disliked_ids = [i for i, r in ratings.items() if r in DISLIKED]
    _, liked = loaded.vectors_of(sorted(liked_ids))
    _, disliked = loaded.vectors_of(sorted(disliked_ids))
    profile = rocchio_profile(vectors, liked, disliked, cfg)
    if match.fallback:
        result = _popular(
            store,
            ratings,
            f"No style matches your photos closely (best match {match.score:.2f}, "
            f"needs {cfg.match_threshold:.2f}): here are the popular items.",
            cfg.k,
        )
        result.problems = problems
        return result
    neighbours = loaded.recommender.nearest(profile, cfg.k, exclude=query_ids + disliked_ids)
    cards = item_cards(
        store,
        [n.image_id for n in neighbours],
        ratings,
        {n.image_id: n.distance for n in neighbours},
        {n.image_id: n.style_name for n in neighbours},
    )
    reps = loaded.index.meta.representatives[match.style][:4]
    rep_rows = store.cards(reps)
    style = StyleCard(
        style=match.style,
        name=match.name or f"style {match.style}",
        score=match.score,
        size=int(loaded.index.sizes[match.style]),
        representatives=[rep_rows[i]["sha256"] for i in reps if i in rep_rows],
        top_tags=style_tags(loaded, store)[match.style],
    )
    return Recommendation(
        cards,
        style=style,
        liked=len(liked),
        disliked=len(disliked),
        problems=problems,
    )
