"""Discover (home): your photos → your style, the 10 nearest items, ratings that shape the next.

Callbacks are plain functions (`change_photos`, `show_recommendations`, `save_rating`) registered
below, so tests call them directly inside a request context."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
from pathlib import Path
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from clustering.query import IndexMismatchError
from dash_app.recommend import Recommendation, recommend, uploads_folder
from dash_app.ui.components import item_card, rating_mark, style_card, thumb
from dash_app.ui.ids import (
    CLEAR_PHOTOS,
    DISCOVER_LINK,
    DISCOVER_MESSAGE,
    DISCOVER_RESULT,
    INTERLEAVED_NOTE,
    ITEMS,
    MY_PHOTOS,
    PHOTO_STRIP,
    PICK,
    PICKER,
    RATE,
    RATED,
    RATINGS_USED,
    REFRESH_RECS,
    REMOVE_PHOTO,
    SHOW_RATED,
    SHUFFLE_PICKS,
    UPLOAD,
    UPLOAD_MESSAGES,
    USER_ID,
)
from dash_app.web import inputs
from dash_app.web.auth import person_id
from dash_app.web.context import DecodersBusy, get_context
from dash_app.web.inputs import BadInput
from dash_app.web.uploads import UploadRejected, accept_upload, decode_data_url, upload_path
from stylescout.errors import StoreBusyError, StoreError

dash.register_page(__name__, path="/", name="Discover", title="StyleScout · discover", order=0)

PICKS = 12
log = logging.getLogger(__name__)


def _catalogue_choices(shuffle: int = 0) -> list[tuple[int, str]]:
    """(image id, sha256) of catalogue items to pick from: typical items of every style first."""
    app = get_context()
    loaded = app.engine.loaded()
    if loaded is None:
        ids = app.store.ratings.popular_images(PICKS)
    elif shuffle:
        rng = random.Random(shuffle)
        ids = [
            int(i) for i in rng.sample(list(loaded.index.ids), min(PICKS, len(loaded.index.ids)))
        ]
    else:
        reps = loaded.index.meta.representatives
        per_style = max(1, PICKS // max(1, len(reps)))
        ids = [i for style in reps for i in style[:per_style]][:PICKS]
    rows = app.store.images.cards(ids)
    return [(i, rows[i]["sha256"]) for i in ids if i in rows]


def _picker(shuffle: int = 0) -> list:
    return [
        html.Button(
            thumb(sha, 160, alt=f"catalogue item {image_id}", class_name="ss-pick-img"),
            id={"type": PICK, "image": image_id},
            className="ss-pick",
            title="use this item as one of my photos",
            n_clicks=0,
        )
        for image_id, sha in _catalogue_choices(shuffle)
    ]


def view_link(photos: object, show_rated: object = None) -> str:
    """A link to the view (`/?items=12,34&rated=1`): the catalogue items chosen as the person's
    photos and the 'show items I rated' box. Uploads stay out: they are the person's own."""
    query = {}
    try:
        entries = inputs.photos(photos, inputs.MAX_PHOTO_ENTRIES)
    except BadInput:
        entries = []
    items = [str(p.id) for p in entries if isinstance(p, inputs.ItemPhoto)]
    if items:
        query["items"] = ",".join(items)
    if show_rated is True:
        query["rated"] = "1"
    return "/" + (f"?{urlencode(query, safe=',')}" if query else "")


def _linked_items(items: object, limit: int) -> list[inputs.ItemPhoto]:
    """The stored catalogue items a link names (`?items=12,34`), in its order; anything that is
    not a stored item's id is left out, and at most `limit` are taken."""
    if not isinstance(items, str) or not items:
        return []
    wanted: list[int] = []
    for part in items.split(",")[: inputs.MAX_PHOTO_ENTRIES]:
        part = part.strip()
        if not (part.isascii() and part.isdigit() and len(part) <= 19):
            continue
        try:
            image_id = inputs.check(inputs.ImageId, int(part), "an item")
        except BadInput:
            continue
        if image_id not in wanted:
            wanted.append(image_id)
    rows = get_context().store.images.cards(wanted[:limit]) if wanted else {}
    return [
        inputs.ItemPhoto(kind="item", id=i, sha256=rows[i]["sha256"])
        for i in wanted[:limit]
        if i in rows
    ]


def layout(items: str | None = None, rated: str | None = None, **_query: str) -> html.Div:
    """The page; its query string (`?items=12,34` catalogue items as your photos, `&rated=1`)
    sets the view, so it can be linked and reloaded."""
    cfg = get_context().config.dashboard
    max_bytes = cfg.max_upload_bytes
    linked = _linked_items(items, cfg.max_photos)
    show_rated = rated == "1"
    # A link's items win over the photos this browser tab kept (session storage would
    # otherwise replace them as the page mounts).
    my_photos = (
        dcc.Store(id=MY_PHOTOS, storage_type="memory", data=inputs.photo_dicts(linked))
        if linked
        else dcc.Store(id=MY_PHOTOS, storage_type="session", data=[])
    )
    photos = dbc.Card(
        dbc.CardBody(
            [
                html.H2("Your photos", className="h5"),
                dcc.Upload(
                    id=UPLOAD,
                    multiple=True,
                    accept="image/*",
                    max_size=max_bytes,
                    children=html.Div(
                        [
                            html.Div("Drop photos here", className="fw-semibold"),
                            html.Div(
                                "or click to choose (JPEG, PNG, GIF, WebP, BMP; several at once)",
                                className="small text-muted",
                            ),
                        ]
                    ),
                    className="ss-drop",
                ),
                html.Div(id=UPLOAD_MESSAGES, className="mt-2"),
                html.Div(id=PHOTO_STRIP, className="ss-strip my-2"),
                dbc.Button(
                    "Clear my photos", id=CLEAR_PHOTOS, size="sm", color="link", className="px-0"
                ),
                html.Hr(),
                html.Div(
                    [
                        html.H3("…or pick from the catalogue", className="h6 mb-0 me-auto"),
                        dbc.Button(
                            "Show others",
                            id=SHUFFLE_PICKS,
                            size="sm",
                            color="secondary",
                            outline=True,
                            n_clicks=0,
                        ),
                    ],
                    className="d-flex align-items-center mb-2",
                ),
                html.Div(_picker(), id=PICKER, className="ss-picker"),
            ]
        ),
        className="ss-panel",
    )
    results = html.Div(
        [
            html.Div(
                [
                    html.H2("Recommended for you", className="h5 me-auto mb-0"),
                    dbc.Checkbox(
                        id=SHOW_RATED,
                        label="show items I rated",
                        value=show_rated,
                        className="me-3 mb-0 small",
                    ),
                    dbc.Button(
                        "Update with my ratings",
                        id=REFRESH_RECS,
                        size="sm",
                        color="primary",
                        n_clicks=0,
                    ),
                    html.A(
                        "link to this view",
                        id=DISCOVER_LINK,
                        href=view_link(inputs.photo_dicts(linked), show_rated),
                        className="ms-3 small",
                    ),
                ],
                className="d-flex align-items-center mb-3",
            ),
            dcc.Loading(html.Div(id=DISCOVER_RESULT), type="dot", delay_show=150),
        ]
    )
    return html.Div(
        [
            my_photos,
            dbc.Row([dbc.Col(photos, lg=4, className="mb-3"), dbc.Col(results, lg=8)]),
        ]
    )


# -- callbacks as plain functions ----------------------------------------------------------


def _bad(exc: BadInput) -> dbc.Alert:
    return dbc.Alert(str(exc), color="danger", className="py-2 mb-2 ss-refused")


def _busy(text: str) -> dbc.Alert:
    return dbc.Alert(text, color="warning", className="py-2 mb-2 ss-busy")


def _uploads(contents: object, filenames: object) -> list[tuple[str, str]]:
    """(data URL, shown name) pairs of one drop; BadInput when the request is not a drop."""
    if not isinstance(contents, list) or not all(isinstance(c, str) for c in contents):
        raise BadInput("the upload did not arrive as files")
    names = filenames if isinstance(filenames, list) else []
    names = [n if isinstance(n, str) else "" for n in names] + [""] * len(contents)
    return [(c, (n or "a file")[:80]) for c, n in zip(contents, names, strict=False)]


def _chosen(current: list[inputs.UploadPhoto | inputs.ItemPhoto], folder: Path) -> set[str]:
    """Hashes of the photos already chosen that a repeat need not be decoded for: catalogue
    items, and uploads whose file is still kept (a cleared cache takes the same photo again)."""
    return {
        p.sha256
        for p in current
        if isinstance(p, inputs.ItemPhoto) or upload_path(folder, p.sha256) is not None
    }


def _take_drop(
    drop: list[tuple[str, str]],
    current: list[inputs.UploadPhoto | inputs.ItemPhoto],
    messages: list,
) -> list[inputs.UploadPhoto]:
    """The new photos of a drop, each checked and kept under a decode slot; reasons for the
    refused ones go to `messages`. Bytes are hashed before any decode, so a repeat (in the drop
    or among the chosen photos) is never decoded again; once no slot comes free within a second,
    the rest of the drop is answered 'busy' rather than left waiting on a server thread."""
    app = get_context()
    cfg = app.config.dashboard
    folder = uploads_folder(app.store)
    seen = _chosen(current, folder)
    added: list[inputs.UploadPhoto] = []
    busy: DecodersBusy | None = None
    for content, label in drop:
        try:
            data = decode_data_url(content, cfg.max_upload_bytes)
        except UploadRejected as exc:
            messages.append(_bad(BadInput(f"{label} {exc}")))
            continue
        sha = hashlib.sha256(data).hexdigest()
        if sha in seen:
            continue
        seen.add(sha)
        if busy is not None:  # the drop already waited its second
            messages.append(_busy(f"{label} was not read: {busy}"))
            continue
        try:
            with app.decoding():
                upload = accept_upload(data, folder, cfg.max_upload_bytes, cfg.max_upload_pixels)
        except DecodersBusy as exc:
            busy = exc
            messages.append(_busy(f"{label} was not read: {exc}"))
            continue
        except UploadRejected as exc:
            messages.append(_bad(BadInput(f"{label} {exc}")))
            continue
        if any(p.sha256 == sha for p in current):  # chosen already; its file is kept again
            continue
        added.append(
            inputs.UploadPhoto(
                kind="upload", sha256=upload.sha256, name=label, preview=upload.preview
            )
        )
    return added


def change_photos(
    trigger: str | dict | None,
    contents: list[str] | None,
    filenames: list[str] | None,
    photos: list[dict] | None,
) -> tuple[list[dict], list]:
    """The person's photos after an upload, a pick, a removal or a clear, and any messages."""
    app = get_context()
    cfg = app.config.dashboard
    limit = cfg.max_photos
    try:
        current = inputs.photos(photos, limit)
    except BadInput as exc:
        return [], [_bad(exc)]
    messages: list = []
    if trigger == CLEAR_PHOTOS:
        return [], []
    try:
        if isinstance(trigger, dict) and trigger.get("type") == REMOVE_PHOTO:
            n = inputs.check(inputs.StyleNumber, trigger.get("index"), "the photo to remove")
            return inputs.photo_dicts([p for i, p in enumerate(current) if i != n]), []
        if isinstance(trigger, dict) and trigger.get("type") == PICK:
            image_id = inputs.check(inputs.ImageId, trigger.get("image"), "the catalogue item")
            if not any(isinstance(p, inputs.ItemPhoto) and p.id == image_id for p in current):
                row = app.store.images.cards([image_id]).get(image_id)
                if row is None:
                    messages.append(dbc.Alert("That item is no longer stored.", color="warning"))
                else:
                    current.append(inputs.ItemPhoto(kind="item", id=image_id, sha256=row["sha256"]))
        elif trigger == UPLOAD and contents:
            drop = _uploads(contents, filenames)
            if len(drop) > limit:
                messages.append(dbc.Alert(f"Only {limit} photos are used at once.", color="info"))
                drop = drop[:limit]
            current += _take_drop(drop, current, messages)
    except BadInput as exc:
        return inputs.photo_dicts(current), [_bad(exc)]
    if len(current) > limit:
        messages.append(
            dbc.Alert(f"Only the last {limit} photos are used.", color="info", className="py-2")
        )
        current = current[-limit:]
    return inputs.photo_dicts(current), messages


def photo_strip(photos: list[dict] | None) -> list:
    """Previews of the person's photos, each with a remove button."""
    try:
        entries = inputs.photos(photos, inputs.MAX_PHOTO_ENTRIES)
    except BadInput as exc:
        return [_bad(exc)]
    if not entries:
        return [html.Div("No photos yet.", className="text-muted small")]
    out = []
    for n, photo in enumerate(entries):
        if isinstance(photo, inputs.UploadPhoto):
            img = html.Img(src=photo.preview, alt=photo.name, className="ss-mine")
        else:
            img = thumb(photo.sha256, 160, alt="catalogue item", class_name="ss-mine")
        out.append(
            html.Div(
                [
                    img,
                    html.Button(
                        "×",
                        id={"type": REMOVE_PHOTO, "index": n},
                        className="ss-remove",
                        title="remove this photo",
                    ),
                ],
                className="ss-mine-wrap",
            )
        )
    return out


def render_recommendation(rec: Recommendation) -> list:
    """The style card (or the reason there is none) and the items."""
    out: list = [dbc.Alert(p, color="warning", className="py-2") for p in rec.problems]
    if rec.style is not None:
        out.append(style_card(rec.style))
    if rec.message:
        out.append(dbc.Alert(rec.message, color="info", id=DISCOVER_MESSAGE))
    if rec.liked or rec.disliked:
        out.append(
            html.P(
                f"Shaped by your ratings: towards {rec.liked} liked, away from {rec.disliked} "
                "disliked items.",
                className="small text-muted",
                id=RATINGS_USED,
            )
        )
    if not rec.items:
        out.append(html.P("The store has no items yet.", className="text-muted"))
        return out
    title = "Popular items" if rec.fallback else "The 10 nearest items"
    out.append(html.H3(title, className="h6 text-muted"))
    if rec.interleaved:
        out.append(
            html.P(
                "Two models are being compared: this list mixes the items each finds nearest, "
                "and your ratings say which serves you better (see Feedback).",
                className="small text-muted",
                id=INTERLEAVED_NOTE,
            )
        )
    out.append(
        dbc.Row(
            [
                dbc.Col(item_card(card, rank=n), xs=6, md=4, xl=3, className="mb-3")
                for n, card in enumerate(rec.items, start=1)
            ],
            id=ITEMS,
            className="g-3",
        )
    )
    return out


def show_recommendations(
    photos: list[dict] | None, user_id: str | None, show_rated: object = None
) -> list:
    """Your style and the items for you; photos beyond `max_photos` and repeats are not used.
    Items you rated are left out (new ones instead) unless `show_rated` is ticked."""
    app = get_context()
    try:
        entries = inputs.photos(photos, app.config.dashboard.max_photos)
        user = person_id(user_id)
        rated = inputs.check(inputs.Flag, show_rated, "the 'show items I rated' box")
    except BadInput as exc:
        return [dbc.Alert(str(exc), color="danger", id=DISCOVER_MESSAGE)]
    # only uploads are decoded (catalogue items come as the index's vectors): nothing else
    # waits for a decode slot
    uploaded = any(isinstance(p, inputs.UploadPhoto) for p in entries)
    try:
        with app.decoding() if uploaded else contextlib.nullcontext():
            rec = recommend(app.engine, entries, user, show_rated=rated)
    except DecodersBusy as exc:
        text = f"Your photos were not read just now ({exc}); 'Update with my ratings' retries."
        return [dbc.Alert(text, color="warning", id=DISCOVER_MESSAGE)]
    except IndexMismatchError as exc:
        return [dbc.Alert(str(exc), color="danger")]
    return render_recommendation(rec)


def save_rating(image_id: object, value: object, user_id: object) -> str:
    """Store a rating at once; returns the mark shown under the stars."""
    if value is None:
        raise PreventUpdate
    app = get_context()
    try:
        image_id = inputs.check(inputs.ImageId, image_id, "the item")
        value = inputs.check(inputs.Rating, value, "the rating")
        user_id = person_id(user_id)
    except BadInput as exc:
        return f"Could not save: {exc}"
    if not user_id:
        return "Could not save: this browser has no id yet; reload the page"
    if app.store.ratings.latest_ratings(user_id).get(image_id) == value:
        return rating_mark(value)
    loaded = app.engine.loaded()
    style = model_key = impression = None
    kind = "discover"
    if loaded is not None:
        label = loaded.index.style_of(image_id)
        style = None if label is None else loaded.index.meta.names[label]
        model_key = loaded.index.meta.model_key
    credit = (
        app.store.ratings.impression_credit(user_id, image_id) if app.engine.interleaving else None
    )
    if credit is not None:  # shown in an interleaved list: the model that placed it gets it
        impression, model_key = credit
        kind = "interleaved"
    try:
        app.store.ratings.add_rating(
            user_id,
            image_id,
            int(value),
            model_key=model_key,
            style=style,
            query_kind=kind,
            impression_id=impression,
        )
    except StoreBusyError:  # the lock wait (store.busy_timeout_ms) ran out
        log.warning("rating not saved: the store stayed busy", exc_info=True)
        return "Could not save: the store is busy, please rate again"
    except StoreError as exc:
        return f"Could not save: {exc}"
    return rating_mark(int(value), saved=True)


# -- registration ---------------------------------------------------------------------------


@callback(
    Output(MY_PHOTOS, "data"),
    Output(UPLOAD_MESSAGES, "children"),
    Output(UPLOAD, "contents"),
    Input(UPLOAD, "contents"),
    Input(CLEAR_PHOTOS, "n_clicks"),
    Input({"type": PICK, "image": ALL}, "n_clicks"),
    Input({"type": REMOVE_PHOTO, "index": ALL}, "n_clicks"),
    State(UPLOAD, "filename"),
    State(MY_PHOTOS, "data"),
    prevent_initial_call=True,
)
def _on_photos(contents, _clear, picks, removes, filenames, photos):
    trigger = ctx.triggered_id
    if isinstance(trigger, dict) and not (ctx.triggered and ctx.triggered[0].get("value")):
        raise PreventUpdate  # a button was (re)rendered, not clicked
    if trigger == UPLOAD and not contents:
        raise PreventUpdate
    new, messages = change_photos(trigger, contents, filenames, photos)
    return new, messages, None


callback(Output(PHOTO_STRIP, "children"), Input(MY_PHOTOS, "data"))(photo_strip)

callback(Output(DISCOVER_LINK, "href"), Input(MY_PHOTOS, "data"), Input(SHOW_RATED, "value"))(
    view_link
)

callback(Output(PICKER, "children"), Input(SHUFFLE_PICKS, "n_clicks"), prevent_initial_call=True)(
    _picker
)

callback(
    Output(DISCOVER_RESULT, "children"),
    Input(MY_PHOTOS, "data"),
    Input(REFRESH_RECS, "n_clicks"),
    Input(USER_ID, "data"),
    Input(SHOW_RATED, "value"),
)(lambda photos, _n, user_id, rated: show_recommendations(photos, user_id, rated))


@callback(
    Output({"type": RATED, "image": MATCH}, "children"),
    Input({"type": RATE, "image": MATCH}, "value"),
    State(USER_ID, "data"),
    prevent_initial_call=True,
)
def _on_rate(value, user_id):
    try:
        trigger = ctx.triggered_id
    except ValueError:  # a crafted id that is not JSON
        trigger = None
    return save_rating(trigger.get("image") if isinstance(trigger, dict) else None, value, user_id)
