"""Trends: each style's share of posts per week (reposts included; post time, else scrape time), by
tag, with the rising and falling styles called out."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from dash_app import figures
from dash_app.components import graph, panel
from dash_app.context import get_context
from dash_app.trends import rising_and_falling, trend_slopes, weekly_shares

dash.register_page(__name__, path="/trends", name="Trends", title="StyleScout · trends", order=3)
ALL_TAGS = "__all__"
MIN_POSTS = 5  # weeks with fewer posts are left out of the chart and the slopes


def layout(**_query: str) -> html.Div:
    app = get_context()
    options = [{"label": "all tags", "value": ALL_TAGS}] + [
        {"label": f"#{t} ({n})", "value": t} for t, n in app.store.tag_counts()[:300]
    ]
    return html.Div(
        [
            html.Div(
                [
                    html.H1("Style trends", className="h3 mb-0 me-auto"),
                    dcc.Dropdown(
                        id="trend-tag",
                        options=options,
                        value=ALL_TAGS,
                        clearable=False,
                        style={"minWidth": "16rem"},
                    ),
                ],
                className="d-flex align-items-center mb-3",
            ),
            dcc.Loading(html.Div(id="trend-view"), type="dot", delay_show=150),
        ]
    )


def _callout(title: str, items: list[tuple[str, float]], colour: str, element_id: str) -> dbc.Col:
    body = [html.Div(title, className="text-muted small text-uppercase")]
    if items:
        body += [
            html.Div([html.Strong(name), f"  {100 * slope:+.1f} points/week"], className="mt-1")
            for name, slope in items
        ]
    else:
        body.append(html.Div("none to speak of", className="text-muted mt-1"))
    return dbc.Col(
        dbc.Card(dbc.CardBody(body), className=f"ss-callout border-{colour}", id=element_id),
        md=6,
        className="mb-3",
    )


def trend_view(tag: str | None) -> list:
    """The chart and the call-outs for one tag (or all)."""
    app = get_context()
    loaded = app.engine.loaded()
    if loaded is None:
        return [
            dbc.Alert(
                "No style index yet: scrape a tag on the Scrape page first.",
                color="info",
                id="no-index",
            )
        ]
    if tag is not None and (not isinstance(tag, str) or len(tag) > 100):
        return [dbc.Alert("That tag was not accepted.", color="warning")]
    index = loaded.index
    posts = app.store.post_times(None if tag in (None, ALL_TAGS) else tag)
    everything = weekly_shares(posts, index.ids, index.labels, len(index.centroids))
    if len(everything.weeks) == 0:
        return [dbc.Alert("No items of this tag are in the style index yet.", color="info")]
    weekly = everything.dense(MIN_POSTS)
    if len(weekly.weeks) == 0:
        return [dbc.Alert(f"No week has {MIN_POSTS} or more posts of this tag yet.", color="info")]
    sparse = len(everything.weeks) - len(weekly.weeks)
    names = index.meta.names
    rising, falling = rising_and_falling(trend_slopes(weekly.shares), names)
    highlight = {names.index(n) for n, _ in rising + falling}
    note = f"{int(weekly.counts.sum()):,} posts over {len(weekly.weeks)} weeks"
    if sparse:
        note += f" ({sparse} weeks with fewer than {MIN_POSTS} posts left out)"
    note += "; rising and falling by the slope over the last 6 weeks."
    return [
        dbc.Row(
            [
                _callout("Rising", rising, "success", "rising"),
                _callout("Falling", falling, "danger", "falling"),
            ]
        ),
        panel(
            [
                html.Div(note, className="small text-muted"),
                graph("trend-chart", figures.trends(weekly, names, highlight), toolbar=True),
            ]
        ),
    ]


callback(Output("trend-view", "children"), Input("trend-tag", "value"))(trend_view)
