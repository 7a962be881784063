"""Feedback: ratings over time, the mean rating per style and per model key, the online
comparison of two models (interleaved lists, `recommender.interleave`) and the offline one of
backbones (`python -m clustering compare`) when one was run."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from clustering.interleave import OnlineComparison, compare_online
from clustering.rating_stats import latest_only, mean_by, ratings_per_day
from dash_app.ui import figures
from dash_app.ui.components import graph, panel
from dash_app.ui.ids import (
    BACKBONES,
    FEEDBACK_SUMMARY,
    NO_COMPARISON,
    NO_RATINGS,
    ONLINE,
    ONLINE_EMPTY,
    ONLINE_OFF,
    ONLINE_WAITING,
)
from dash_app.web.context import get_context
from stylescout.settings import Config

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
            "No comparison yet: run stylescout compare on a labelled store "
            "(e.g. after stylescout import of a folder of labelled product photos)."
        )
        return panel(
            [html.Div(hint, className="text-muted small", id=NO_COMPARISON)],
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


def _many(n: int, what: str) -> str:
    return f"{n:,} {what}" + ("" if n == 1 else "s")


def _percent(x: float) -> str:
    return f"{100 * x:.0f}%"


def online_panel(config: Config, comparisons: list[OnlineComparison], ready: bool) -> dbc.Card:
    """What people's ratings of interleaved lists say: which model they prefer, from how many
    ratings, with a 95% interval; or how to turn the comparison on."""
    mix = config.recommender.interleave
    title = "Models compared online"
    if not mix.enabled:
        hint = (
            "Off. Set recommender.interleave.enabled: true (and its challenger backbone) in "
            "config.yaml and build: Discover then mixes both models' items in one list and each "
            "rating counts for the model that placed the item."
        )
        return panel([html.Div(hint, className="text-muted small", id=ONLINE_OFF)], title, "mb-3")
    body: list = []
    if not ready:
        body.append(
            html.Div(
                f"On, but no index of the challenger ({mix.challenger}) yet: run stylescout "
                "build (or a scrape on the Scrape page) to build it.",
                className="text-muted small",
                id=ONLINE_WAITING,
            )
        )
    if not comparisons:
        body.append(
            html.Div(
                "No interleaved list has been rated yet.",
                className="text-muted small",
                id=ONLINE_EMPTY,
            )
        )
    for n, c in enumerate(comparisons[:3]):
        p = c.preference
        decided = p.a_wins + p.b_wins
        if decided == 0:
            verdict = "no list has a winner yet (ties say nothing)"
        elif not p.decided:
            verdict = "no preference yet: the interval includes 50%"
        else:
            verdict = f"people prefer {'A' if p.low > 0.5 else 'B'}"
        body.append(
            html.Div(
                [
                    html.Div(f"A: {c.model_a}", className="small"),
                    html.Div(f"B: {c.model_b}", className="small"),
                    html.Div(
                        f"A won {p.a_wins} and B {p.b_wins} of {decided} lists with a winner "
                        f"(A {_percent(p.share_a)}, 95% interval {_percent(p.low)} to "
                        f"{_percent(p.high)}), from {_many(c.ratings, 'rating')} on "
                        f"{_many(c.lists, 'rated list')}: {verdict}.",
                        className="fw-semibold" if n == 0 else "",
                    ),
                ],
                className="mb-2",
                id="online-result" if n == 0 else f"online-result-{n}",
            )
        )
    body.append(
        html.Div(
            f"A list is won by the model whose items got more ratings of {mix.liked} or better "
            "(team-draft interleaving).",
            className="text-muted small",
        )
    )
    return panel(body, title, "mb-3")


def layout(**_query: str) -> html.Div:
    from clustering.compare import load_comparison

    app = get_context()
    history = app.store.ratings.ratings_history()
    title = html.H1("Feedback", className="h3")
    mix = app.config.recommender.interleave
    comparisons = compare_online(app.store.ratings.interleaved_ratings(), mix.liked)
    online = html.Div(
        online_panel(app.config, comparisons, app.engine.challenger() is not None), id=ONLINE
    )
    compared = html.Div(
        [online, html.Div(backbones_panel(load_comparison(app.store)), id=BACKBONES)]
    )
    if not history:
        return html.Div(
            [
                title,
                dbc.Alert(
                    "No ratings yet: rate the recommended items on the Discover page.",
                    color="info",
                    id=NO_RATINGS,
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
                id=FEEDBACK_SUMMARY,
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
