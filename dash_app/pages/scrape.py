"""Scrape: a tag, a count and a source; a background job with live counts and a cancel button,
then the style index is rebuilt and the new styles are used without restarting the app."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from dash_app.jobs import JobStatus, default_sources, scrape_and_build
from dash_app.ui.ids import (
    APP_TOKEN,
    SCRAPE_CANCEL,
    SCRAPE_CANCEL_NOTE,
    SCRAPE_COUNT,
    SCRAPE_COUNTS,
    SCRAPE_DONE,
    SCRAPE_JOB,
    SCRAPE_PROGRESS,
    SCRAPE_RESULT,
    SCRAPE_SOURCE,
    SCRAPE_STAGE,
    SCRAPE_START,
    SCRAPE_STYLES,
    SCRAPE_TAG,
)
from dash_app.web import inputs
from dash_app.web.auth import current_person
from dash_app.web.background import JobsUnavailable
from dash_app.web.context import context_for, get_context
from dash_app.web.inputs import BadInput, ScrapeJob
from scraper.posts import skipped_text
from stylescout.errors import BusyError, InvalidTagError
from stylescout.settings import Config
from stylescout.tags import normalise_tag

dash.register_page(__name__, path="/scrape", name="Scrape", title="StyleScout · scrape", order=1)

log = logging.getLogger(__name__)
MAX_COUNT = 1000
_REPORT_EVERY_S = 0.25


def cancel_key(job_id: str) -> str:
    return f"cancel:{job_id}"


def owner_key(job_id: str) -> str:
    return f"owner:{job_id}"


def started_key(job_id: str) -> str:
    """Claimed by the one start of a job that may run it (and clear its keys afterwards)."""
    return f"started:{job_id}"


def _owner() -> str:
    """Who starts or cancels a job: the signed-in person, or anyone on a local dashboard."""
    person = current_person()
    return person.user_id if person is not None else ""


def layout(**_query: str) -> html.Div:
    app = get_context()
    sources = sorted(app.config.sources)
    form = dbc.Card(
        dbc.CardBody(
            [
                html.H2("Scrape a tag", className="h5"),
                dbc.Label("Tag", html_for=SCRAPE_TAG),
                dbc.Input(id=SCRAPE_TAG, placeholder="e.g. boho", value="", maxLength=100),
                dbc.Label("Images wanted", html_for=SCRAPE_COUNT, className="mt-2"),
                dbc.Input(id=SCRAPE_COUNT, type="number", min=1, max=MAX_COUNT, step=1, value=40),
                dbc.Label("Sources", html_for=SCRAPE_SOURCE, className="mt-2"),
                dcc.Dropdown(
                    id=SCRAPE_SOURCE,
                    options=[
                        {"label": s, "value": s, "disabled": not app.config.sources[s].enabled}
                        for s in sources
                    ],
                    value=default_sources(app.config),
                    multi=True,
                    clearable=False,
                ),
                html.Div(
                    "The count applies to each source; switched-off sources need a credential "
                    "or an opt-in in config.yaml (see docs/how-to/sources.md).",
                    className="small text-muted",
                ),
                html.Div(
                    [
                        dbc.Button("Start", id=SCRAPE_START, color="primary", n_clicks=0),
                        dbc.Button(
                            "Cancel",
                            id=SCRAPE_CANCEL,
                            color="secondary",
                            outline=True,
                            disabled=True,
                            n_clicks=0,
                            className="ms-2",
                        ),
                    ],
                    className="mt-3",
                ),
                html.Div(id=SCRAPE_CANCEL_NOTE, className="small text-muted mt-2"),
            ]
        ),
        className="ss-panel",
    )
    live = dbc.Card(
        dbc.CardBody(
            [
                html.H2("Progress", className="h5"),
                dbc.Progress(
                    id=SCRAPE_PROGRESS,
                    value=0,
                    max=100,
                    striped=True,
                    animated=True,
                    className="mb-2",
                    style={"height": "1.4rem"},
                ),
                html.Div(counts_view(JobStatus(stage="idle")), id=SCRAPE_COUNTS),
                html.Div("No scrape running.", id=SCRAPE_STAGE, className="text-muted mt-2"),
                html.Div(id=SCRAPE_RESULT, className="mt-3"),
            ]
        ),
        className="ss-panel",
    )
    return html.Div(
        [
            dcc.Store(id=SCRAPE_JOB, storage_type="memory"),
            dbc.Row([dbc.Col(form, md=4, className="mb-3"), dbc.Col(live, md=8)]),
        ]
    )


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
            [html.Span(f"{status.skipped} already stored", className="small text-muted me-2")]
            if status.skipped
            else []
        )
        + (
            [
                html.Span(
                    f"skipped {skipped_text(Counter(status.skipped_posts))}",
                    id="count-skipped-posts",
                    className="small text-muted",
                    title="posts without a photo to keep: videos, GIFs, text posts, boosts",
                )
            ]
            if status.skipped_posts
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
        "refused": "Not started.",
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
                    id=SCRAPE_STYLES,
                ),
                dcc.Link("See them on the Styles page →", href="/styles"),
            ]
        return dbc.Alert(body, color="success", id=SCRAPE_DONE)
    colour = "warning" if status.stage in ("cancelled", "refused") else "danger"
    return dbc.Alert(status.message or status.stage, color=colour, id=SCRAPE_DONE)


def check_request(
    config: Config, tag: object, count: object, sources: object
) -> tuple[str, int, list[str]]:
    """Validated (tag, count, sources); raises ValueError with a one-line reason. `sources` is
    a list of configured, switched-on names (a single name is accepted too)."""
    if not isinstance(tag, str) or len(tag) > 100:
        raise ValueError("a tag is a word of at most 100 characters")
    try:
        clean = normalise_tag(tag)
    except InvalidTagError as exc:
        raise ValueError(str(exc)) from None
    if isinstance(count, float) and count.is_integer():
        count = int(count)  # a number field may send 40.0
    elif isinstance(count, str) and re.fullmatch(r"[0-9]{1,6}", count.strip()):
        count = int(count)
    if isinstance(count, bool) or not isinstance(count, int):
        raise ValueError("the number of images must be a whole number")
    if not 1 <= count <= MAX_COUNT:
        raise ValueError(f"the number of images must be between 1 and {MAX_COUNT}")
    names = [sources] if isinstance(sources, str) else sources
    if not isinstance(names, list) or not names:
        raise ValueError("choose at least one source")
    if len(names) > inputs.MAX_SOURCES:
        raise ValueError(f"choose at most {inputs.MAX_SOURCES} sources")
    for name in names:
        if not isinstance(name, str) or name not in config.sources:
            raise ValueError(f"unknown source {str(name)[:100]!r}")
        if not config.sources[name].enabled:
            raise ValueError(f"source {name!r} is switched off in the config")
    return clean, count, list(dict.fromkeys(names))


def run_job(set_progress: Callable[[tuple], None], token: str, job: ScrapeJob) -> JobStatus:
    """The background job: scrape + build, one at a time per store, reporting at most every
    0.25 s, honouring the Cancel of this job (keyed on its id, not on the shared app token).

    A start first claims the job's id: the same job posted again while it runs (or after) is
    refused without touching its keys, so the page that started it can still cancel it. Only the
    start holding the claim clears the job's keys when it ends, or when the store is busy."""
    app = context_for(token)
    key = cancel_key(job.id)
    try:
        claimed = app.jobs.add(started_key(job.id), True, expire=24 * 3600)
    except JobsUnavailable as exc:
        status = JobStatus(stage="failed", message=f"Not started: {exc}.")
        set_progress(progress_values(status))
        return status
    if not claimed:
        log.warning("scrape job %s posted again: refused, its keys left alone", job.id)
        status = JobStatus(
            stage="refused", message="This scrape was started already: press Start for a new one."
        )
        set_progress(progress_values(status))
        return status
    cancel = threading.Event()
    finished = threading.Event()

    def watch() -> None:
        while not finished.wait(0.2):
            with contextlib.suppress(JobsUnavailable):  # Redis away for a moment: ask again
                if app.jobs.get(key):
                    cancel.set()
                    return

    last = [0.0, ""]

    def report(status: JobStatus) -> None:
        now = time.monotonic()
        if status.stage == last[1] and now - last[0] < _REPORT_EVERY_S:
            return
        last[0], last[1] = now, status.stage
        set_progress(progress_values(status))

    ran = False
    try:
        with app.store.job_slot("scrape", f"#{job.tag} from {', '.join(job.sources)}"):
            ran = True
            watcher = threading.Thread(target=watch, name="cancel-watch", daemon=True)
            watcher.start()
            status = scrape_and_build(app.config, job.tag, job.count, job.sources, report, cancel)
    except BusyError as exc:
        status = JobStatus(
            stage="refused",
            message=f"Another scrape is running on this store ({exc}): wait for it to finish, "
            "or cancel it from the page that started it.",
        )
    finally:
        finished.set()
        with contextlib.suppress(JobsUnavailable):  # the flags expire anyway
            app.jobs.delete(key)
            app.jobs.delete(owner_key(job.id))
            if not ran:  # refused before it ran: the claim goes too, so it can be started again
                app.jobs.delete(started_key(job.id))
    set_progress(progress_values(status))
    return status


def new_job(tag: object, count: object, source: object) -> tuple[dict | None, object]:
    """Start pressed: (the job for the background callback, or None; a message or no update)."""
    app = get_context()
    try:
        clean, n, src = check_request(app.config, tag, count, source)
    except ValueError as exc:
        return None, dbc.Alert(str(exc), color="danger", id=SCRAPE_DONE)
    job = ScrapeJob(id=uuid.uuid4().hex, tag=clean, count=n, sources=src)
    try:
        app.jobs.set(owner_key(job.id), _owner(), expire=24 * 3600)
    except JobsUnavailable as exc:
        return None, dbc.Alert(f"Not started: {exc}.", color="danger", id=SCRAPE_DONE)
    return job.model_dump(), dash.no_update


def start_job(set_progress: Callable[[tuple], None], job: object, token: object) -> dbc.Alert:
    """The background callback's body: the job validated again (any client can post it)."""
    try:
        spec = inputs.check(ScrapeJob, job, "the scrape")
        if not inputs.is_token(token):
            raise BadInput("this page is out of date: reload it")
        app = context_for(token)  # type: ignore[arg-type]
        check_request(app.config, spec.tag, spec.count, spec.sources)
        if app.jobs.get(owner_key(spec.id)) is None:  # not started by Start: nobody could cancel it
            raise BadInput("this scrape was not started from the Scrape page: press Start")
    except (BadInput, ValueError, LookupError, JobsUnavailable) as exc:
        return dbc.Alert(str(exc), color="danger", id=SCRAPE_DONE)
    status = run_job(set_progress, token, spec)  # type: ignore[arg-type]
    return result_view(status, spec.tag)


@callback(
    Output(SCRAPE_JOB, "data"),
    Output(SCRAPE_RESULT, "children", allow_duplicate=True),
    Input(SCRAPE_START, "n_clicks"),
    State(SCRAPE_TAG, "value"),
    State(SCRAPE_COUNT, "value"),
    State(SCRAPE_SOURCE, "value"),
    prevent_initial_call=True,
)
def _on_start(_n, tag, count, source):
    job, message = new_job(tag, count, source)
    return (dash.no_update if job is None else job), message


@callback(
    Output(SCRAPE_RESULT, "children"),
    Input(SCRAPE_JOB, "data"),
    State(APP_TOKEN, "data"),
    background=True,
    running=[
        (Output(SCRAPE_START, "disabled"), True, False),
        (Output(SCRAPE_CANCEL, "disabled"), False, True),
        (Output(SCRAPE_PROGRESS, "animated"), True, False),
    ],
    progress=[
        Output(SCRAPE_PROGRESS, "value"),
        Output(SCRAPE_PROGRESS, "label"),
        Output(SCRAPE_COUNTS, "children"),
        Output(SCRAPE_STAGE, "children"),
    ],
    prevent_initial_call=True,
)
def _on_job(set_progress, job, token):
    return start_job(set_progress, job, token)


@callback(
    Output(SCRAPE_CANCEL_NOTE, "children"),
    Input(SCRAPE_CANCEL, "n_clicks"),
    State(SCRAPE_JOB, "data"),
    prevent_initial_call=True,
)
def request_cancel(n_clicks: int | None, job: object) -> str:
    """Ask this page's running job to stop; it keeps what it added. Only the job's own id,
    which only the page that started it holds, can cancel it."""
    if not n_clicks:
        return ""
    job_id = job.get("id") if isinstance(job, dict) else None
    if not inputs.is_token(job_id):
        return "No scrape of this page is running."
    app = get_context()
    try:
        if app.jobs.get(owner_key(job_id)) != _owner():  # someone else's, or no such job
            return "No scrape of this page is running."
        app.jobs.set(cancel_key(job_id), True, expire=3600)
    except JobsUnavailable as exc:
        return f"Could not cancel: {exc}."
    return "Cancelling… what was added so far is kept."
