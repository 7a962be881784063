"""The command line of a team's dashboard: what it needs, said in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.helpers import run_cli
from tests.services import free_port


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


@pytest.mark.parametrize("how", [["--workers", "2"], ["--celery-worker"]])
def test_a_redis_url_that_cannot_be_read_is_one_line(tmp_path: Path, how: list[str]) -> None:
    """A password given twice (kombu cannot take it) is a setting that cannot be taken: exit 2,
    one `error:` line that does not show the password, before anything is served."""
    config = tmp_path / "config.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\ndashboard:\n  auth: password\n")
    (tmp_path / "data").mkdir()
    url = "redis://user:s3cretpw@127.0.0.1:1/0?password=qsecret"
    port = ["--port", str(free_port())]
    done = run_cli(
        "dash_app",
        "--config",
        str(config),
        *how,
        *port,
        timeout=30,
        env={"STYLESCOUT_REDIS_URL": url},
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done
    assert lines[0].startswith("error: dashboard.redis_url") and "password" in lines[0]
    assert "s3cretpw" not in done.stderr + done.stdout and "qsecret" not in done.stderr
