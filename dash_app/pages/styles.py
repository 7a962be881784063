"""Styles: a 2-D map of all items coloured by style (thumbnail on hover), the dendrogram, the
sizes, and a browser for one style's items."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import numpy as np
from dash import Input, Output, callback, ctx, dcc, html, no_update

from dash_app import figures
from dash_app.components import graph, item_card, panel, tag_chips
from dash_app.context import get_context
from dash_app.engine import LoadedIndex
from dash_app.images import image_url
from dash_app.recommend import item_cards, style_tags

dash.register_page(__name__, path="/styles", name="Styles", title="StyleScout · styles", order=2)

MAP_POINTS = 5000
BROWSE_PAGE = 24


def _shas(loaded: LoadedIndex) -> list[str]:
    if "shas" not in loaded.derived:
        rows = get_context().store.cards(loaded.index.ids.tolist())
        loaded.derived["shas"] = [rows.get(int(i), {}).get("sha256", "") for i in loaded.index.ids]
    return loaded.derived["shas"]


def layout(style: str | None = None, **_query: str) -> html.Div:
    loaded = get_context().engine.loaded()
    if loaded is None:
        return dbc.Alert(
            "No style index yet: scrape a tag on the Scrape page and the styles appear here.",
            color="info",
            id="no-index",
        )
    index, names = loaded.index, loaded.index.meta.names
    shown = min(MAP_POINTS, len(index.ids))
    map_note = (
        f"Principal components of the features; {shown:,} of {len(index.ids):,} items. "
        "Hover for the photo, click to browse its style."
    )
    style_map = figures.style_map(loaded.map2d(), index.labels, names, _shas(loaded), MAP_POINTS)
    dendrogram = figures.dendrogram(index.centroids, index.linkage, names)
    chosen = int(style) if style and style.isdigit() and int(style) < len(names) else None
    return html.Div(
        [
            html.Div(
                [
                    html.H1(f"{len(names)} styles", className="h3 mb-0 me-3", id="styles-title"),
                    html.Span(
                        f"{len(index.ids):,} items · {index.meta.model_key}",
                        className="text-muted small",
                    ),
                ],
                className="d-flex align-items-baseline mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        panel(
                            [
                                html.Div(map_note, className="small text-muted"),
                                graph("style-map", style_map, toolbar=True, clear_on_unhover=True),
                                dcc.Tooltip(id="map-tooltip"),
                            ],
                            "Style map",
                        ),
                        lg=8,
                        className="mb-3",
                    ),
                    dbc.Col(
                        panel([graph("style-sizes", figures.sizes(names, index.sizes))], "Sizes"),
                        lg=4,
                        className="mb-3",
                    ),
                ]
            ),
            panel([graph("style-dendrogram", dendrogram)], "How the styles relate", "mb-3"),
            panel(
                [
                    html.Div(
                        [
                            html.H2("Browse a style", className="h6 me-3 mb-0"),
                            dcc.Dropdown(
                                id="browse-style",
                                options=[
                                    {"label": f"{n} ({int(index.sizes[i])})", "value": i}
                                    for i, n in enumerate(names)
                                ],
                                value=chosen,
                                placeholder="choose a style",
                                style={"minWidth": "18rem"},
                            ),
                        ],
                        className="d-flex align-items-center mb-3",
                    ),
                    dcc.Loading(html.Div(id="style-gallery"), type="dot", delay_show=150),
                ]
            ),
        ]
    )


def map_tooltip(hover: dict | None) -> tuple[bool, object, object]:
    """(show, bbox, children) of the thumbnail tooltip for a hovered point."""
    if not hover or not hover.get("points"):
        return False, no_update, no_update
    point = hover["points"][0]
    data = point.get("customdata") or []
    if not data or not isinstance(data[0], str):
        return False, no_update, no_update
    names = get_context().engine.loaded()
    label = names.index.meta.names[int(data[1])] if names and len(data) > 1 else ""
    children = html.Div(
        [
            html.Img(src=image_url(data[0], 160), className="ss-tip-img"),
            html.Div(label, className="small text-center mt-1"),
        ],
    )
    return True, point.get("bbox"), children


def chosen_style(trigger: str | None, map_click: dict | None, bar_click: dict | None) -> int:
    """The style a click on the map or on a size bar points at."""
    click = map_click if trigger == "style-map" else bar_click
    try:
        data = click["points"][0]["customdata"]
    except (TypeError, KeyError, IndexError):
        raise dash.exceptions.PreventUpdate from None
    return int(data[1] if trigger == "style-map" else data[0])


def gallery(style: int | None) -> list:
    """One style's items, nearest its centroid first."""
    if style is None:
        return [
            html.P(
                "Choose a style, or click one on the map or in the sizes.", className="text-muted"
            )
        ]
    app = get_context()
    loaded = app.engine.loaded()
    if loaded is None or not 0 <= int(style) < len(loaded.index.centroids):
        return [dbc.Alert("That style is not in the current index.", color="warning")]
    index = loaded.index
    members = np.flatnonzero(index.labels == int(style))
    centroid = index.centroids[int(style)]
    order = members[np.argsort(np.linalg.norm(index.vectors[members] - centroid, axis=1))]
    ids = [int(i) for i in index.ids[order[:BROWSE_PAGE]]]
    cards = item_cards(app.store, ids, {})
    name = index.meta.names[int(style)]
    return [
        html.Div(
            [
                html.Strong(name, id="gallery-name"),
                html.Span(
                    f" · {len(members):,} items, the {len(cards)} most typical shown",
                    className="text-muted",
                ),
            ],
            className="mb-2",
        ),
        tag_chips(style_tags(loaded, app.store)[int(style)], 6),
        dbc.Row(
            [
                dbc.Col(item_card(card, rate=False), xs=6, md=3, xl=2, className="mb-3")
                for card in cards
            ],
            className="g-2 mt-1",
            id="gallery-items",
        ),
    ]


callback(
    Output("map-tooltip", "show"),
    Output("map-tooltip", "bbox"),
    Output("map-tooltip", "children"),
    Input("style-map", "hoverData"),
)(map_tooltip)


@callback(
    Output("browse-style", "value"),
    Input("style-map", "clickData"),
    Input("style-sizes", "clickData"),
    prevent_initial_call=True,
)
def _on_click(map_click, bar_click):
    return chosen_style(ctx.triggered_id, map_click, bar_click)


callback(Output("style-gallery", "children"), Input("browse-style", "value"))(gallery)
