"""Scrape: a tag, a count and a source; a background job with live counts and a cancel button,
then the style index is rebuilt and the new styles are used without restarting the app."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from dash_app.context import context_for, get_context
from dash_app.jobs import JobStatus, scrape_and_build
from store import Config, InvalidTagError, normalise_tag

dash.register_page(__name__, path="/scrape", name="Scrape", title="StyleScout · scrape", order=1)

MAX_COUNT = 1000
_REPORT_EVERY_S = 0.25


def cancel_key(token: str) -> str:
    return f"cancel:{token}"


def layout(**_query: str) -> html.Div:
    app = get_context()
    sources = sorted(app.config.sources)
    form = dbc.Card(
        dbc.CardBody(
            [
                html.H2("Scrape a tag", className="h5"),
                dbc.Label("Tag", html_for="scrape-tag"),
                dbc.Input(id="scrape-tag", placeholder="e.g. boho", value="", maxLength=100),
                dbc.Label("Images wanted", html_for="scrape-count", className="mt-2"),
                dbc.Input(id="scrape-count", type="number", min=1, max=MAX_COUNT, step=1, value=40),
                dbc.Label("Source", html_for="scrape-source", className="mt-2"),
                dcc.Dropdown(
                    id="scrape-source",
                    options=[{"label": s, "value": s} for s in sources],
                    value=app.config.scraper.default_source,
                    clearable=False,
                ),
                html.Div(
                    [
                        dbc.Button("Start", id="scrape-start", color="primary", n_clicks=0),
                        dbc.Button(
                            "Cancel",
                            id="scrape-cancel",
                            color="secondary",
                            outline=True,
                            disabled=True,
                            n_clicks=0,
                            className="ms-2",
                        ),
                    ],
                    className="mt-3",
                ),
                html.Div(id="scrape-cancel-note", className="small text-muted mt-2"),
            ]
        ),
        className="ss-panel",
    )
    live = dbc.Card(
        dbc.CardBody(
            [
                html.H2("Progress", className="h5"),
                dbc.Progress(
                    id="scrape-progress",
                    value=0,
                    max=100,
                    striped=True,
                    animated=True,
                    className="mb-2",
                    style={"height": "1.4rem"},
                ),
                html.Div(counts_view(JobStatus(stage="idle")), id="scrape-counts"),
                html.Div("No scrape running.", id="scrape-stage", className="text-muted mt-2"),
                html.Div(id="scrape-result", className="mt-3"),
            ]
        ),
        className="ss-panel",
    )
    return dbc.Row([dbc.Col(form, md=4, className="mb-3"), dbc.Col(live, md=8)])


def counts_view(status: JobStatus) -> html.Div:
    """found / added / duplicates / failed as badges."""
    items = [
        ("found", status.found, "secondary"),
        ("added", status.added, "success"),
        ("duplicates", status.duplicates, "info"),
        ("failed", status.failed, "danger"),
    ]
    return html.Div(
        [
            html.Span(
                [html.Strong(str(n), id=f"count-{label}"), f" {label}"],
                className=f"badge text-bg-{colour} me-2 ss-count-badge",
            )
            for label, n, colour in items
        ]
        + (
            [html.Span(f"{status.skipped} already stored", className="small text-muted")]
            if status.skipped
            else []
        )
    )


def stage_text(status: JobStatus) -> str:
    if status.stage == "scraping":
        return f"Scraping: {status.added + status.skipped} of {status.requested} images…"
    if status.stage == "building":
        what = status.detail or "starting the build"
        counted = status.build_total and status.detail != "clustering"
        total = f" ({status.build_done}/{status.build_total})" if counted else ""
        return f"Rebuilding the styles: {what}{total}…"
    return {
        "starting": "Starting…",
        "done": "Finished.",
        "cancelled": "Cancelled.",
        "failed": "Failed.",
    }.get(status.stage, "")


def progress_values(status: JobStatus) -> tuple[int, str, html.Div, str]:
    pct = round(100 * status.fraction())
    return pct, f"{pct}%", counts_view(status), stage_text(status)


def result_view(status: JobStatus, tag: str) -> dbc.Alert:
    if status.stage == "done":
        body = [html.Div(f"#{tag}: {status.message}")]
        if status.styles:
            body += [
                html.Div(f"The styles now ({len(status.styles)}):", className="mt-2"),
                html.Div(
                    [html.Span(name, className="ss-tag") for name in status.styles],
                    id="scrape-styles",
                ),
                dcc.Link("See them on the Styles page →", href="/styles"),
            ]
        return dbc.Alert(body, color="success", id="scrape-done")
    colour = "warning" if status.stage == "cancelled" else "danger"
    return dbc.Alert(status.message or status.stage, color=colour, id="scrape-done")


def check_request(
    config: Config, tag: str | None, count: object, source: str | None
) -> tuple[str, int, str]:
    """Validated (tag, count, source); raises ValueError with a one-line reason."""
    try:
        clean = normalise_tag(tag or "")
    except InvalidTagError as exc:
        raise ValueError(str(exc)) from None
    try:
        n = int(count)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError("the number of images must be a whole number") from None
    if not 1 <= n <= MAX_COUNT:
        raise ValueError(f"the number of images must be between 1 and {MAX_COUNT}")
    if source not in config.sources:
        raise ValueError(f"unknown source {source!r}")
    return clean, n, source


def run_job(
    set_progress: Callable[[tuple], None],
    token: str,
    tag: str,
    count: int,
    source: str,
) -> JobStatus:
    """The background job: scrape + build, reporting at most every 0.25 s, honouring Cancel."""
    app = context_for(token)
    key = cancel_key(token)
    app.jobs.delete(key)
    cancel = threading.Event()
    finished = threading.Event()

    def watch() -> None:
        while not finished.wait(0.2):
            if app.jobs.get(key):
                cancel.set()
                return

    watcher = threading.Thread(target=watch, name="cancel-watch", daemon=True)
    watcher.start()
    last = [0.0, ""]

    def report(status: JobStatus) -> None:
        now = time.monotonic()
        if status.stage == last[1] and now - last[0] < _REPORT_EVERY_S:
            return
        last[0], last[1] = now, status.stage
        set_progress(progress_values(status))

    try:
        status = scrape_and_build(app.config, tag, count, source, report, cancel)
    finally:
        finished.set()
        app.jobs.delete(key)
    set_progress(progress_values(status))
    return status


@callback(
    Output("scrape-result", "children"),
    Input("scrape-start", "n_clicks"),
    State("scrape-tag", "value"),
    State("scrape-count", "value"),
    State("scrape-source", "value"),
    State("app-token", "data"),
    background=True,
    running=[
        (Output("scrape-start", "disabled"), True, False),
        (Output("scrape-cancel", "disabled"), False, True),
        (Output("scrape-progress", "animated"), True, False),
    ],
    progress=[
        Output("scrape-progress", "value"),
        Output("scrape-progress", "label"),
        Output("scrape-counts", "children"),
        Output("scrape-stage", "children"),
    ],
    prevent_initial_call=True,
)
def _on_start(set_progress, _n, tag, count, source, token):
    try:
        clean, n, src = check_request(context_for(token).config, tag, count, source)
    except (ValueError, LookupError) as exc:
        return dbc.Alert(str(exc), color="danger", id="scrape-done")
    status = run_job(set_progress, token, clean, n, src)
    return result_view(status, clean)


@callback(
    Output("scrape-cancel-note", "children"),
    Input("scrape-cancel", "n_clicks"),
    State("app-token", "data"),
    prevent_initial_call=True,
)
def request_cancel(n_clicks: int | None, token: str | None) -> str:
    """Ask the running job to stop; it keeps what it added."""
    if not n_clicks:
        return ""
    get_context().jobs.set(cancel_key(token or ""), True, expire=3600)
    return "Cancelling… what was added so far is kept."
