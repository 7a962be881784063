"""`/trends/export/<view>.csv`: the numbers behind each chart of the Trends page as CSV, the same
rows as `stylescout trends --view <view> --csv` (clustering.trends.tables).

Behind the same sign-in gate as the pages. Query values are checked here: `tag` (repeatable, at
most MAX_TAGS, each a valid tag), `source` (a source's name), `weeks` (one of the windows); a bad
one is a 400 with one line. Each answer works out models over the store, so it takes an analysis
slot like a page view and is answered 503 when every slot stays busy.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import flask

from clustering.trends import tables
from clustering.trends.model import WINDOWS
from dash_app.web.context import get_context
from stylescout.errors import InvalidTagError
from stylescout.tags import normalise_tag

MAX_TAGS = 12
SLOT_WAIT_S = 3.0
_SOURCE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def csv_url(
    view: str, tags: list[str] | None = None, source: str | None = None, weeks: int | None = None
) -> str:
    """The dashboard's URL of a view's CSV."""
    from urllib.parse import urlencode

    query: list[tuple[str, str]] = [("tag", t) for t in (tags or [])[:MAX_TAGS]]
    if source:
        query.append(("source", source))
    if weeks:
        query.append(("weeks", str(weeks)))
    return f"/trends/export/{view}.csv" + (f"?{urlencode(query)}" if query else "")


def _bad(text: str) -> flask.Response:
    return flask.Response(text + "\n", status=400, mimetype="text/plain")


def register_trend_export_routes(server: flask.Flask) -> None:
    """Add /trends/export/<view>.csv to the server."""

    @server.get("/trends/export/<view>.csv")
    def trend_csv(view: str) -> flask.Response:
        if view not in tables.VIEWS:
            return _bad(f"no such view: one of {', '.join(tables.VIEWS)}")
        raw_tags = flask.request.args.getlist("tag")
        if len(raw_tags) > MAX_TAGS:
            return _bad(f"at most {MAX_TAGS} tags")
        try:
            tags = [normalise_tag(t) for t in raw_tags]
        except InvalidTagError as exc:
            return _bad(str(exc))
        source = flask.request.args.get("source") or None
        if source is not None and not _SOURCE.match(source):
            return _bad("source is a source's name: letters, digits, '.', '_' and '-'")
        raw_weeks = flask.request.args.get("weeks")
        if raw_weeks is not None and raw_weeks not in {str(w) for w in WINDOWS}:
            return _bad(f"weeks is one of {', '.join(str(w) for w in WINDOWS)}")
        weeks = int(raw_weeks) if raw_weeks else None
        app = get_context()
        if view == "sources" and len(tags) != 1:
            return _bad("the sources view needs one tag")
        if view == "styles" and len(tags) > 1:
            return _bad("the styles view takes at most one tag")
        loaded = app.engine.loaded() if view == "styles" else None
        if view == "styles" and loaded is None:
            return flask.Response("no style index yet\n", status=404, mimetype="text/plain")
        if not app.analysis_slots.acquire(timeout=SLOT_WAIT_S):
            response = flask.Response("busy: try again in a minute\n", 503, mimetype="text/plain")
            response.headers["Retry-After"] = "60"
            return response
        try:
            since = tables.since_weeks(app.store, weeks)
            if view == "sources":
                table = tables.sources_table(app.store, tags[0], since)
            elif view == "styles":
                table = tables.styles_table(
                    app.store, loaded.index, tags[0] if tags else None, source, since
                )
            elif view == "forecast":
                table = tables.forecast_table(app.store, tags or None, since=since)
            elif view == "rising":
                table = tables.rising_table(app.store, tags or None, source, since=since)
            else:
                table = tables.interest_table(app.store, tags or None, source, since=since)
        finally:
            app.analysis_slots.release()
        name = "stylescout-" + "-".join([view, *tags[:3], *([source] if source else [])])
        plain = re.sub(r"[^A-Za-z0-9_.-]", "_", name)  # headers are Latin-1: tags need not be
        response = flask.Response(tables.to_csv(table), mimetype="text/csv")
        response.headers["Content-Disposition"] = (
            f"attachment; filename=\"{plain}.csv\"; filename*=UTF-8''{quote(name)}.csv"
        )
        return response
