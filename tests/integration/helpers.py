"""Running the project's command lines as a person would."""

from __future__ import annotations

import codecs
import contextlib
import importlib
import io
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[2]


def run_cli(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m ...` from the repository root, capturing output (`env` adds variables,
    `stdin` is typed in)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class PipeReader:
    """Reads a child's pipe in a thread, so a test can wait for a line it writes (without the
    pipe filling up and stalling the child) and still get all of it at the end."""

    def __init__(self, pipe: IO[str]) -> None:
        self._pipe = pipe
        self._parts: list[str] = []
        self._grew = threading.Condition()
        self._thread = threading.Thread(target=self._read, name="pipe-reader", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while chunk := os.read(self._pipe.fileno(), 65536):  # as it comes, not line by line
            with self._grew:
                self._parts.append(decoder.decode(chunk))
                self._grew.notify_all()

    @property
    def text(self) -> str:
        with self._grew:
            return "".join(self._parts)

    def wait_for(
        self, needle: str, timeout: float = 60, also: Callable[[], str] | None = None
    ) -> None:
        """Block until `needle` has been written (AssertionError after `timeout` s, with what
        `also` says then)."""
        with self._grew:
            if self._grew.wait_for(lambda: needle in "".join(self._parts), timeout=timeout):
                return
            written = "".join(self._parts)[-2000:]
        extra = f"\n{also()}" if also else ""
        raise AssertionError(f"never wrote {needle!r} in {timeout:.0f} s:\n{written}{extra}")

    def close(self, timeout: float = 30) -> str:
        """All the child wrote, once the pipe is closed."""
        self._thread.join(timeout=timeout)
        return self.text


def run_cli_here(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m PACKAGE ARGS` run in this process: the same parser, main and output as
    `run_cli`, without a new interpreter importing TensorFlow and building its model again. For
    tests of what a command answers; how a process starts, stops or dies stays with `run_cli`.
    (Log lines go to pytest's log capture here, not to the returned stderr.)"""
    package, *argv = args
    main = importlib.import_module(f"{package}.cli").main
    out, err = io.StringIO(), io.StringIO()
    saved = {name: os.environ.get(name) for name in env or {}}
    os.environ.update(env or {})
    saved_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin or "")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as exc:  # argparse: --help, usage errors
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.stdin = saved_stdin
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return subprocess.CompletedProcess(
        [sys.executable, "-m", *args], code, out.getvalue(), err.getvalue()
    )
