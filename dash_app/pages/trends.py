"""Trends: each style's share of posts per week (reposts included; post time, else scrape time), by
tag and by source, with the rising and falling styles called out. A source's shares are within that
source (a style's share of its posts that week), so sites of different sizes compare fairly."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from clustering.trends.model import Trend
from clustering.trends.shares import (
    WeeklyShares,
    index_sources,
    source_styles,
    tag_styles,
)
from dash_app.ui import figures
from dash_app.ui.components import graph, panel, source_dropdown, thumb
from dash_app.ui.ids import (
    EMERGING_VIEW,
    NO_INDEX,
    TAG_TREND,
    TAG_TREND_NOTE,
    TAG_TREND_RECORD,
    TAG_TREND_TABLE,
    TAG_TREND_VIEW,
    TREND_FOLLOW,
    TREND_LINK,
    TREND_NOTE,
    TREND_SOURCE,
    TREND_SOURCES_NOTE,
    TREND_TAG,
    TREND_VIEW,
)
from dash_app.web import inputs
from dash_app.web.context import AppContext, get_context

dash.register_page(__name__, path="/trends", name="Trends", title="StyleScout · trends", order=3)
ALL_TAGS = "__all__"
MIN_POSTS = 5  # weeks with fewer posts are left out of the chart and the slopes
MAX_SOURCE_PANELS = 8  # small multiples beyond this many sources are unreadable
FOLLOWED = 6  # tags followed at first: the most used
MAX_FOLLOWED = 12
# a page view starts its three views at once and each takes about a second on a large store;
# a view that finds no free analysis slot within this long is told to try again
SLOT_WAIT_S = 3.0
EMERGING = "emerging_looks"  # the key of the looks kept with each loaded index
log = logging.getLogger(__name__)


def view_link(tag: object, source: object, follow: object) -> str:
    """The query string of a view (`?tag=boho&source=mastodon&follow=a,b`): a link to it."""
    query = {}
    if isinstance(tag, str) and tag and tag != ALL_TAGS:
        query["tag"] = tag
    if isinstance(source, str) and source and source != inputs.ALL_SOURCES:
        query["source"] = source
    if isinstance(follow, list) and all(isinstance(t, str) for t in follow):
        query["follow"] = ",".join(follow[:MAX_FOLLOWED])
    return "/trends" + (f"?{urlencode(query)}" if query else "")


def layout(
    tag: str | None = None, source: str | None = None, follow: str | None = None, **_query: str
) -> html.Div:
    """The page; its query string (`?tag=`, `&source=`, `&follow=a,b`) sets the view, so a view
    can be linked and reloaded. Values that do not name a known tag or source are ignored."""
    app = get_context()
    tags = app.store.images.tag_counts()
    known_tags = {t for t, _ in tags}
    options = [{"label": "all tags", "value": ALL_TAGS}] + [
        {"label": f"#{t} ({n})", "value": t} for t, n in tags[:300]
    ]
    chosen_tag = tag if isinstance(tag, str) and tag in known_tags else ALL_TAGS
    wanted = [t for t in (follow or "").split(",")[:MAX_FOLLOWED] if t in known_tags]
    followed = wanted or [t for t, _ in tags[:FOLLOWED]]
    loaded = app.engine.loaded()
    sources = None if loaded is None else index_sources(loaded.index, app.store)
    known_sources = [] if sources is None else sources.sources
    chosen_source = source if source in known_sources else inputs.ALL_SOURCES
    return html.Div(
        [
            html.Div(
                [
                    html.H1("Style trends", className="h3 mb-0 me-auto"),
                    dcc.Dropdown(
                        id=TREND_TAG,
                        options=options,
                        value=chosen_tag,
                        clearable=False,
                        style={"minWidth": "16rem"},
                    ),
                    source_dropdown(TREND_SOURCE, sources, chosen_source),
                    html.A(
                        "link to this view",
                        id=TREND_LINK,
                        href=view_link(chosen_tag, chosen_source, followed),
                        className="ms-3 small",
                    ),
                ],
                className="d-flex align-items-center mb-3",
            ),
            dcc.Loading(html.Div(id=TREND_VIEW), type="dot", delay_show=150),
            html.Div(
                [
                    html.H2("Tag trends", className="h4 mb-0 me-auto"),
                    dcc.Dropdown(
                        id=TREND_FOLLOW,
                        options=[{"label": f"#{t} ({n})", "value": t} for t, n in tags[:300]],
                        value=followed,
                        multi=True,
                        placeholder="tags to follow",
                        style={"minWidth": "24rem"},
                    ),
                ],
                className="d-flex align-items-center mt-4 mb-3",
            ),
            dcc.Loading(html.Div(id=TAG_TREND_VIEW), type="dot", delay_show=150),
            dcc.Loading(html.Div(id=EMERGING_VIEW, className="mt-3"), type="dot"),
        ]
    )


@contextlib.contextmanager
def _analysis_slot(app: AppContext) -> Iterator[bool]:
    """Whether a slot for a costly analysis was free within SLOT_WAIT_S (held until the block
    ends): callers beyond `analysis_slots` are answered at once rather than queued."""
    got = app.analysis_slots.acquire(timeout=SLOT_WAIT_S)
    try:
        yield got
    finally:
        if got:
            app.analysis_slots.release()


def _busy(what: str) -> list:
    log.info("trends: %s refused, every analysis slot is taken", what)
    return [
        dbc.Alert(
            f"The dashboard is busy working out other views: the {what} will show when you try"
            " again in a minute (reload the page).",
            color="secondary",
        )
    ]


def _callout(title: str, items: list[Trend], colour: str, element_id: str) -> dbc.Col:
    body = [html.Div(title, className="text-muted small text-uppercase")]
    if items:
        for trend in items:
            low, high = trend.interval
            body.append(
                html.Div(
                    [
                        html.Strong(trend.name),
                        f"  share {trend.weekly_change:+.1%} a week ({low:+.1%} to {high:+.1%})",
                    ],
                    className="mt-1",
                )
            )
    else:
        body.append(html.Div("none significant", className="text-muted mt-1"))
    return dbc.Col(
        dbc.Card(dbc.CardBody(body), className=f"ss-callout border-{colour}", id=element_id),
        md=6,
        className="mb-3",
    )


def _by_source_panel(by_source: dict[str, WeeklyShares], names: list[str]) -> list:
    """Small multiples of the sources with weeks of MIN_POSTS posts or more (most posts first)."""
    dense = {s: w.dense(MIN_POSTS) for s, w in by_source.items()}
    shown = {s: w for s, w in dense.items() if len(w.weeks)}
    sparse = len(dense) - len(shown)
    shown = dict(list(shown.items())[:MAX_SOURCE_PANELS])
    left = len(dense) - len(shown) - sparse
    note = (
        "Each source on its own: a style's share of that source's posts that week, so sites of"
        " different sizes compare fairly."
    )
    if sparse:
        note += f" {sparse} sources with no week of {MIN_POSTS} or more posts are left out."
    if left:
        note += f" The {len(shown)} sources with the most posts are shown, {left} more are not."
    if not shown:
        return [panel([html.Div(note, className="small text-muted")], "By source", "mt-3")]
    return [
        panel(
            [
                html.Div(note, className="small text-muted", id=TREND_SOURCES_NOTE),
                graph("trend-sources-chart", figures.trends_by_source(shown, names), toolbar=True),
            ],
            "By source",
            "mt-3",
        )
    ]


def trend_view(tag: str | None, source: object = inputs.ALL_SOURCES) -> list:
    """The chart and the call-outs for one tag (or all) and one source (or all), and with all
    sources of several, one panel per source."""
    app = get_context()
    loaded = app.engine.loaded()
    if loaded is None:
        return [
            dbc.Alert(
                "No style index yet: scrape a tag on the Scrape page first.",
                color="info",
                id=NO_INDEX,
            )
        ]
    if tag is not None and (not isinstance(tag, str) or len(tag) > 100):
        return [dbc.Alert("That tag was not accepted.", color="warning")]
    index = loaded.index
    k = len(index.centroids)
    with _analysis_slot(app) as free:  # every post is read and a model fitted per style
        if not free:
            return _busy("style trends")
        every_post = app.store.images.source_post_times()
        try:  # any source of the index is accepted, whether or not this tag has posts there
            known = source_styles(every_post, index.ids, index.labels, k).sources
            chosen = inputs.source_name(source, known)
        except inputs.BadInput as exc:
            return [dbc.Alert(str(exc), color="warning")]
        wanted = None if tag in (None, ALL_TAGS, "") else tag
        found = tag_styles(app.store, index, wanted, chosen, MIN_POSTS, every_post)
    by_source, everything, weekly = found.by_source, found.everything, found.weekly
    on = f" on {chosen}" if chosen is not None else ""
    if everything is None or weekly is None:
        return [dbc.Alert(f"No items of this tag{on} are in the style index yet.", color="info")]
    if len(weekly.weeks) == 0:
        return [
            dbc.Alert(f"No week has {MIN_POSTS} or more posts of this tag{on} yet.", color="info")
        ]
    sparse = len(everything.weeks) - len(weekly.weeks)
    names = index.meta.names
    fitted = found.trends
    rising = [t for t in fitted if t.direction == "rising"][:3]
    falling = [t for t in reversed(fitted) if t.direction == "falling"][:3]
    highlight = {names.index(t.name) for t in rising + falling}
    note = f"{int(weekly.counts.sum()):,} posts{on} over {len(weekly.weeks)} weeks"
    if sparse:
        note += f" ({sparse} weeks with fewer than {MIN_POSTS} posts left out)"
    note += (
        "; a style is called rising or falling only when a count model of its share of the "
        "week's posts (quasi-Poisson, 95% interval, Holm over the styles) says so."
    )
    if chosen is not None:
        note += (
            f" Shares are within {chosen}: each style's share of {chosen}'s posts that week,"
            " so sites of different sizes compare fairly."
        )
    elif len(by_source) == 1:
        note += f" All from {next(iter(by_source))}."
    view = [
        dbc.Row(
            [
                _callout("Rising", rising, "success", "rising"),
                _callout("Falling", falling, "danger", "falling"),
            ]
        ),
        panel(
            [
                html.Div(note, className="small text-muted", id=TREND_NOTE),
                graph(
                    "trend-chart", figures.trends(weekly, names, highlight, chosen), toolbar=True
                ),
            ]
        ),
    ]
    if chosen is None and len(by_source) > 1:
        view += _by_source_panel(by_source, names)
    return view


callback(Output(TREND_VIEW, "children"), Input(TREND_TAG, "value"), Input(TREND_SOURCE, "value"))(
    trend_view
)


def tag_trend_view(tags: object) -> list:
    """Posts per week of the followed tags over the weeks each tag's scrapes cover, with a
    quasi-Poisson slope and interval per tag, called rising or falling only when significant
    (Holm over the tags shown), and a 4-week forecast."""
    from clustering.trends.backtest import FORECASTERS, track_record
    from clustering.trends.model import WEEK, Forecast, tag_trends

    app = get_context()
    if tags is None or tags == []:
        return [html.Div("Pick tags to follow.", className="text-muted")]
    if not isinstance(tags, list) or len(tags) > MAX_FOLLOWED:
        return [dbc.Alert(f"Follow at most {MAX_FOLLOWED} tags.", color="warning")]
    known = {t for t, _ in app.store.images.tag_counts()}
    if not all(isinstance(t, str) and len(t) <= 100 and t in known for t in tags):
        return [dbc.Alert("A tag that was not accepted: pick tags from the list.", color="warning")]
    with _analysis_slot(app) as free:
        if not free:
            return _busy("tag trends")
        trends = tag_trends(app.store, list(dict.fromkeys(tags)))
        # the forecast shown is the method that did best on these tags' past weeks, with its
        # record; none where no series is long enough to score one
        record = track_record([t.counts for t in trends], horizon=4)
        for trend in trends:
            trend.forecast = []
            if record.method is not None and len(trend.counts) > record.horizon:
                said = FORECASTERS[record.method](trend.counts, record.horizon)
                weeks = [trend.coverage.last + (i + 1) * WEEK for i in range(record.horizon)]
                trend.forecast = [
                    Forecast(week, float(m), float(lo), float(hi))
                    for week, m, lo, hi in zip(weeks, said.mean, said.low, said.high, strict=True)
                ]
    left = [t for t in tags if t not in {x.name for x in trends}]
    if not trends:
        return [
            dbc.Alert(
                "Too few whole weeks of posts for these tags to say anything yet.", color="info"
            )
        ]
    rows = []
    for trend in trends:
        low, high = trend.interval
        colour = {"rising": "success", "falling": "danger"}.get(trend.direction, "secondary")
        rows.append(
            html.Tr(
                [
                    html.Td(f"#{trend.name}"),
                    html.Td(dbc.Badge(trend.direction, color=colour)),
                    html.Td(f"{trend.weekly_change:+.1%} ({low:+.1%} to {high:+.1%})"),
                    html.Td(f"{trend.adjusted_p:.2g}"),
                    html.Td(f"{int(trend.counts.sum()):,}"),
                    html.Td(str(trend.coverage)),
                ],
                id={"type": TAG_TREND, "tag": trend.name},
            )
        )
    header = html.Thead(
        html.Tr(
            [
                html.Th(h)
                for h in ("tag", "called", "a week (95% CI)", "p (Holm)", "posts", "covers")
            ]
        )
    )
    note = (
        "Posts per week over the whole weeks each tag's scrapes cover (a scrape of a tag's newest "
        "posts reaches back further for a quiet tag than a busy one). A tag is called rising or "
        "falling only when its slope's 95% interval, after a Holm correction over the tags "
        "shown, leaves out zero; dashed: the next 4 weeks with their 95% band."
    )
    if left:
        note += f" Too few whole weeks to say anything: {', '.join('#' + t for t in left)}."
    return [
        panel(
            [
                html.Div(note, className="small text-muted", id=TAG_TREND_NOTE),
                html.Div(record.describe(), className="small", id=TAG_TREND_RECORD),
                graph("tag-trend-chart", figures.tag_trends(trends), toolbar=True),
                dbc.Table(
                    [header, html.Tbody(rows)],
                    size="sm",
                    className="mt-2 mb-0",
                    id=TAG_TREND_TABLE,
                ),
            ]
        )
    ]


callback(Output(TAG_TREND_VIEW, "children"), Input(TREND_FOLLOW, "value"))(tag_trend_view)
callback(
    Output(TREND_LINK, "href"),
    Input(TREND_TAG, "value"),
    Input(TREND_SOURCE, "value"),
    Input(TREND_FOLLOW, "value"),
)(view_link)


def emerging_view(_loaded: object = None) -> list:
    """What is new: the micro-styles (the items cut finer than the styles shown) whose share of
    the week's posts rises significantly, each with a few of its photos.

    The clustering behind them takes seconds to minutes (about 80 s for 20,000 items), so it is
    done once per index and kept with it (`LoadedIndex.derive`): a new build works them out
    again, page views in between reuse them, posts added since the build count from the next."""
    from clustering.trends import model

    app = get_context()
    loaded = app.engine.loaded()
    if loaded is None:
        return []
    index = loaded.index
    looks = loaded.derived.get(EMERGING)
    if looks is None:
        with _analysis_slot(app) as free:
            if not free:
                return _busy("emerging looks")
            try:  # one thread works them out; the others are answered now, not held
                looks = loaded.derive(
                    EMERGING,
                    lambda: model.emerging_looks(
                        app.store, index.ids, index.vectors, app.config.clustering
                    ),
                    timeout=0,
                )
            except TimeoutError:
                note = (
                    "Busy: the emerging looks of this index are being worked out for another"
                    " view; reload the page in a minute."
                )
                return [panel([html.Div(note, className="small text-muted")], "Emerging looks")]
    note = (
        "Finer looks than the styles above (the same clustering cut into about 48 groups), "
        "whose share of the week's posts rises significantly (quasi-Poisson, Holm over the groups)."
    )
    if not looks:
        body = [html.Div(note + " None rises clearly yet.", className="small text-muted")]
        return [panel(body, "Emerging looks")]
    cards = app.store.images.cards([i for look in looks for i in look.examples])
    rows = []
    for look in looks:
        low, high = look.trend.interval
        photos = [
            thumb(cards[i]["sha256"], 160, alt=look.name, class_name="ss-thumb me-1")
            for i in look.examples
            if i in cards
        ]
        rows.append(
            html.Div(
                [
                    html.Div(
                        [
                            html.Strong(look.name),
                            f"  {look.size} items · share {look.trend.weekly_change:+.1%} a week"
                            f" ({low:+.1%} to {high:+.1%})",
                        ]
                    ),
                    html.Div(photos, className="d-flex mt-1"),
                ],
                className="mb-3 ss-emerging",
            )
        )
    return [panel([html.Div(note, className="small text-muted mb-2"), *rows], "Emerging looks")]


# once per page view: the looks do not depend on the tag or source picked above
callback(Output(EMERGING_VIEW, "children"), Input(EMERGING_VIEW, "id"))(emerging_view)
