"""Work in a spawned process (`stylescout.spawned`): progress comes back, so do the result and
the error; a cancel, the time limit and a process that dies are one-line errors, and the process
is gone afterwards."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pytest

from stylescout.errors import StyleScoutError
from stylescout.spawned import run_spawned


def _count(upto: int, report: Callable[..., None]) -> dict:
    for n in range(1, upto + 1):
        report("counting", n, upto)
    return {"pid": os.getpid(), "total": upto}


def _fail(report: Callable[..., None]) -> None:
    raise ValueError("no such photo")


def _wait(started: str, report: Callable[..., None]) -> None:
    report(started)
    time.sleep(60)


def _die(report: Callable[..., None]) -> None:
    os._exit(3)


def test_progress_and_the_result_come_back_from_another_process() -> None:
    seen: list[tuple] = []
    result = run_spawned(_count, 3, what="the count", on_progress=lambda *v: seen.append(v))
    assert result["total"] == 3 and result["pid"] != os.getpid()
    assert seen == [("counting", 1, 3), ("counting", 2, 3), ("counting", 3, 3)]


def test_an_error_there_is_one_line_here() -> None:
    with pytest.raises(StyleScoutError, match=r"^ValueError: no such photo$"):
        run_spawned(_fail, what="the build")


def test_a_cancel_and_the_time_limit_stop_the_process() -> None:
    cancel = threading.Event()
    with pytest.raises(StyleScoutError, match=r"^cancelled: the previous index stays$"):
        run_spawned(
            _wait,
            "started",
            what="the build",
            on_progress=lambda *_: cancel.set(),  # cancelled once it is surely running
            cancel=cancel,
            cancelled="cancelled: the previous index stays",
        )
    began = time.monotonic()
    with pytest.raises(StyleScoutError, match=r"^the build took longer than 1 s$"):
        run_spawned(_wait, "started", what="the build", timeout_s=1)
    assert time.monotonic() - began < 30  # not the 60 s the work wanted


def test_a_process_that_dies_is_said_to_have_stopped() -> None:
    with pytest.raises(StyleScoutError, match=r"the build process stopped unexpectedly \(exit 3\)"):
        run_spawned(_die, what="the build")
