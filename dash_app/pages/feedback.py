"""Feedback: ratings over time, the mean rating per style and per model key (to compare
backbones)."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from dash_app import figures
from dash_app.components import graph, panel
from dash_app.context import get_context
from dash_app.rating_stats import latest_only, mean_by, ratings_per_day

dash.register_page(
    __name__, path="/feedback", name="Feedback", title="StyleScout · feedback", order=4
)


def layout(**_query: str) -> html.Div:
    history = get_context().store.ratings_history()
    title = html.H1("Feedback", className="h3")
    if not history:
        return html.Div(
            [
                title,
                dbc.Alert(
                    "No ratings yet: rate the recommended items on the Discover page.",
                    color="info",
                    id="no-ratings",
                ),
            ]
        )
    latest = latest_only(history)
    days, counts, means = ratings_per_day(history)
    people = len({r["user_id"] for r in history})
    by_style, by_model = mean_by(latest, "style"), mean_by(latest, "model_key")
    return html.Div(
        [
            title,
            html.P(
                f"{len(history):,} ratings from {people:,} people "
                f"({len(latest):,} current: a changed rating replaces the earlier one).",
                className="text-muted",
                id="feedback-summary",
            ),
            panel(
                [graph("ratings-time", figures.ratings_over_time(days, counts, means))],
                "Ratings over time",
                "mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(panel([graph(graph_id, figure)]), lg=6, className="mb-3")
                    for graph_id, figure in (
                        ("ratings-style", figures.mean_ratings(by_style, "Mean rating per style")),
                        (
                            "ratings-model",
                            figures.mean_ratings(by_model, "Mean rating per model key"),
                        ),
                    )
                ]
            ),
        ]
    )
