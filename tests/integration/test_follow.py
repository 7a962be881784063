"""Followed tags against the demo feed: gathered when due (by `stylescout follow run`, the
dashboard's scheduler or the Celery task), never two runs at once, and a notice (with its
webhook call) when a followed tag's trend is called rising: once, not on every run."""

from __future__ import annotations

import contextlib
import io
import json
import time
from pathlib import Path

import flask
import pytest

from dash_app.follow import FollowScheduler, register_follow_task, run_due
from dash_app.follow_cli import main as follow_main
from sandbox.demo_feed.catalog import Catalog
from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from store import Store
from stylescout.settings import DemoFeedConfig
from tests.conftest import make_config


def _hook_app(calls: list[dict]) -> flask.Flask:
    app = flask.Flask(__name__)

    @app.post("/hook")
    def hook() -> tuple[str, int]:
        calls.append(flask.request.get_json())
        return "", 204

    return app


def _cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = follow_main(list(args))
    return code, out.getvalue()


def test_followed_tags_are_gathered_when_due_and_raise_a_notice_once(data_dir: Path) -> None:
    catalog = Catalog(DemoFeedConfig())
    calls: list[dict] = []
    with (
        BackgroundServer(create_feed_app(), "127.0.0.1", 0) as feed,
        BackgroundServer(_hook_app(calls), "127.0.0.1", 0) as hook,
    ):
        config = make_config(
            data_dir,
            demo_feed={"port": feed.port},
            follow={"build": False, "webhook_url": f"{hook.url}/hook"},
        )
        where = ["--data-dir", str(data_dir)]
        with contextlib.redirect_stderr(io.StringIO()):
            assert _cli("list", *where)[0] == 2  # read-only: no store is made
            assert not data_dir.exists()
            code, said = _cli("add", "boho", "--source", "mastodon", "--every", "12", *where)
            assert (
                code == 0 and "following #boho from mastodon" in said and "every 12 hours" in said
            )
            assert _cli("remove", "boho", *where) == (0, "#boho is no longer followed\n")
            assert _cli("add", "boho", "--every", "0.1", *where)[0] == 2
            assert _cli("add", "boho", "--source", "nowhere", *where)[0] != 0
        with Store(data_dir) as store:  # the demo feed's source is known to the demo's config
            for tag in ("streetwear", "romantic"):  # interest is a share: two tags to share
                store.follows.follow(tag, ["demo-html"], 6, len(catalog.by_tag[tag]))

        result = run_due(config)
        assert not result.busy and [r.tag for r in result.runs] == ["romantic", "streetwear"]
        assert all(r.added > 150 for r in result.runs)  # reposts are duplicates
        assert all(r.status == "completed" for r in result.runs)
        # streetwear was designed to rise: noticed (and the webhook called); romantic falls
        assert [(n.tag, n.kind) for n in result.notices] == [("streetwear", "rising")]
        assert calls == [
            {
                "tag": "streetwear",
                "kind": "rising",
                "text": result.notices[0].text,
                "link": "/trends?tag=streetwear",
            }
        ]
        with Store(data_dir) as store:
            follows = {f.tag: f for f in store.follows.all()}
            assert follows["streetwear"].last_call == "rising"
            assert follows["romantic"].last_call == "falling"
            assert follows["streetwear"].next_run_at > follows["streetwear"].last_run_at
        assert run_due(config).runs == []  # nothing due for 6 hours
        code, said = _cli("run", *where)
        assert code == 0 and "nothing due" in said

        with Store(data_dir) as store:  # the next runs ask for a few new posts only
            for tag in ("streetwear", "romantic"):
                store.follows.follow(tag, ["demo-html"], 6, 5)
        again = run_due(config, everything=True)  # the same call again: no second notice
        assert len(again.runs) == 2 and again.notices == [] and len(calls) == 1
        code, said = _cli("notices", "--json", *where)
        assert [n["tag"] for n in json.loads(said)["notices"]] == ["streetwear"]
        code, said = _cli("list", "--json", *where)
        assert {f["tag"] for f in json.loads(said)["follows"]} == {"romantic", "streetwear"}

        with Store(data_dir) as store, store.job_slot("scrape", "someone's scrape"):
            busy = run_due(config, everything=True)  # one scrape job per store
        assert busy.busy and busy.runs == []

        # the dashboard's scheduler runs what is due on its own
        with Store(data_dir) as store:
            store.follows.follow("preppy", ["demo-html"], 6, 5)
            before = store.follows.get("preppy").last_run_at
        fast = config.model_copy(
            update={"follow": config.follow.model_copy(update={"check_every_s": 1.0})}
        )
        scheduler = FollowScheduler(fast).start()
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with Store(data_dir) as store:
                    if store.follows.get("preppy").last_run_at != before:
                        break
                time.sleep(0.5)
        finally:
            scheduler.stop()
        with Store(data_dir) as store:
            assert store.follows.get("preppy").last_status == "completed"
            assert [f.tag for f in store.follows.due()] == []


def test_a_teams_worker_runs_due_tags_from_celery_beat(data_dir: Path) -> None:
    from celery import Celery

    config = make_config(data_dir, follow={"check_every_s": 120})
    celery = Celery("follow-test")  # registering needs no broker
    name = register_follow_task(celery, config)
    assert celery.conf.beat_schedule["follow-due"] == {"task": name, "schedule": 120.0}
    with Store(data_dir) as store:
        store.follows.follow("boho", [], 6, 5)
    with Store(data_dir) as store, store.job_slot("scrape", "another job"):
        said = celery.tasks[name]()  # the task body, as the worker runs it
    assert said == {"runs": 0, "notices": 0, "busy": "another job"}


@pytest.mark.parametrize("junk", ["<b>", "", "x" * 200])
def test_following_a_bad_tag_is_a_usage_error(data_dir: Path, junk: str) -> None:
    with contextlib.redirect_stderr(io.StringIO()):
        assert follow_main(["add", junk, "--data-dir", str(data_dir)]) == 2
    assert not data_dir.exists()  # refused before the store was made
