"""Small layout pieces shared by pages."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from clustering.trends.shares import SourceStyles
from dash_app.recommend import ItemCard, StyleCard
from dash_app.ui.ids import (
    HEADER_COUNTS,
    ITEM,
    MODEL_KEY,
    RATE,
    RATED,
    STYLE_CARD,
    STYLE_NAME,
    STYLE_SCORE,
    WEIGHTS_BANNER,
)
from dash_app.web.images import garment_url, image_url
from dash_app.web.inputs import ALL_SOURCES
from store import StoreStats
from stylescout.cli import human_bytes
from stylescout.licences import deed_url
from stylescout.licences import label as licence_label

__all__ = [
    "graph",
    "header_counts",
    "human_bytes",
    "item_card",
    "panel",
    "rating_mark",
    "rating_widget",
    "source_dropdown",
    "stat_card",
    "style_card",
    "tag_chips",
    "thumb",
    "weights_banner",
]


def header_counts(stats: StoreStats, model_key: str | None = None) -> html.Span:
    """The store's counts and the index's model for the navigation bar."""
    parts = [("images", stats.images), ("tags", stats.tags), ("ratings", stats.ratings)]
    model = html.Span(
        model_key or "no style index yet",
        className="ss-model small text-muted",
        id=MODEL_KEY,
        title="backbone, weights, input size and pooling of the current style index",
    )
    return html.Span(
        [html.Span([html.Strong(f"{n:,}"), f" {label}"], className="me-3") for label, n in parts]
        + [model],
        className="ss-count",
        id=HEADER_COUNTS,
    )


def weights_banner(note: str) -> html.Div:
    """A visible warning when the index was built with random weights (empty otherwise)."""
    if not note:
        return html.Div(id=WEIGHTS_BANNER)
    return html.Div(
        dbc.Alert([html.Strong("Random weights. "), note], color="warning", className="mb-3"),
        id=WEIGHTS_BANNER,
    )


def stat_card(label: str, value: str, note: str = "", card_id: str | None = None) -> dbc.Card:
    """A big number with a label."""
    body = [html.Div(label, className="text-muted small"), html.Div(value, className="display-6")]
    if note:
        body.append(html.Div(note, className="small text-muted"))
    return dbc.Card(dbc.CardBody(body), className="ss-stat h-100", id=card_id or "")


def thumb(sha256: str, width: int = 320, alt: str = "", class_name: str = "ss-thumb") -> html.Img:
    """A catalogue image by hash (a cached thumbnail)."""
    return html.Img(src=image_url(sha256, width), alt=alt, className=class_name)


def tag_chips(tags: list[str] | list[tuple[str, int]], limit: int = 8) -> html.Div:
    """Tags as text chips (never HTML: scraped text is shown as text)."""
    chips = []
    for tag in tags[:limit]:
        label = f"#{tag[0]} · {tag[1]}" if isinstance(tag, tuple) else f"#{tag}"
        chips.append(html.Span(label, className="ss-tag"))
    return html.Div(chips or [html.Span("no tags", className="text-muted small")])


def rating_widget(image_id: int, rating: int | None) -> html.Div:
    """1-5 stars that save at once; the mark says what is stored."""
    return html.Div(
        [
            dbc.RadioItems(
                id={"type": RATE, "image": image_id},
                options=[{"label": f"{n}★", "value": n} for n in range(1, 6)],
                value=rating,
                inline=False,
                className="ss-stars",
                inputClassName="btn-check",
                labelClassName="btn btn-sm btn-outline-secondary",
                labelCheckedClassName="active",
            ),
            html.Div(
                rating_mark(rating),
                id={"type": RATED, "image": image_id},
                className="small mt-1",
            ),
        ]
    )


def rating_mark(rating: int | None, saved: bool = False) -> str:
    if rating is None:
        return "Not rated yet"
    return f"Rated {rating}/5" + (" · saved" if saved else "")


def credit_line(card: ItemCard) -> html.Div | None:
    """Whose photo it is, as the site said: "by <author>" (linked to their page when known)
    and the licence (linked to its Creative Commons page). Text stays text (Dash escapes it)."""
    parts: list = []
    if card.author:
        name = (
            html.A(
                card.author,
                href=card.author_url,
                target="_blank",
                rel="noopener noreferrer",
                className="ss-author",
            )
            if card.author_url
            else html.Span(card.author, className="ss-author")
        )
        parts += ["by ", name]
    named = licence_label(card.licence)
    if named:
        deed = deed_url(card.licence)
        shown = (
            html.A(named, href=deed, target="_blank", rel="noopener noreferrer license")
            if deed
            else html.Span(named)
        )
        parts += [" · " if parts else "", html.Span(shown, className="ss-licence")]
    return html.Div(parts, className="small text-muted ss-credit") if parts else None


def item_card(
    card: ItemCard, rank: int | None = None, rate: bool = True, garment: bool = False
) -> dbc.Card:
    """One recommended item: thumbnail, distance, style, tags, caption, credit, post link,
    rating; with `garment`, a link to what the garment blocks see in it (its mask)."""
    caption = (card.caption or "").strip()
    if len(caption) > 140:
        caption = caption[:139] + "…"
    facts = []
    if card.distance is not None:
        facts.append(html.Span(f"distance {card.distance:.3f}", className="ss-distance"))
    if card.style_name:
        facts.append(html.Span(f" · {card.style_name}", className="text-muted"))
    body = [
        html.Div(facts, className="small"),
        tag_chips(card.tags, 5),
        html.P(caption, className="small text-muted ss-caption mb-2") if caption else None,
        credit_line(card),
        html.A(
            "View post ↗",
            href=card.post_url,
            target="_blank",
            rel="noopener noreferrer",
            className="small",
        )
        if card.post_url
        else None,
        html.A(
            " · garment ↗",
            href=garment_url(card.sha256),
            target="_blank",
            title="the region the style engine reads its shape and colour from",
            className="small ss-garment-link",
        )
        if garment
        else None,
    ]
    if rate:
        body.append(rating_widget(card.image_id, card.rating))
    header = html.Div(
        [
            html.Span(f"{rank}", className="ss-rank") if rank is not None else None,
            thumb(card.sha256, 320, alt=f"item {card.image_id}"),
        ],
        className="ss-thumb-wrap",
    )
    return dbc.Card(
        [header, dbc.CardBody([b for b in body if b is not None], className="p-2")],
        className="ss-item h-100" + (" ss-rated" if card.rating is not None else ""),
        id={"type": ITEM, "image": card.image_id},
    )


def style_card(style: StyleCard) -> dbc.Card:
    """The person's best-matching style."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div("Your style", className="text-muted small text-uppercase"),
                html.H2(style.name, className="h3 mb-1", id=STYLE_NAME),
                html.Div(
                    [
                        html.Span(
                            f"match {style.score:.2f}",
                            className="badge ss-badge me-2",
                            id=STYLE_SCORE,
                        ),
                        html.Span(f"{style.size:,} items in this style", className="text-muted"),
                    ],
                    className="mb-2",
                ),
                html.Div(
                    [
                        thumb(sha, 160, alt="typical item", class_name="ss-rep")
                        for sha in style.representatives
                    ],
                    className="ss-reps mb-2",
                ),
                tag_chips(style.top_tags, 6),
            ]
        ),
        className="ss-style-card mb-3",
        id=STYLE_CARD,
    )


def panel(children: list, title: str | None = None, class_name: str = "") -> dbc.Card:
    """A white rounded card holding a page section, with an optional small heading."""
    heading = [html.H2(title, className="h6")] if title else []
    return dbc.Card(dbc.CardBody(heading + children), className=f"ss-panel {class_name}".strip())


def graph(graph_id: str, figure: object, toolbar: bool = False, **props: object) -> dcc.Graph:
    """A Plotly figure; the toolbar (zoom, pan, download) only where exploring makes sense."""
    config = {"displaylogo": False} if toolbar else {"displayModeBar": False}
    return dcc.Graph(id=graph_id, figure=figure, config=config, **props)


def source_dropdown(
    element_id: str, sources: SourceStyles | None, value: str = ALL_SOURCES
) -> html.Div:
    """'all sources' or one source (with its posts, most first). Hidden with fewer than two
    sources, but always in the layout, so the callbacks that read it still run."""
    known = [] if sources is None else zip(sources.sources, sources.totals.tolist(), strict=True)
    options = [{"label": "all sources", "value": ALL_SOURCES}] + [
        {"label": f"{s} ({n:,} posts)", "value": s} for s, n in known
    ]
    return html.Div(
        dcc.Dropdown(
            id=element_id,
            options=options,
            value=value if sources is not None and value in sources.sources else ALL_SOURCES,
            clearable=False,
            style={"minWidth": "15rem"},
        ),
        hidden=sources is None or len(sources.sources) < 2,
        className="ms-2",
    )
