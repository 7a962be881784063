"""Store: what is in the store (counts, recent scrapes, top tags)."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from dash_app.ui.components import human_bytes, stat_card
from dash_app.ui.ids import EMPTY_STORE, RUNS_EMPTY, RUNS_TABLE, TOP_TAGS
from dash_app.web.context import get_context

dash.register_page(__name__, path="/store", name="Store", title="StyleScout · store", order=5)


def _runs_table(runs: list[dict]) -> dbc.Table | html.P:
    if not runs:
        return html.P("No scrapes yet.", className="text-muted", id=RUNS_EMPTY)
    head = html.Thead(
        html.Tr(
            [
                html.Th(h)
                for h in ("Tag", "Source", "Status", "Added", "Duplicates", "Failed", "Started")
            ]
        )
    )
    rows = [
        html.Tr(
            [
                html.Td(f"#{r['tag']}"),
                html.Td(r["source"]),
                html.Td(r["status"]),
                html.Td(r["added"]),
                html.Td(r["duplicates"]),
                html.Td(r["failed"]),
                html.Td(r["started_at"]),
            ]
        )
        for r in runs
    ]
    return dbc.Table([head, html.Tbody(rows)], size="sm", hover=True, id=RUNS_TABLE)


def layout(**_query: str) -> html.Div:
    """Rendered on every visit, so the numbers are current."""
    ctx = get_context()
    stats = ctx.store.stats()
    runs_done = sum(stats.scrape_runs.values())
    cards = dbc.Row(
        [
            dbc.Col(
                stat_card(
                    "Images", f"{stats.images:,}", human_bytes(stats.image_bytes), "stat-images"
                ),
                md=3,
            ),
            dbc.Col(
                stat_card("Tags", f"{stats.tags:,}", f"on {stats.tagged:,} images", "stat-tags"),
                md=3,
            ),
            dbc.Col(
                stat_card(
                    "Scrape runs",
                    f"{runs_done:,}",
                    f"{stats.scrape_runs['completed']} completed",
                    "stat-runs",
                ),
                md=3,
            ),
            dbc.Col(
                stat_card(
                    "Ratings", f"{stats.ratings:,}", f"from {stats.users:,} people", "stat-ratings"
                ),
                md=3,
            ),
        ],
        className="g-3 mb-4",
    )
    intro = html.Div(
        [
            html.H1("Your style store", className="h3"),
            html.P(
                "StyleScout gathers tagged photos from social media into this local store, groups "
                "them into styles and recommends what matches your own photos.",
                className="text-muted",
            ),
        ]
    )
    if stats.images == 0:
        intro.children.append(
            dbc.Alert(
                [
                    "The store is empty: images arrive here when a tag is scraped (",
                    html.Code("stylescout scrape --help"),
                    ").",
                ],
                color="info",
                id=EMPTY_STORE,
            )
        )
    tags = html.Div(
        [html.Span(f"#{t} · {n}", className="ss-tag") for t, n in stats.top_tags]
        or [html.Span("No tags yet.", className="text-muted")],
        id=TOP_TAGS,
    )
    return html.Div(
        [
            intro,
            cards,
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.H2("Recent scrapes", className="h5"),
                            _runs_table(ctx.store.runs.recent(10)),
                        ],
                        md=8,
                    ),
                    dbc.Col([html.H2("Top tags", className="h5"), tags], md=4),
                ]
            ),
        ]
    )
