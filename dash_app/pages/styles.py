"""Styles: a 2-D map of all items coloured by style (thumbnail on hover), the dendrogram, the
sizes, which sources carry which styles, and a browser for one style's items (from one source or
all)."""

from __future__ import annotations

from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
import numpy as np
from dash import Input, Output, callback, ctx, dcc, html, no_update

from clustering.engine import LoadedIndex
from clustering.index import IndexMeta
from clustering.trends.shares import SourceStyles, images_on, index_sources, source_styles
from dash_app.recommend import item_cards, style_tags
from dash_app.ui import figures
from dash_app.ui.components import graph, item_card, panel, source_dropdown, tag_chips
from dash_app.ui.ids import (
    BROWSE_SOURCE,
    BROWSE_STYLE,
    GALLERY_ITEMS,
    GALLERY_NAME,
    MAP_TOOLTIP,
    NO_INDEX,
    STYLE_GALLERY,
    STYLE_MAP,
    STYLE_SIZES,
    STYLE_SPACE,
    STYLES_LINK,
    STYLES_SOURCES,
    STYLES_TITLE,
)
from dash_app.web import inputs
from dash_app.web.context import get_context
from dash_app.web.images import image_url
from dash_app.web.inputs import ALL_SOURCES

dash.register_page(__name__, path="/styles", name="Styles", title="StyleScout · styles", order=2)

MAP_POINTS = 5000
BROWSE_PAGE = 24


def _shas(loaded: LoadedIndex) -> list[str]:
    if "shas" not in loaded.derived:
        rows = get_context().store.images.cards(loaded.index.ids.tolist())
        loaded.derived["shas"] = [rows.get(int(i), {}).get("sha256", "") for i in loaded.index.ids]
    return loaded.derived["shas"]


def sources_view(sources: SourceStyles, names: list[str]) -> html.Div:
    """With several sources, styles × sources (counts and each style's share within a source);
    with one, a line naming it."""
    if len(sources.sources) < 2:
        text = (
            f"All {int(sources.totals.sum()):,} posts of these items are from {sources.sources[0]}."
            if sources.sources
            else "No posts of these items are recorded."
        )
        return html.Div(text, className="small text-muted mb-3", id=STYLES_SOURCES)
    note = (
        f"Posts of each style (reposts included) on each of the {len(sources.sources)} sources;"
        " the colour and the % are the style's share of that source's posts, so sites of"
        " different sizes compare fairly."
    )
    return html.Div(
        panel(
            [
                html.Div(note, className="small text-muted"),
                graph("style-sources", figures.source_styles(sources, names)),
            ],
            "Styles by source",
            "mb-3",
        ),
        id=STYLES_SOURCES,
    )


def space_line(meta: IndexMeta) -> str:
    """Which space the styles live in, what it learned from, and how neighbours are found."""
    search = f" Nearest items: {meta.search}."
    if meta.space == "learned":
        return (
            f"Style space: {meta.space_summary()} (hashtags, imported labels, what people "
            "liked), applied to every item; features.space: raw turns it off." + search
        )
    return (
        f"Style space: {meta.space_summary()}: the backbone's features and colour, nothing "
        "learned (features.space: learned learns one from the store's tags)." + search
    )


def view_link(style: object, source: object) -> str:
    """A link to the view: `/styles?style=N&source=NAME`, N counted from 1 as `stylescout
    styles`, `export --style` and `/api/styles/N` count (the dropdown holds N - 1)."""
    query = {}
    number = inputs.style_number(style)
    if number is not None:
        query["style"] = str(number + 1)
    if isinstance(source, str) and source and source != ALL_SOURCES:
        query["source"] = source
    return "/styles" + (f"?{urlencode(query)}" if query else "")


def layout(style: str | None = None, source: str | None = None, **_query: str) -> html.Div:
    """The page; `?style=N` (counted from 1, as the command line counts) opens a style and
    `&source=NAME` browses it on one site, so a view can be linked (values that name nothing
    known are ignored)."""
    loaded = get_context().engine.loaded()
    if loaded is None:
        return dbc.Alert(
            "No style index yet: scrape a tag on the Scrape page and the styles appear here.",
            color="info",
            id=NO_INDEX,
        )
    index, names = loaded.index, loaded.index.meta.names
    shown = min(MAP_POINTS, len(index.ids))
    map_note = (
        f"Principal components of the features; {shown:,} of {len(index.ids):,} items. "
        "Hover for the photo, click to browse its style."
    )
    style_map = figures.style_map(loaded.map2d(), index.labels, names, _shas(loaded), MAP_POINTS)
    dendrogram = figures.dendrogram(index.centroids, index.linkage, names)
    number = inputs.style_number(style)
    chosen = number - 1 if number is not None and 1 <= number <= len(names) else None
    sources = index_sources(index, get_context().store)
    known = [] if sources is None else sources.sources
    chosen_source = source if isinstance(source, str) and source in known else ALL_SOURCES
    return html.Div(
        [
            html.Div(
                [
                    html.H1(f"{len(names)} styles", className="h3 mb-0 me-3", id=STYLES_TITLE),
                    html.Span(
                        f"{len(index.ids):,} items · {index.meta.model_key}",
                        className="text-muted small",
                    ),
                ],
                className="d-flex align-items-baseline mb-1",
            ),
            html.P(space_line(index.meta), className="text-muted small mb-3", id=STYLE_SPACE),
            dbc.Row(
                [
                    dbc.Col(
                        panel(
                            [
                                html.Div(map_note, className="small text-muted"),
                                graph(STYLE_MAP, style_map, toolbar=True, clear_on_unhover=True),
                                dcc.Tooltip(id=MAP_TOOLTIP),
                            ],
                            "Style map",
                        ),
                        lg=8,
                        className="mb-3",
                    ),
                    dbc.Col(
                        panel([graph(STYLE_SIZES, figures.sizes(names, index.sizes))], "Sizes"),
                        lg=4,
                        className="mb-3",
                    ),
                ]
            ),
            sources_view(sources, names),
            panel([graph("style-dendrogram", dendrogram)], "How the styles relate", "mb-3"),
            panel(
                [
                    html.Div(
                        [
                            html.H2("Browse a style", className="h6 me-3 mb-0"),
                            dcc.Dropdown(
                                id=BROWSE_STYLE,
                                options=[
                                    {"label": f"{i + 1}. {n} ({int(index.sizes[i])})", "value": i}
                                    for i, n in enumerate(names)
                                ],
                                value=chosen,
                                placeholder="choose a style",
                                style={"minWidth": "18rem"},
                            ),
                            source_dropdown(BROWSE_SOURCE, sources, chosen_source),
                            html.A(
                                "link to this view",
                                id=STYLES_LINK,
                                href=view_link(chosen, chosen_source),
                                className="ms-3 small",
                            ),
                        ],
                        className="d-flex align-items-center mb-3",
                    ),
                    dcc.Loading(html.Div(id=STYLE_GALLERY), type="dot", delay_show=150),
                ]
            ),
        ]
    )


def map_tooltip(hover: dict | None) -> tuple[bool, object, object]:
    """(show, bbox, children) of the thumbnail tooltip for a hovered point."""
    points = hover.get("points") if isinstance(hover, dict) else None
    point = points[0] if isinstance(points, list) and points else None
    data = point.get("customdata") if isinstance(point, dict) else None
    if not isinstance(data, list) or not data or not inputs.is_sha256(data[0]):
        return False, no_update, no_update
    loaded = get_context().engine.loaded()
    number = inputs.style_number(data[1]) if len(data) > 1 else None
    names = loaded.index.meta.names if loaded else []
    label = names[number] if number is not None and number < len(names) else ""
    bbox = point.get("bbox")
    if not isinstance(bbox, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in bbox.values()
    ):
        return False, no_update, no_update
    children = html.Div(
        [
            html.Img(src=image_url(data[0], 160), className="ss-tip-img"),
            html.Div(label, className="small text-center mt-1"),
        ],
    )
    return True, {k: bbox[k] for k in list(bbox)[:8]}, children


def chosen_style(trigger: str | None, map_click: dict | None, bar_click: dict | None) -> int:
    """The style a click on the map or on a size bar points at."""
    click = map_click if trigger == STYLE_MAP else bar_click
    try:
        data = click["points"][0]["customdata"]
        number = inputs.style_number(data[1] if trigger == STYLE_MAP else data[0])
    except (TypeError, KeyError, IndexError):
        raise dash.exceptions.PreventUpdate from None
    if number is None:
        raise dash.exceptions.PreventUpdate
    return number


def gallery(style: object, source: object = inputs.ALL_SOURCES) -> list:
    """One style's items, nearest its centroid first: all of them, or those seen on one source."""
    if style is None:
        return [
            html.P(
                "Choose a style, or click one on the map or in the sizes.", className="text-muted"
            )
        ]
    app = get_context()
    loaded = app.engine.loaded()
    style = inputs.style_number(style)
    if loaded is None or style is None or not style < len(loaded.index.centroids):
        return [dbc.Alert("That style is not in the current index.", color="warning")]
    index = loaded.index
    members = np.flatnonzero(index.labels == int(style))
    size = f"{len(members):,} items"
    if source is not None and source != inputs.ALL_SOURCES:  # "all" needs no look-up
        posts = app.store.images.source_post_times()
        known = source_styles(posts, index.ids, index.labels, len(index.centroids)).sources
        try:
            chosen = inputs.source_name(source, known)
        except inputs.BadInput as exc:
            return [dbc.Alert(str(exc), color="warning")]
        seen = images_on(posts, chosen)
        members = members[np.isin(index.ids[members], np.fromiter(seen, np.int64, len(seen)))]
        size += f", {len(members):,} of them seen on {chosen}"
    centroid = index.centroids[int(style)]
    order = members[np.argsort(np.linalg.norm(index.vectors[members] - centroid, axis=1))]
    ids = [int(i) for i in index.ids[order[:BROWSE_PAGE]]]
    cards = item_cards(app.store, ids, {})
    name = index.meta.names[int(style)]
    garment = index.meta.garment_key is not None  # the index reads garments: show their masks
    return [
        html.Div(
            [
                html.Strong(name, id=GALLERY_NAME),
                html.Span(
                    f" · {size}, the {len(cards)} most typical shown",
                    className="text-muted",
                ),
            ],
            className="mb-2",
        ),
        tag_chips(style_tags(loaded, app.store)[int(style)], 6),
        dbc.Row(
            [
                dbc.Col(
                    item_card(card, rate=False, garment=garment), xs=6, md=3, xl=2, className="mb-3"
                )
                for card in cards
            ],
            className="g-2 mt-1",
            id=GALLERY_ITEMS,
        ),
    ]


callback(
    Output(MAP_TOOLTIP, "show"),
    Output(MAP_TOOLTIP, "bbox"),
    Output(MAP_TOOLTIP, "children"),
    Input(STYLE_MAP, "hoverData"),
)(map_tooltip)


@callback(
    Output(BROWSE_STYLE, "value"),
    Input(STYLE_MAP, "clickData"),
    Input(STYLE_SIZES, "clickData"),
    prevent_initial_call=True,
)
def _on_click(map_click, bar_click):
    return chosen_style(ctx.triggered_id, map_click, bar_click)


callback(Output(STYLES_LINK, "href"), Input(BROWSE_STYLE, "value"), Input(BROWSE_SOURCE, "value"))(
    view_link
)

callback(
    Output(STYLE_GALLERY, "children"),
    Input(BROWSE_STYLE, "value"),
    Input(BROWSE_SOURCE, "value"),
)(gallery)
