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

from clustering.trends.interest import (
    RISING_TOP,
    Change,
    SourceSideBySide,
    interest_of,
    rising_list,
    side_by_side,
)
from clustering.trends.model import WINDOWS, Trend, window_start
from clustering.trends.shares import (
    WeeklyShares,
    index_sources,
    source_styles,
    tag_styles,
)
from dash_app.ui import figures
from dash_app.ui.components import graph, panel, source_dropdown, thumb
from dash_app.ui.ids import (
    CSV_LINK,
    EMERGING_VIEW,
    FOLLOW_BUTTON,
    FOLLOW_MESSAGE,
    FOLLOWED_VIEW,
    INTEREST_NOTE,
    INTEREST_VIEW,
    NO_INDEX,
    NOTICES,
    NOTICES_SEEN,
    NOTICES_SHOWN,
    REGION_ROW,
    REGIONS_VIEW,
    RISING_ROW,
    RISING_TABLE,
    SITES_DISAGREE,
    SITES_NOTE,
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
    TREND_WINDOW,
)
from dash_app.web import inputs
from dash_app.web.context import AppContext, get_context
from dash_app.web.trend_exports import csv_url
from stylescout.errors import StoreError

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


def view_link(tag: object, source: object, follow: object, weeks: object = None) -> str:
    """The query string of a view (`?tag=boho&source=mastodon&follow=a,b&weeks=12`): a link
    to it."""
    query = {}
    if isinstance(tag, str) and tag and tag != ALL_TAGS:
        query["tag"] = tag
    if isinstance(source, str) and source and source != inputs.ALL_SOURCES:
        query["source"] = source
    if isinstance(follow, list) and all(isinstance(t, str) for t in follow):
        query["follow"] = ",".join(follow[:MAX_FOLLOWED])
    if weeks in WINDOWS:
        query["weeks"] = str(weeks)
    return "/trends" + (f"?{urlencode(query)}" if query else "")


class BadWindow(ValueError):
    """A window a browser sent that is not one of WINDOWS."""


def window(weeks: object) -> int | None:
    """The window picked: one of WINDOWS, or None for every week; BadWindow for anything else."""
    if weeks in (None, 0, "all"):
        return None
    if isinstance(weeks, int) and not isinstance(weeks, bool) and weeks in WINDOWS:
        return weeks
    raise BadWindow("That window was not accepted: pick one from the list.")


def _since(app: AppContext, weeks: int | None, stamps: list[str] | None = None) -> str | None:
    """The first day of the window (None: every week), from the newest post of the store."""
    if weeks is None:
        return None
    if stamps is None:
        stamps = [t for _, t in app.store.images.post_times()]
    return window_start(stamps, weeks)


def csv_link(
    view: str, tags: list[str] | None = None, source: str | None = None, weeks: int | None = None
) -> html.A:
    """A link to the CSV of a chart's numbers (`/trends/export/<view>.csv`)."""
    return html.A(
        "CSV",
        href=csv_url(view, tags, source, weeks),
        id={"type": CSV_LINK, "view": view},
        className="small ms-2",
        download="",
    )


def layout(
    tag: str | None = None,
    source: str | None = None,
    follow: str | None = None,
    weeks: str | None = None,
    **_query: str,
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
    chosen_weeks = int(weeks) if weeks in {str(w) for w in WINDOWS} else "all"
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
                    dcc.Dropdown(
                        id=TREND_WINDOW,
                        options=[{"label": "every week", "value": "all"}]
                        + [{"label": f"last {w} weeks", "value": w} for w in WINDOWS],
                        value=chosen_weeks,
                        clearable=False,
                        style={"minWidth": "10rem"},
                        className="ms-2",
                    ),
                    html.A(
                        "link to this view",
                        id=TREND_LINK,
                        href=view_link(chosen_tag, chosen_source, followed, chosen_weeks),
                        className="ms-3 small",
                    ),
                ],
                className="d-flex align-items-center mb-3",
            ),
            html.Div(notices_view(), id=NOTICES),
            dcc.Loading(html.Div(id=TREND_VIEW), type="dot", delay_show=150),
            dcc.Loading(html.Div(id=REGIONS_VIEW), type="dot"),
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
            dcc.Loading(html.Div(id=INTEREST_VIEW, className="mt-3"), type="dot", delay_show=150),
            html.Div(
                [
                    html.Div(followed_view(), id=FOLLOWED_VIEW),
                    dbc.Button(
                        "Gather the tag chosen above on a schedule",
                        id=FOLLOW_BUTTON,
                        n_clicks=0,
                        size="sm",
                        color="secondary",
                        outline=True,
                        className="mt-2",
                    ),
                    html.Span(id=FOLLOW_MESSAGE, className="small ms-2"),
                ],
                className="mt-3",
            ),
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


def trend_view(tag: str | None, source: object = inputs.ALL_SOURCES, weeks: object = None) -> list:
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
        try:
            since = _since(app, window(weeks), [t for _, _, t in every_post])
        except BadWindow as exc:
            return [dbc.Alert(str(exc), color="warning")]
        found = tag_styles(app.store, index, wanted, chosen, MIN_POSTS, every_post, since)
        sites = None
        if wanted is not None and chosen is None:
            recent = [p for p in every_post if p[2] >= since] if since else every_post
            sites = side_by_side(recent, app.store.images.tags_by_image(), wanted)
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
                html.Div(
                    [
                        html.Span(note, id=TREND_NOTE),
                        csv_link("styles", [wanted] if wanted else None, chosen, window(weeks)),
                    ],
                    className="small text-muted",
                ),
                graph(
                    "trend-chart", figures.trends(weekly, names, highlight, chosen), toolbar=True
                ),
            ]
        ),
    ]
    if chosen is None and len(by_source) > 1:
        view += _by_source_panel(by_source, names)
    if sites is not None and len(sites.by_source) > 1:
        view += _sites_panel(sites, window(weeks))
    return view


def _sites_panel(sites: SourceSideBySide, weeks: int | None = None) -> list:
    """One tag's interest on each site side by side, each within its own site, with each site's
    call and a sentence where the sites disagree."""
    note = (
        f"#{sites.tag} on each site: its share of that site's posts each week, 100 at that site's"
        " own peak, so a small site and a large one read on the same scale."
    )
    calls = [
        html.Li(c.describe(), id={"type": RISING_ROW, "tag": sites.tag, "source": c.source})
        for c in sites.changes
    ]
    body = [
        html.Div(
            [note, csv_link("sources", [sites.tag], None, weeks)],
            className="small text-muted",
            id=SITES_NOTE,
        ),
    ]
    if sites.disagreement:
        body.append(
            dbc.Alert(
                sites.disagreement, color="warning", className="py-1 small", id=SITES_DISAGREE
            )
        )
    body += [
        graph("sites-chart", figures.interest(list(sites.by_source.values()), by="source")),
        html.Ul(calls, className="small mb-0"),
    ]
    return [panel(body, "On each site", "mt-3")]


callback(
    Output(TREND_VIEW, "children"),
    Input(TREND_TAG, "value"),
    Input(TREND_SOURCE, "value"),
    Input(TREND_WINDOW, "value"),
)(trend_view)


def tag_trend_view(tags: object, weeks: object = None) -> list:
    """Posts per week of the followed tags over the weeks each tag's scrapes cover, with a
    quasi-Poisson slope and interval per tag, called rising or falling only when significant
    (Holm over the tags shown), and a 4-week forecast."""
    from clustering.trends.backtest import forecast_by_record
    from clustering.trends.model import tag_trends

    app = get_context()
    if tags is None or tags == []:
        return [html.Div("Pick tags to follow.", className="text-muted")]
    if not isinstance(tags, list) or len(tags) > MAX_FOLLOWED:
        return [dbc.Alert(f"Follow at most {MAX_FOLLOWED} tags.", color="warning")]
    known = {t for t, _ in app.store.images.tag_counts()}
    if not all(isinstance(t, str) and len(t) <= 100 and t in known for t in tags):
        return [dbc.Alert("A tag that was not accepted: pick tags from the list.", color="warning")]
    try:
        since = _since(app, window(weeks))
    except BadWindow as exc:
        return [dbc.Alert(str(exc), color="warning")]
    with _analysis_slot(app) as free:
        if not free:
            return _busy("tag trends")
        trends = tag_trends(app.store, list(dict.fromkeys(tags)), since=since)
        # the forecast shown is the method that did best on these tags' past weeks, with its
        # record; none where no series is long enough to score one
        record = forecast_by_record(trends, horizon=4)
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
                html.Div(
                    [
                        record.describe(),
                        csv_link("forecast", [t.name for t in trends], None, window(weeks)),
                    ],
                    className="small",
                    id=TAG_TREND_RECORD,
                ),
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


callback(
    Output(TAG_TREND_VIEW, "children"), Input(TREND_FOLLOW, "value"), Input(TREND_WINDOW, "value")
)(tag_trend_view)

LABEL_COLOURS = {"new": "primary", "rising": "success", "falling": "danger", "steady": "secondary"}


def _rising_row(change: Change) -> html.Tr:
    growth = change.growth(short=True)
    marks = [dbc.Badge(change.label, color=LABEL_COLOURS[change.label])]
    if change.breakout:
        marks.append(dbc.Badge("breakout", color="warning", className="ms-1"))
    return html.Tr(
        [
            html.Td(f"#{change.name}"),
            html.Td(marks),
            html.Td(growth),
            html.Td(f"{change.adjusted_p:.2g}"),
            html.Td(f"{change.weekly_change:+.1%} (p {change.trend_p:.2g})"),
            html.Td(f"{change.interest:.0f}"),
        ],
        id={"type": RISING_ROW, "tag": change.name, "source": change.source or ""},
    )


def interest_view(tags: object, source: object = inputs.ALL_SOURCES, weeks: object = None) -> list:
    """Interest 0-100 of the followed tags (each week's share of all posts of that source, to
    its own peak) and the rising list of the most used tags: the last 3 weeks against the 3
    before, labelled by the count model (clustering.trends.interest)."""
    app = get_context()
    if tags is not None and (not isinstance(tags, list) or len(tags) > MAX_FOLLOWED):
        return [dbc.Alert(f"Follow at most {MAX_FOLLOWED} tags.", color="warning")]
    counts = app.store.images.tag_counts()
    known = {t for t, _ in counts}
    if not all(isinstance(t, str) and len(t) <= 100 and t in known for t in tags or []):
        return [dbc.Alert("A tag that was not accepted: pick tags from the list.", color="warning")]
    followed = list(dict.fromkeys(tags or []))
    with _analysis_slot(app) as free:
        if not free:
            return _busy("interest")
        every_post = app.store.images.source_post_times()
        try:
            chosen = inputs.source_name(source, sorted({s for _, s, _ in every_post}))
        except inputs.BadInput as exc:
            return [dbc.Alert(str(exc), color="warning")]
        try:
            since = _since(app, window(weeks), [t for _, _, t in every_post])
        except BadWindow as exc:
            return [dbc.Alert(str(exc), color="warning")]
        tags_of = app.store.images.tags_by_image()
        top = [t for t, _ in counts[:RISING_TOP]]
        found = interest_of(every_post, tags_of, list(dict.fromkeys(followed + top)), chosen, since)
        changes = rising_list(found[t] for t in top if t in found)
    on = f" on {chosen}" if chosen else ""
    shown = [found[t] for t in followed if t in found]
    note = (
        f"Interest{on}: each week's posts of a tag divided by all posts{on} that week, 100 at the"
        " tag's own peak, over the whole weeks its scrapes cover (Google Trends' scale)."
    )
    body: list = [
        html.Div(
            [note, csv_link("interest", followed, chosen, window(weeks))],
            className="small text-muted",
            id=INTEREST_NOTE,
        )
    ]
    if shown:
        body.append(graph("interest-chart", figures.interest(shown), toolbar=True))
    header = html.Thead(
        html.Tr(
            [
                html.Th(h)
                for h in (
                    "tag",
                    "called",
                    "last 3 weeks vs 3 before",
                    "p (Holm)",
                    "trend a week (p)",
                    "interest now",
                )
            ]
        )
    )
    rising_note = (
        f"Rising list of the {len(top)} most used tags{on}: share of the last 3 weeks against the 3"
        " before (score test of two Poisson rates, counts scaled by each tag's overdispersion,"
        " Holm over the tags). Called rising or falling when the count model's slope over all"
        " covered weeks is significant (Holm), new when it had no post in the 3 weeks before and"
        " rose significantly now; breakout: a significant rise to more than 10 times."
    )
    short = [t for t in top if t in found and t not in {c.name for c in changes}]
    if short:
        rising_note += f" Fewer than 6 whole weeks to compare: {', '.join('#' + t for t in short)}."
    body += [
        html.H3("Rising", className="h6 mt-3"),
        html.Div(
            [rising_note, csv_link("rising", None, chosen, window(weeks))],
            className="small text-muted",
        ),
        dbc.Table(
            [header, html.Tbody([_rising_row(c) for c in changes])],
            size="sm",
            className="mt-2 mb-0",
            id=RISING_TABLE,
        )
        if changes
        else html.Div("No tag has 6 whole weeks to compare yet.", className="text-muted"),
    ]
    return [panel(body, "Interest")]


callback(
    Output(INTEREST_VIEW, "children"),
    Input(TREND_FOLLOW, "value"),
    Input(TREND_SOURCE, "value"),
    Input(TREND_WINDOW, "value"),
)(interest_view)
callback(
    Output(TREND_LINK, "href"),
    Input(TREND_TAG, "value"),
    Input(TREND_SOURCE, "value"),
    Input(TREND_FOLLOW, "value"),
    Input(TREND_WINDOW, "value"),
)(view_link)


_LOOK_FIELDS = {
    "name": str,
    "size": int,
    "examples": list,
    "weekly_change": float,
    "low": float,
    "high": float,
}


def _saved_looks(found: object) -> list[dict] | None:
    """The looks a build kept, if they have the shape this page reads (else None: worked out
    again, as for an index built before they were kept)."""
    if not isinstance(found, list):
        return None
    for look in found:
        if not isinstance(look, dict) or not all(
            isinstance(look.get(k), (int, float) if kind is float else kind)
            for k, kind in _LOOK_FIELDS.items()
        ):
            return None
        if not all(isinstance(i, int) for i in look["examples"]):
            return None
    return found


def emerging_view(_loaded: object = None) -> list:
    """What is new: the micro-styles (the items cut finer than the styles shown) whose share of
    the week's posts rises significantly, each with a few of its photos.

    The clustering behind them takes seconds to minutes (about 80 s for 20,000 items), so the
    build works them out once and keeps them with the index (`derived.json`); an index built
    before that has them worked out on the first view and kept with the loaded index."""
    from clustering.index import read_derived
    from clustering.trends import model

    app = get_context()
    loaded = app.engine.loaded()
    if loaded is None:
        return []
    index = loaded.index
    looks = _saved_looks(read_derived(index.folder).get("emerging_looks"))
    if looks is None:
        looks = loaded.derived.get(EMERGING)
    if looks is None:
        with _analysis_slot(app) as free:
            if not free:
                return _busy("emerging looks")
            try:  # one thread works them out; the others are answered now, not held
                looks = loaded.derive(
                    EMERGING,
                    lambda: model.saved_looks(
                        model.emerging_looks(
                            app.store, index.ids, index.vectors, app.config.clustering
                        )
                    ),
                    timeout=0,
                )
            except TimeoutError:
                note = (
                    "Busy: the emerging looks of this index are being worked out for another"
                    " view; reload the page in a minute."
                )
                return [panel([html.Div(note, className="small text-muted")], "Emerging looks")]
            except Exception:  # the page stays up; the log says why
                log.exception("trends: the emerging looks could not be worked out")
                note = "The emerging looks could not be worked out (see the dashboard's log)."
                return [panel([html.Div(note, className="small text-muted")], "Emerging looks")]
    note = (
        "Finer looks than the styles above (the same clustering cut into about 48 groups), "
        "whose share of the week's posts rises significantly (quasi-Poisson, Holm over the groups),"
        " worked out when the styles were built."
    )
    if not looks:
        body = [html.Div(note + " None rises clearly yet.", className="small text-muted")]
        return [panel(body, "Emerging looks")]
    cards = app.store.images.cards([i for look in looks for i in look["examples"]])
    rows = []
    for look in looks:
        photos = [
            thumb(cards[i]["sha256"], 160, alt=look["name"], class_name="ss-thumb me-1")
            for i in look["examples"]
            if i in cards
        ]
        rows.append(
            html.Div(
                [
                    html.Div(
                        [
                            html.Strong(look["name"]),
                            f"  {look['size']} items · share {look['weekly_change']:+.1%} a week"
                            f" ({look['low']:+.1%} to {look['high']:+.1%})",
                        ]
                    ),
                    html.Div(photos, className="d-flex mt-1"),
                ],
                className="mb-3 ss-emerging",
            )
        )
    return [panel([html.Div(note, className="small text-muted mb-2"), *rows], "Emerging looks")]


REGIONS = "regions"  # the key of the regions kept with a loaded index built before they were saved


def regions_view(_loaded: object = None) -> list:
    """Looks whose share of the posts rises or falls, found from the photos alone: every group of
    the style space's tree scanned, calibrated by shuffling the weeks (clustering.trends.regions).
    Worked out by the build and kept with the index; for an index built before, on the first
    view, kept with the loaded index."""
    from clustering.index import read_derived
    from clustering.trends.regions import Region, find_regions

    app = get_context()
    loaded = app.engine.loaded()
    if loaded is None:
        return []
    index = loaded.index
    saved = read_derived(index.folder).get(REGIONS)
    if isinstance(saved, list):
        try:
            regions = [Region.from_json(r) for r in saved]
        except (KeyError, TypeError, ValueError):
            log.warning("trends: the regions kept with %s cannot be read", index.folder)
            regions = []
    else:
        with _analysis_slot(app) as free:
            if not free:
                return _busy("rising and fading looks")
            try:
                regions = loaded.derive(
                    REGIONS,
                    lambda: find_regions(
                        app.store, index.ids, index.vectors, app.config.clustering
                    ),
                    timeout=0,
                )
            except Exception as exc:  # the page stays up; the log says why
                if isinstance(exc, TimeoutError):
                    note = "Busy: the looks of this index are being worked out; reload in a minute."
                else:
                    log.exception("trends: the rising and fading looks could not be worked out")
                    note = "The rising and fading looks could not be worked out (see the log)."
                return [
                    panel([html.Div(note, className="small text-muted")], "Rising and fading looks")
                ]
    note = (
        "Groups of similar photos, at any size the style tree holds (12 items up to a quarter of"
        " them), whose share of the week's posts rises or falls: found from the photos alone, so"
        " a trend shows even when every caption says the same. Every group was tested; the weeks"
        " shuffled 500 times hold the chance of any false call in the whole scan at 5%."
    )
    if not regions:
        body = [html.Div(note + " None moves clearly yet.", className="small text-muted")]
        return [panel(body, "Rising and fading looks", "mt-3")]
    cards = app.store.images.cards([i for r in regions for i in r.examples])
    rows = []
    for region in regions:
        low, high = region.trend.interval
        colour = "success" if region.direction == "rising" else "danger"
        photos = [
            thumb(cards[i]["sha256"], 160, alt=region.name, class_name="ss-thumb me-1")
            for i in region.examples
            if i in cards
        ]
        rows.append(
            html.Div(
                [
                    html.Div(
                        [
                            dbc.Badge(region.direction, color=colour, className="me-2"),
                            html.Strong(region.name),
                            f"  {region.size} items · share {region.trend.weekly_change:+.1%} a"
                            f" week ({low:+.1%} to {high:+.1%}), p {region.trend.adjusted_p:.2g}",
                        ]
                    ),
                    html.Div(photos, className="d-flex mt-1"),
                ],
                className="mb-3 ss-region",
                id={"type": REGION_ROW, "region": region.name},
            )
        )
    return [
        panel(
            [html.Div(note, className="small text-muted mb-2"), *rows],
            "Rising and fading looks",
            "mt-3",
        )
    ]


callback(Output(REGIONS_VIEW, "children"), Input(REGIONS_VIEW, "id"))(regions_view)


# once per page view: the looks do not depend on the tag or source picked above
callback(Output(EMERGING_VIEW, "children"), Input(EMERGING_VIEW, "id"))(emerging_view)


def notices_view() -> list:
    """What the followed tags' trends raised and nobody has dismissed yet (newest first)."""
    notices = get_context().store.follows.notices(limit=MAX_NOTICES_SHOWN)
    if not notices:
        return []
    colours = {"breakout": "warning", "new": "primary", "rising": "success"}
    items = [
        html.Div(
            [
                html.Strong(f"{n.kind}: "),
                n.text,
                html.Span(f"  {n.created_at}", className="text-muted small"),
            ]
        )
        for n in notices
    ]
    return [
        dbc.Alert(
            [
                *items,
                dbc.Button(
                    "Dismiss", id=NOTICES_SEEN, n_clicks=0, size="sm", color="link", className="p-0"
                ),
                dcc.Store(id=NOTICES_SHOWN, data=[n.id for n in notices]),
            ],
            color=colours.get(notices[0].kind, "info"),
            className="py-2",
        )
    ]


MAX_NOTICES_SHOWN = 5
MAX_FOLLOWS = 50  # followed tags the page may add: each is a scrape on a schedule


def dismiss_notices(clicks: object, shown: object = None) -> list:
    """Dismiss pressed: the notices that were shown (not any raised since) are seen by everyone
    using this store; then whatever is still unseen shows."""
    if not isinstance(clicks, int) or clicks < 1:
        raise dash.exceptions.PreventUpdate
    ids = shown if isinstance(shown, list) else None
    if (
        ids is None
        or len(ids) > MAX_NOTICES_SHOWN
        or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**62 for i in ids)
    ):
        return [dbc.Alert("Those notices were not accepted: reload the page.", color="warning")]
    get_context().store.follows.mark_seen(ids)
    return notices_view()


callback(
    Output(NOTICES, "children"),
    Input(NOTICES_SEEN, "n_clicks"),
    dash.State(NOTICES_SHOWN, "data"),
    prevent_initial_call=True,
)(dismiss_notices)


def followed_view() -> list:
    """The tags gathered on a schedule: sources, how often, the whole weeks their posts cover,
    the last run and the next."""
    app = get_context()
    follows = app.store.follows.all()
    note = (
        "Tags gathered on a schedule, so their trends have posts week after week: by this"
        " dashboard's scheduler, a team's Celery beat, or `stylescout follow run` from cron."
    )
    if not follows:
        body = [
            html.Div(
                note + " None yet: pick a tag above and press the button below, or"
                " `stylescout follow add TAG`.",
                className="small text-muted",
            )
        ]
        return [panel(body, "Followed tags")]
    with _analysis_slot(app) as free:
        if not free:
            return _busy("list of followed tags")
        found = interest_of(
            app.store.images.source_post_times(),
            app.store.images.tags_by_image(),
            [f.tag for f in follows],
        )
    rows = []
    for f in follows:
        cover = found.get(f.tag)
        last = f"{f.last_status}, {f.last_message}" if f.last_run_at else "not run yet"
        rows.append(
            html.Tr(
                [
                    html.Td(f"#{f.tag}"),
                    html.Td(", ".join(f.sources) or "default source"),
                    html.Td(f"every {f.every_hours:g} h"),
                    html.Td(str(cover.coverage) if cover else "no whole week yet"),
                    html.Td(f"{f.last_run_at or ''} {last}".strip()),
                    html.Td(f.next_run_at),
                    html.Td(f.last_call or ""),
                ]
            )
        )
    header = html.Thead(
        html.Tr(
            [
                html.Th(h)
                for h in ("tag", "from", "how often", "covers", "last run", "next run", "trends")
            ]
        )
    )
    return [
        panel(
            [
                html.Div(note, className="small text-muted"),
                dbc.Table([header, html.Tbody(rows)], size="sm", className="mt-2 mb-0"),
            ],
            "Followed tags",
        )
    ]


def follow_chosen(clicks: object, tag: object) -> tuple[list, str]:
    """The button: follow the tag chosen above from the default source, every
    `follow.every_hours`; its first run is due at once."""
    from dash_app.jobs import default_sources

    if not isinstance(clicks, int) or clicks < 1:
        raise dash.exceptions.PreventUpdate
    app = get_context()
    known = {t for t, _ in app.store.images.tag_counts()}
    if not isinstance(tag, str) or tag == ALL_TAGS or tag not in known:
        return dash.no_update, "Pick one tag at the top of the page first."
    cfg = app.config.follow
    try:
        follows = app.store.follows.all()
        if any(f.tag == tag for f in follows):
            return (
                dash.no_update,
                f"#{tag} is followed already (change how with stylescout follow).",
            )
        if len(follows) >= MAX_FOLLOWS:
            return dash.no_update, f"At most {MAX_FOLLOWS} tags are followed from the page."
        app.store.follows.follow(
            tag, default_sources(app.config), cfg.every_hours, cfg.count, keep=True
        )
    except StoreError as exc:
        return dash.no_update, f"Not followed: {exc}"
    return followed_view(), f"#{tag} is followed: gathered every {cfg.every_hours:g} hours."


callback(
    Output(FOLLOWED_VIEW, "children"),
    Output(FOLLOW_MESSAGE, "children"),
    Input(FOLLOW_BUTTON, "n_clicks"),
    dash.State(TREND_TAG, "value"),
    prevent_initial_call=True,
)(follow_chosen)
