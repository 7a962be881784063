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
    styles if anything was added (`follow.build`) and raise notices.

    Each run is claimed in the store first (`FollowRepository.claim`), so callers on several
    machines (a team's workers, each with its beat) never run the same tag's run twice; the
    store's job slot keeps this machine to one scrape at a time."""
    from dash_app.jobs import default_sources, run_build

    cancel = cancel or threading.Event()
    say = say or (lambda line: log.info("follow: %s", line))
    result = RoundResult()
    with Store.from_config(config) as store:
        if not (store.follows.all() if everything else store.follows.due(now)):
            return result
        try:
            with store.job_slot("scrape", "followed tags"):
                at = now or dt.datetime.now(dt.UTC)
                due = store.follows.all() if everything else store.follows.due(at)  # again, held
                for follow in due:
                    if cancel.is_set():
                        break
                    if not store.follows.claim(follow, at):
                        continue  # another worker took this run
                    started = dt.datetime.now(dt.UTC)
                    sources = follow.sources or default_sources(config)
                    try:
                        run = _scrape(config, follow.tag, follow.count, sources, cancel)
                    except StyleScoutError as exc:  # a source gone from the config, a bad tag
                        run = FollowRun(follow.tag, sources, "failed", 0, str(exc))
                    # a run cut short is due again when it was; a finished one waits its period
                    again = follow.next_run_at if run.status == "interrupted" else None
                    store.follows.record_run(
                        follow.tag, started, run.status, run.added, run.message, again
                    )
                    say(f"#{run.tag} from {', '.join(sources)}: {run.status}, {run.message}")
                    result.runs.append(run)
                added = any(r.added for r in result.runs)
                if config.follow.build and added and not cancel.is_set():
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
        if result.runs and not cancel.is_set():
            result.notices = raise_notices(config, store)
    return result


def raise_notices(config: Config, store: Store) -> list[Notice]:
    """Read the trends as the Trends page's rising list does (the most used tags and the
    followed ones, Holm over them all) and raise a notice for each followed tag whose call
    became a breakout, new or rising since it was last read (a rise after a breakout or a new
    tag is the same news, not a second notice). Of two callers at once only one raises it."""
    from clustering.trends.interest import RISING_TOP, interest_of, rising_list

    follows = {f.tag: f for f in store.follows.all()}
    if not follows:
        return []
    top = [t for t, _ in store.images.tag_counts()[:RISING_TOP]]
    posts = store.images.source_post_times()
    family = list(dict.fromkeys([*top, *follows]))
    changes = {
        c.name: c
        for c in rising_list(interest_of(posts, store.images.tags_by_image(), family).values())
    }
    raised = []
    for tag, follow in follows.items():
        change = changes.get(tag)
        call = None if change is None else "breakout" if change.breakout else change.label
        before = follow.last_call
        if call == before or not store.follows.set_call(tag, before, call):
            continue
        news = call in CALLS_NOTICED and not (call == "rising" and before in ("breakout", "new"))
        if change is not None and news:
            text = change.describe()
            notice_id = store.follows.add_notice(tag, call, text)
            notice = Notice(notice_id, tag, call, text, "", False)
            raised.append(notice)
            _call_webhook(config, notice)
    return raised


def _call_webhook(config: Config, notice: Notice) -> None:
    """POST the notice as JSON to `follow.webhook_url`; a failure is logged, never raised (the
    notice stays on the dashboard either way)."""
    from urllib.parse import urlencode

    url = config.follow.webhook_url
    if not url:
        return
    import requests

    body = {
        "tag": notice.tag,
        "kind": notice.kind,
        "text": notice.text,
        "link": "/trends?" + urlencode({"tag": notice.tag}),
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
        **(celery.conf.beat_schedule or {}),  # type: ignore[attr-defined]
        "follow-due": {"task": name, "schedule": config.follow.check_every_s},
    }
    return name
