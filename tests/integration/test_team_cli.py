"""The command line of a team's dashboard: what it needs, said in one line."""

from __future__ import annotations

from pathlib import Path

from tests.integration.helpers import run_cli


def test_workers_without_redis_say_what_they_need(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    (tmp_path / "data").mkdir()  # an existing store's folder: what is missing is Redis
    done = run_cli("dash_app", "--config", str(config), "--workers", "2")
    assert done.returncode == 2 and "--workers needs Redis" in done.stderr, done
    assert "make serve" in done.stderr and "Traceback" not in done.stderr
    done = run_cli("dash_app", "--config", str(config), "--workers", "2", "--demo")
    assert done.returncode == 2 and "--demo serves one process" in done.stderr, done
    done = run_cli("dash_app", "--config", str(config), "--celery-worker")
    assert done.returncode == 2 and "needs Redis" in done.stderr, done
