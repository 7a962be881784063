"""Plotly figures: the style map, the dendrogram, style sizes, trends, ratings."""

from __future__ import annotations

import numpy as np
import plotly.figure_factory as ff
import plotly.graph_objects as go
from plotly.colors import qualitative

from dash_app.rating_stats import MeanRating
from dash_app.trends import WeeklyShares

PALETTE = qualitative.Bold + qualitative.Pastel + qualitative.Dark24
_LAYOUT = {
    "template": "plotly_white",
    "margin": {"l": 40, "r": 10, "t": 30, "b": 40},
    "font": {"family": "system-ui, -apple-system, 'Segoe UI', sans-serif", "size": 12},
}


def colour_of(style: int) -> str:
    return PALETTE[style % len(PALETTE)]


def style_map(
    points: np.ndarray,
    labels: np.ndarray,
    names: list[str],
    shas: list[str],
    max_points: int,
    seed: int = 0,
) -> go.Figure:
    """All items (or an even sample of `max_points`) on the first two principal components.

    The trace hover is off: the page shows the item's thumbnail in a tooltip instead."""
    keep = np.arange(len(points))
    if len(keep) > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(keep, max_points, replace=False))
    fig = go.Figure()
    for style, name in enumerate(names):
        members = keep[labels[keep] == style]
        if not len(members):
            continue
        fig.add_trace(
            go.Scattergl(
                x=points[members, 0],
                y=points[members, 1],
                mode="markers",
                name=name,
                marker={"size": 7, "color": colour_of(style), "opacity": 0.8},
                customdata=[[shas[i], style] for i in members],
                hoverinfo="none",
            )
        )
    fig.update_layout(
        **_LAYOUT,
        height=480,
        legend={"itemsizing": "constant"},
        dragmode="pan",
        xaxis={"title": "PC 1", "zeroline": False},
        yaxis={"title": "PC 2", "zeroline": False},
    )
    return fig


def dendrogram(centroids: np.ndarray, linkage: np.ndarray, names: list[str]) -> go.Figure:
    """How the styles join, from the stored linkage (plotly's figure factory draws it)."""
    if len(centroids) < 2 or len(linkage) != len(centroids) - 1:
        fig = go.Figure()
        fig.add_annotation(text="One style only: nothing to join.", showarrow=False)
        fig.update_layout(**_LAYOUT, height=200)
        return fig
    fig = ff.create_dendrogram(
        centroids,
        orientation="left",
        labels=names,
        linkagefun=lambda _: linkage,
        colorscale=PALETTE,
    )
    fig.update_layout(**_LAYOUT, height=max(260, 34 * len(names)), showlegend=False)
    fig.update_xaxes(title="merge distance")
    return fig


def sizes(names: list[str], counts: np.ndarray) -> go.Figure:
    """Items per style, largest first; clicking a bar browses that style."""
    order = np.argsort(-counts, kind="stable")
    fig = go.Figure(
        go.Bar(
            x=counts[order],
            y=[names[i] for i in order],
            orientation="h",
            marker={"color": [colour_of(int(i)) for i in order]},
            customdata=[[int(i)] for i in order],
            hovertemplate="%{y}: %{x} items<extra></extra>",
        )
    )
    fig.update_layout(**_LAYOUT, height=max(260, 30 * len(names)), yaxis={"autorange": "reversed"})
    return fig


def trends(weekly: WeeklyShares, names: list[str], highlight: set[int]) -> go.Figure:
    """Each style's share of the week's posts."""
    fig = go.Figure()
    shares = weekly.shares
    for style, name in enumerate(names):
        if not weekly.counts[:, style].any():
            continue
        fig.add_trace(
            go.Scatter(
                x=weekly.weeks,
                y=100 * shares[:, style],
                mode="lines+markers",
                name=name,
                line={"color": colour_of(style), "width": 4 if style in highlight else 2},
                customdata=weekly.counts[:, style],
                hovertemplate=f"{name}<br>week of %{{x|%d %b %Y}}: %{{y:.1f}}%"
                " (%{customdata} posts)<extra></extra>",
            )
        )
    fig.update_layout(
        **_LAYOUT,
        height=440,
        yaxis={"title": "share of the week's posts (%)"},
        xaxis={"title": "week"},
        hovermode="closest",
    )
    return fig


def ratings_over_time(days: list[str], counts: list[int], means: list[float]) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(go.Bar(x=days, y=counts, name="ratings", marker={"color": "#e7c6d5"}))
    fig.add_trace(
        go.Scatter(
            x=days,
            y=means,
            name="mean rating",
            yaxis="y2",
            mode="lines+markers",
            line={"color": "#c2185b"},
        )
    )
    fig.update_layout(
        **_LAYOUT,
        height=320,
        xaxis={"type": "category", "title": "day"},  # one bar per day, even for a single day
        yaxis={"title": "ratings"},
        yaxis2={"title": "mean", "overlaying": "y", "side": "right", "range": [0.8, 5.2]},
        legend={"orientation": "h", "y": 1.12},
    )
    return fig


def mean_ratings(means: list[MeanRating], title: str) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            x=[m.mean for m in means],
            y=[m.group for m in means],
            orientation="h",
            text=[f"{m.mean:.2f} ({m.count})" for m in means],
            textposition="auto",
            marker={"color": "#2a9d8f"},
        )
    )
    fig.update_layout(
        **_LAYOUT,
        height=max(220, 32 * len(means)),
        title=title,
        xaxis={"range": [0, 5], "title": "mean rating"},
        yaxis={"autorange": "reversed"},
    )
    return fig
