"""Plotly figures: the style map, the dendrogram, style sizes, trends, styles and trends per
source, ratings."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterator

import numpy as np
import plotly.figure_factory as ff
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from clustering.rating_stats import MeanRating
from clustering.trends.shares import SourceStyles, WeeklyShares

PALETTE = qualitative.Bold + qualitative.Pastel + qualitative.Dark24
_LAYOUT = {
    "template": "plotly_white",
    "margin": {"l": 40, "r": 10, "t": 30, "b": 40},
    "font": {"family": "system-ui, -apple-system, 'Segoe UI', sans-serif", "size": 12},
}


def colour_of(style: int) -> str:
    return PALETTE[style % len(PALETTE)]


def _week_axis(weeks: list[dt.date]) -> dict:
    """A week axis; one week alone gets a week of room either side (not a millisecond scale)."""
    axis: dict = {"title_text": "week"}
    if len(set(weeks)) == 1:
        axis["range"] = [weeks[0] - dt.timedelta(weeks=1), weeks[0] + dt.timedelta(weeks=1)]
    return axis


def plain(text: str) -> str:
    """Text for a Plotly label: Plotly reads a few HTML tags and entities in labels, so a source
    name such as 'a<b>' is escaped and shown as it is."""
    return html.escape(text, quote=False)


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


def _share_lines(
    weekly: WeeklyShares, names: list[str], of: str, where: str = ""
) -> Iterator[tuple[int, go.Scatter]]:
    """(style, line) for each style with posts: its weekly share, with counts in the hover."""
    totals = weekly.counts.sum(axis=1)
    for style, name in enumerate(names):
        if not weekly.counts[:, style].any():
            continue
        yield (
            style,
            go.Scatter(
                x=weekly.weeks,
                y=100 * weekly.shares[:, style],
                mode="lines+markers",
                name=name,
                line={"color": colour_of(style), "width": 2},
                customdata=np.stack([weekly.counts[:, style], totals], axis=1),
                hovertemplate=f"{name}{where}<br>week of %{{x|%d %b %Y}}: %{{y:.1f}}% {of}"
                " (%{customdata[0]} of %{customdata[1]} posts)<extra></extra>",
            ),
        )


def trends(
    weekly: WeeklyShares, names: list[str], highlight: set[int], source: str | None = None
) -> go.Figure:
    """Each style's share of the week's posts: of all posts, or of one source's posts only."""
    fig = go.Figure()
    of = f"of {plain(source)}'s posts" if source is not None else "of the week's posts"
    for style, line in _share_lines(weekly, names, of):
        line.line.width = 4 if style in highlight else 2
        fig.add_trace(line)
    layout = dict(_LAYOUT)
    if source is not None:
        layout["margin"] = {**_LAYOUT["margin"], "t": 70}
        layout["title"] = {
            "text": f"Styles on {plain(source)}",
            "subtitle": {
                "text": f"share of {plain(source)}'s posts that week, so sites of different"
                " sizes compare fairly"
            },
        }
    fig.update_layout(
        **layout,
        height=440,
        yaxis={"title": f"share {of} (%)" if source else "share of the week's posts (%)"},
        xaxis=_week_axis(weekly.weeks),
        hovermode="closest",
    )
    return fig


def trends_by_source(by_source: dict[str, WeeklyShares], names: list[str]) -> go.Figure:
    """Small multiples: one panel per source, each style's share of that source's posts per week
    (one legend entry per style switches it in every panel; the panels share both axes)."""
    sources = list(by_source)
    titles = [f"{plain(s)} · {int(by_source[s].counts.sum()):,} posts" for s in sources]
    fig = make_subplots(
        rows=len(sources), cols=1, shared_xaxes=True, subplot_titles=titles, vertical_spacing=0.08
    )
    shown: set[int] = set()
    for row, source in enumerate(sources, start=1):
        of = f"of {plain(source)}'s posts"
        for style, line in _share_lines(by_source[source], names, of, f" on {plain(source)}"):
            line.legendgroup, line.showlegend = str(style), style not in shown
            fig.add_trace(line, row=row, col=1)
            shown.add(style)
    top = max((float(w.shares.max()) for w in by_source.values() if w.shares.size), default=1)
    # one scale for every panel
    fig.update_yaxes(range=[0, 105 * max(top, 0.01)], title_text="% of posts")
    weeks = [w for weekly in by_source.values() for w in weekly.weeks]
    fig.update_xaxes(**_week_axis(weeks), row=len(sources), col=1)  # the others match it
    fig.update_layout(
        **{**_LAYOUT, "margin": {**_LAYOUT["margin"], "t": 110}},
        title={
            "text": "Each style's share per source",
            "subtitle": {
                "text": "share of that source's posts that week, so sites of different sizes"
                " compare fairly"
            },
        },
        height=120 + 200 * len(sources),
        hovermode="closest",
    )
    return fig


def source_styles(counts: SourceStyles, names: list[str]) -> go.Figure:
    """Styles × sources: colour is a style's share of the source's posts (each column sums to
    100%), so a small site and a large one compare fairly; cells give the post counts."""
    shares = 100 * counts.shares
    totals = counts.totals
    sources = [plain(s) for s in counts.sources]
    cells = np.stack(
        [counts.posts, counts.items, np.broadcast_to(totals, counts.posts.shape)], axis=-1
    )
    fig = go.Figure(
        go.Heatmap(
            z=shares,
            x=sources,
            y=names,
            text=[
                [f"{int(n):,} · {p:.0f}%" for n, p in zip(row, prow, strict=True)]
                for row, prow in zip(counts.posts, shares, strict=True)
            ],
            texttemplate="%{text}",
            customdata=cells,
            colorscale="Blues",
            zmin=0,
            colorbar={"title": {"text": "% of the<br>source's posts"}},
            hovertemplate="%{y} on %{x}: %{z:.1f}% of %{x}'s posts"
            " (%{customdata[0]} of %{customdata[2]} posts, %{customdata[1]} items)<extra></extra>",
        )
    )
    fig.update_layout(
        **{**_LAYOUT, "margin": {**_LAYOUT["margin"], "t": 60}},
        height=max(220, 90 + 34 * len(names)),
        xaxis={"type": "category", "side": "top"},
        yaxis={"type": "category", "autorange": "reversed"},
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


def tag_trends(trends: list) -> go.Figure:
    """Posts per week of each followed tag over the weeks its scrapes cover (counts, with the
    share of all posts in the hover), and each one's 4-week forecast with its 95% band, dashed
    (the method with the best record on past weeks, dash_app.pages.trends). `trends` are
    `clustering.trends.model.Trend`s."""
    fig = go.Figure()
    for i, trend in enumerate(trends):
        colour = colour_of(i)
        name = f"#{plain(trend.name)}"
        fig.add_trace(
            go.Scatter(
                x=trend.coverage.weeks,
                y=trend.counts,
                mode="lines+markers",
                name=name,
                legendgroup=name,
                line={"color": colour, "width": 3 if trend.significant else 1.5},
                customdata=100 * trend.shares,
                hovertemplate=f"{name}<br>week of %{{x|%d %b %Y}}: %{{y:.0f}} posts"
                " (%{customdata:.1f}% of all posts)<extra></extra>",
            )
        )
        if trend.forecast:
            weeks = [f.week for f in trend.forecast]
            fig.add_trace(
                go.Scatter(
                    x=weeks + weeks[::-1],
                    y=[f.high for f in trend.forecast] + [f.low for f in trend.forecast][::-1],
                    fill="toself",
                    fillcolor=colour,
                    opacity=0.15,
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=name,
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=[trend.coverage.last, *weeks],
                    y=[float(trend.counts[-1]), *(f.mean for f in trend.forecast)],
                    mode="lines",
                    line={"color": colour, "dash": "dash", "width": 1.5},
                    showlegend=False,
                    legendgroup=name,
                    hovertemplate=f"{name} forecast<br>week of %{{x|%d %b %Y}}: %{{y:.0f}} posts"
                    "<extra></extra>",
                )
            )
    weeks = [w for t in trends for w in t.coverage.weeks + [f.week for f in t.forecast]]
    fig.update_layout(
        **_LAYOUT,
        height=420,
        yaxis={"title": "posts per week", "rangemode": "tozero"},
        xaxis=_week_axis(weeks) if weeks else {},
        hovermode="closest",
    )
    return fig


def interest(series: list, by: str = "tag") -> go.Figure:
    """Interest 0-100 (each series' weekly share of all posts of its source, scaled to its own
    peak, as trend tools show it), one line per tag (`by` "tag") or per source ("source").
    `series` are `clustering.trends.interest.Interest`s."""
    fig = go.Figure()
    for i, one in enumerate(series):
        label = f"#{plain(one.name)}" if by == "tag" else plain(one.source or "all sources")
        fig.add_trace(
            go.Scatter(
                x=one.weeks,
                y=one.index,
                mode="lines+markers",
                name=label,
                line={"color": colour_of(i)},
                customdata=np.stack([one.counts, one.totals], axis=-1),
                hovertemplate=f"{label}<br>week of %{{x|%d %b %Y}}: %{{y:.0f}}/100"
                " (%{customdata[0]:.0f} of %{customdata[1]:.0f} posts)<extra></extra>",
            )
        )
    weeks = [w for one in series for w in one.weeks]
    fig.update_layout(
        **_LAYOUT,
        height=360,
        yaxis={"title": "interest (100: its peak share)", "range": [0, 105]},
        xaxis=_week_axis(weeks) if weeks else {},
        hovermode="closest",
    )
    return fig
