"""Small layout pieces shared by pages."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from store import StoreStats
from store.cli_support import human_bytes

__all__ = ["header_counts", "human_bytes", "stat_card", "weights_banner"]


def header_counts(stats: StoreStats, model_key: str | None = None) -> html.Span:
    """The store's counts and the index's model for the navigation bar."""
    parts = [("images", stats.images), ("tags", stats.tags), ("ratings", stats.ratings)]
    model = html.Span(
        model_key or "no style index yet",
        className="ss-model small text-muted",
        id="model-key",
        title="backbone, weights, input size and pooling of the current style index",
    )
    return html.Span(
        [html.Span([html.Strong(f"{n:,}"), f" {label}"], className="me-3") for label, n in parts]
        + [model],
        className="ss-count",
        id="header-counts",
    )


def weights_banner(note: str) -> html.Div:
    """A visible warning when the index was built with random weights (empty otherwise)."""
    if not note:
        return html.Div(id="weights-banner")
    return html.Div(
        dbc.Alert([html.Strong("Random weights. "), note], color="warning", className="mb-3"),
        id="weights-banner",
    )


def stat_card(label: str, value: str, note: str = "", card_id: str | None = None) -> dbc.Card:
    """A big number with a label."""
    body = [html.Div(label, className="text-muted small"), html.Div(value, className="display-6")]
    if note:
        body.append(html.Div(note, className="small text-muted"))
    return dbc.Card(dbc.CardBody(body), className="ss-stat h-100", id=card_id or "")
