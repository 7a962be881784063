"""Discover's logic without Dash: the page's photos and the person's ratings go through the one
query path (`clustering.query`), and its answer becomes cards: your style, the 10 nearest items, or
the popular items when nothing matches."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from clustering.engine import Engine, LoadedIndex
from clustering.query import Photo
from dash_app.web.auth import current_person
from dash_app.web.inputs import ItemPhoto, PhotoEntry
from dash_app.web.uploads import upload_path
from store import Store

log = logging.getLogger(__name__)


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
    author: str | None = None  # the credit, as the first post gave it
    author_url: str | None = None  # http(s) only
    licence: str | None = None  # an identifier of stylescout.licences


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
    interleaved: bool = False  # two models' items mixed (recommender.interleave)


def safe_link(url: str | None) -> str | None:
    """A post URL only when it is http(s): scraped `javascript:` and the like never become links."""
    if not url:
        return None
    parsed = urlparse(url)
    return url if parsed.scheme in ("http", "https") and parsed.netloc else None


def uploads_folder(store: Store) -> Path:
    """Where accepted uploads are kept (by hash): one folder per signed-in person, so nobody's
    photos are found through another account; the shared one on a local dashboard."""
    person = current_person()
    base = store.cache_dir / "uploads"
    return base if person is None else base / person.user_id


def style_tags(loaded: LoadedIndex, store: Store, top: int = 6) -> list[list[tuple[str, int]]]:
    """Each style's most used tags (computed once per index)."""
    if "style_tags" not in loaded.derived:
        tags = store.images.tags_by_image()
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
    rows = store.images.cards(ids)
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
            author=rows[i]["author"],
            author_url=safe_link(rows[i]["author_url"]),
            licence=rows[i]["licence"],
        )
        for i in ids
        if i in rows
    ]


def _popular(store: Store, ratings: dict[int, int], message: str, ids: list[int]) -> Recommendation:
    return Recommendation(item_cards(store, ids, ratings), message=message, fallback=True)


def query_photos(engine: Engine, photos: Sequence[PhotoEntry]) -> list[Photo]:
    """The page's validated photo entries as the query's photos: uploads by hash (kept in the
    person's uploads folder; no path when it is not there), catalogue items by id."""
    folder = uploads_folder(engine.store)
    return [
        Photo.item(photo.id)
        if isinstance(photo, ItemPhoto)
        else Photo(sha256=photo.sha256, path=upload_path(folder, photo.sha256))
        for photo in photos
    ]


def recommend(
    engine: Engine,
    photos: Sequence[PhotoEntry],
    user_id: str | None,
    show_rated: bool | None = None,
) -> Recommendation:
    """Your style and the items for the page's validated `photos` (`inputs.photos`), shaped by
    the person's latest ratings: the serving engine's answer, shown. Rated items come back only
    with `show_rated` (default: `recommender.show_rated`)."""
    store, cfg = engine.store, engine.config.recommender
    if show_rated is not None:
        cfg = cfg.model_copy(update={"show_rated": show_rated})
    ratings = store.ratings.latest_ratings(user_id) if user_id else {}
    loaded = engine.loaded()
    if loaded is None or not photos:
        message = (
            "No style index yet: scrape a tag on the Scrape page first."
            if loaded is None
            else "Add photos of your own (or pick catalogue items) to find your style."
        )
        return _popular(store, ratings, message, store.ratings.popular_images(cfg.k))
    wanted = query_photos(engine, photos)
    missing = [p for p, q in zip(photos, wanted, strict=True) if q.item_id is None and not q.path]
    problems = [
        f"{getattr(p, 'name', '') or 'a photo'} is no longer on the server" for p in missing
    ]
    usable = [q for q in wanted if q.item_id is not None or q.path]
    served = engine.answer(usable, ratings, user_id, cfg)
    result = served.answer
    problems += result.problems
    if result.match is None:
        shown = _popular(store, ratings, "None of your photos could be used.", result.popular)
        shown.problems = problems
        return shown
    match = result.match
    if match.fallback:
        shown = _popular(
            store,
            ratings,
            f"No style matches your photos closely (best match {match.score:.2f}, "
            f"needs {cfg.match_threshold:.2f}): here are the popular items.",
            result.popular,
        )
        shown.problems = problems
        return shown
    neighbours, loaded = served.neighbours, served.loaded
    cards = item_cards(
        store,
        [n.image_id for n in neighbours],
        ratings,
        {n.image_id: n.distance for n in neighbours},
        {n.image_id: n.style_name for n in neighbours},
    )
    reps = loaded.index.meta.representatives[match.style][:4]
    rep_rows = store.images.cards(reps)
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
        liked=result.liked,
        disliked=result.disliked,
        problems=problems,
        interleaved=served.interleaved,
    )
