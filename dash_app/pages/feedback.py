"""Feedback: ratings over time, the mean rating per style and per model key, and the offline
comparison of backbones (`python -m clustering compare`) when one was run."""

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


def _number(value: object, spec: str) -> str:
    return format(value, spec) if isinstance(value, int | float) else "-"


def backbones_panel(saved: dict | None) -> dbc.Card:
    """The last offline comparison of backbones as a table, or how to run one. The saved file
    is the store's own but is read as untrusted: only numbers are shown as numbers."""
    if saved is None:
        hint = (
            "No comparison yet: run python -m clustering compare on a labelled store "
            "(e.g. after python -m scraper import ../shared/data/fashion-small-dev)."
        )
        return panel(
            [html.Div(hint, className="text-muted small", id="no-comparison")],
            "Backbones compared",
            "mb-3",
        )
    columns = [c for c in saved.get("label_columns", []) if isinstance(c, str)][:4]
    k = saved.get("k") if isinstance(saved.get("k"), int) else 10
    header = html.Thead(
        html.Tr(
            [html.Th("backbone")]
            + [html.Th(f"P@{k} {c}") for c in columns]
            + [html.Th(f"NMI {c}") for c in columns]
            + [html.Th("images/s"), html.Th("dims"), html.Th("peak MB")]
        )
    )
    rows = []
    for row in saved["rows"][:10]:
        if not isinstance(row, dict):
            continue
        precision = row.get("precision_at_k")
        precision = precision if isinstance(precision, dict) else {}
        nmi = row.get("nmi") if isinstance(row.get("nmi"), dict) else {}
        speed = row.get("images_per_s")
        rows.append(
            html.Tr(
                [html.Td(str(row.get("backbone", "?"))[:40])]
                + [html.Td(_number(precision.get(c), ".3f")) for c in columns]
                + [html.Td(_number(nmi.get(c), ".3f")) for c in columns]
                + [
                    html.Td("cached" if speed is None else _number(speed, ".1f")),
                    html.Td(_number(row.get("dims"), "d")),
                    html.Td(_number(row.get("peak_mb"), ".0f")),
                ]
            )
        )
    note = (
        f"Offline, on the store's labelled images ({str(saved.get('compared_at'))[:25]}): "
        "leave-one-out precision@k per label column and the NMI of each backbone's styles."
    )
    return panel(
        [
            html.Div(note, className="text-muted small"),
            dbc.Table([header, html.Tbody(rows)], size="sm", className="mt-2 mb-0"),
        ],
        "Backbones compared",
        "mb-3",
    )


def layout(**_query: str) -> html.Div:
    from clustering.compare import load_comparison

    app = get_context()
    history = app.store.ratings_history()
    title = html.H1("Feedback", className="h3")
    compared = html.Div(backbones_panel(load_comparison(app.store)), id="backbones")
    if not history:
        return html.Div(
            [
                title,
                dbc.Alert(
                    "No ratings yet: rate the recommended items on the Discover page.",
                    color="info",
                    id="no-ratings",
                ),
                compared,
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
            compared,
        ]
    )
