"""Services for the team-dashboard tests, each started on a free loopback port in a temp folder and
stopped afterwards: Redis (Debian's redis-server), and StyleScout's own processes with their
output in log files (a pipe nobody reads would block a chatty Celery worker)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from sandbox.services import free_port, redis_server

REPO = Path(__file__).resolve().parents[1]
REQUIRE_ENV = "STYLESCOUT_REQUIRE_REDIS"

__all__ = ["Process", "free_port", "missing_redis", "redis_server"]


def missing_redis() -> str | None:
    """Why the Redis and Celery tests cannot run here, or None when they can."""
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (apt-get install redis-server)"
    for module, package in (("redis", "redis"), ("celery", "celery"), ("gunicorn", "gunicorn")):
        try:
            __import__(module)
        except ImportError:
            return f"{package} is not installed (make setup-scale)"
    return None


class Process:
    """`python -m <args>` from the repository, its output in `log`; killed on `stop()`."""

    def __init__(self, log: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.log = log
        self._out = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # gunicorn's workers go with their master
        )

    def output(self) -> str:
        self._out.flush()
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL to the process and its children (a crash, not a shutdown)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 15)
                self.proc.wait(timeout=20)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                os.killpg(self.proc.pid, 9)
                self.proc.wait(timeout=20)
        self._out.close()
