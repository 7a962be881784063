"""Followed tags: gathered week after week, not only when someone presses Start.

A followed tag has its sources and a schedule (every N hours). When its run is due it is gathered
by a normal scrape of each source (resumable, under the store's one scrape job at a time), the
styles are rebuilt when anything new came, and the trends of the followed tags are read again: a
breakout or a newly significant riser raises a notice (shown on the Trends page) and, when
`follow.webhook_url` is set, a webhook call.

Who runs due tags: the one-process dashboard (`FollowScheduler`, a thread), a team's Celery
worker (beat: `register_follow_task`), or cron (`stylescout follow run`). All three call
`run_due`, and the store's job slot keeps two of them from running at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from store import Store
from store.repositories import Notice
from stylescout.errors import BusyError, StyleScoutError
from stylescout.settings import Config

log = logging.getLogger(__name__)
CALLS_NOTICED = ("breakout", "new", "rising")


@dataclass
class FollowRun:
    """What one due tag's run did."""

    tag: str
    sources: list[str]
    status: str  # completed | failed | interrupted
    added: int = 0
    message: str = ""


@dataclass
class RoundResult:
    """One look for due tags: the runs, whether the styles were rebuilt, the notices raised."""

    runs: list[FollowRun] = field(default_factory=list)
    built: str = ""
    notices: list[Notice] = field(default_factory=list)
    busy: str = ""  # another job held the store: nothing ran, the tags stay due


def _scrape(
    config: Config, tag: str, count: int, sources: list[str], cancel: threading.Event
) -> FollowRun:
    from scraper.scrape import scrape_sources

    outcomes = scrape_sources(config.scraping, tag, count, sources, cancel=cancel)
    added = sum(o.result.progress.added for o in outcomes if o.result is not None)
    failed = [o for o in outcomes if o.error is not None]
    said = [f"{o.source} stopped: {o.error}" for o in failed]
    if cancel.is_set():
        status = "interrupted"
    elif failed and len(failed) == len(outcomes):
        status = "failed"
    else:
        status = "completed"
    message = f"added {added}" + (f"; {'; '.join(said)}" if said else "")
    return FollowRun(tag, sources, status, added, message)


def run_due(
    config: Config,
    now: dt.datetime | None = None,
    cancel: threading.Event | None = None,
    everything: bool = False,
    say: Callable[[str], None] | None = None,
) -> RoundResult:
    """Run every followed tag due at `now` (all of them with `everything`), then rebuild the
    styles if anything was added (`follow.build`) and raise notices."""
    from dash_app.jobs import default_sources, run_build

    cancel = cancel or threading.Event()
    say = say or (lambda line: log.info("follow: %s", line))
    result = RoundResult()
    with Store.from_config(config) as store:
        due = store.follows.all() if everything else store.follows.due(now)
        if not due:
            return result
        what = "followed tags " + ", ".join(f"#{f.tag}" for f in due[:5])
        try:
            with store.job_slot("scrape", what):
                for follow in due:
                    if cancel.is_set():
                        break
                    started = dt.datetime.now(dt.UTC)
                    sources = follow.sources or default_sources(config)
                    try:
                        run = _scrape(config, follow.tag, follow.count, sources, cancel)
                    except StyleScoutError as exc:  # a source gone from the config, a bad tag
                        run = FollowRun(follow.tag, sources, "failed", 0, str(exc))
                    store.follows.record_run(
                        follow.tag, started, run.status, run.added, run.message
                    )
                    say(f"#{run.tag} from {', '.join(sources)}: {run.status}, {run.message}")
                    result.runs.append(run)
                if (
                    config.follow.build
                    and any(r.added for r in result.runs)
                    and not cancel.is_set()
                ):
                    try:
                        result.built = run_build(config, lambda *_: None, cancel)
                        say(result.built)
                    except StyleScoutError as exc:
                        result.built = f"the build failed: {exc}"
                        say(result.built)
        except BusyError as exc:
            result.busy = str(exc)
            say(
                f"another job is running on this store ({exc}): the due tags wait for the next look"
            )
            return result
        result.notices = raise_notices(config, store)
    return result


def raise_notices(config: Config, store: Store) -> list[Notice]:
    """Read the followed tags' trends (interest and the rising list over every source) and raise
    a notice for each whose call became a breakout, new or rising since it was last read."""
    from clustering.trends.interest import interest_of, rising_list

    follows = {f.tag: f for f in store.follows.all()}
    if not follows:
        return []
    posts = store.images.source_post_times()
    found = interest_of(posts, store.images.tags_by_image(), list(follows))
    raised = []
    for change in rising_list(found.values()):
        call = "breakout" if change.breakout else change.label
        before = follows[change.name].last_call
        if call != before:
            store.follows.set_call(change.name, call)
        if (
            call in CALLS_NOTICED
            and call != before
            and not (call == "rising" and before == "breakout")
        ):
            text = change.describe()
            notice_id = store.follows.add_notice(change.name, call, text)
            notice = Notice(notice_id, change.name, call, text, "", False)
            raised.append(notice)
            _call_webhook(config, notice)
    return raised


def _call_webhook(config: Config, notice: Notice) -> None:
    """POST the notice as JSON to `follow.webhook_url`; a failure is logged, never raised (the
    notice stays on the dashboard either way)."""
    url = config.follow.webhook_url
    if not url:
        return
    import requests

    body = {
        "tag": notice.tag,
        "kind": notice.kind,
        "text": notice.text,
        "link": f"/trends?tag={notice.tag}",
    }
    try:
        answer = requests.post(
            url, json=body, timeout=config.follow.webhook_timeout_s, allow_redirects=False
        )
        if answer.status_code >= 400:
            log.warning("follow webhook answered %s for #%s", answer.status_code, notice.tag)
    except requests.RequestException as exc:
        log.warning("follow webhook failed for #%s: %s", notice.tag, exc)


class FollowScheduler:
    """The one-process dashboard's scheduler: a thread that looks for due followed tags every
    `follow.check_every_s` and runs them (`run_due`); `stop()` ends it (a running scrape is
    cancelled and keeps what it added)."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="follow-scheduler", daemon=True)
        self.rounds = 0

    def start(self) -> FollowScheduler:
        self._thread.start()
        return self

    def _loop(self) -> None:
        every = self._config.follow.check_every_s
        while not self._stop.wait(every):
            try:
                run_due(self._config, cancel=self._stop)
            except Exception:  # the scheduler outlives one bad round; the next one tries again
                log.exception("follow: a round of due tags failed")
            self.rounds += 1

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)


def register_follow_task(celery: object, config: Config) -> str:
    """A team's setup: the Celery task that runs due followed tags, and Celery beat's schedule
    calling it every `follow.check_every_s` (run the worker with beat: `--beat`). Returns the
    task's name."""
    name = "stylescout.follow_due"

    @celery.task(name=name)  # type: ignore[attr-defined]
    def follow_due() -> dict:
        done = run_due(config)
        return {"runs": len(done.runs), "notices": len(done.notices), "busy": done.busy}

    celery.conf.beat_schedule = {  # type: ignore[attr-defined]
        "follow-due": {"task": name, "schedule": config.follow.check_every_s}
    }
    return name
