"""Run work in a freshly spawned process, with its progress, a cancel flag and a time limit.

Spawned, not forked: the caller may already hold TensorFlow (the dashboard embeds people's
photos), and TensorFlow does not survive a fork; a process of its own also keeps a model's peak
memory its own and leaves nothing behind. The builds the Scrape page starts and the backbone
comparison both run this way.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from stylescout.errors import StyleScoutError

Report = Callable[..., None]


def _child(target: Callable[..., Any], args: tuple, updates: Any) -> None:
    """Runs in the spawned process: `target(*args, report)`, its result or its error sent back."""
    try:
        result = target(*args, lambda *values: updates.put(("progress", values)))
        updates.put(("done", result))
    except Exception as exc:  # sent to the parent, which raises it as one line
        updates.put(("error", f"{type(exc).__name__}: {exc}"))


def run_spawned(
    target: Callable[..., Any],
    *args: Any,
    what: str,
    on_progress: Report | None = None,
    cancel: threading.Event | None = None,
    cancelled: str = "cancelled",
    timeout_s: float = 3600,
) -> Any:
    """`target(*args, report)` in a spawned process; each `report(*values)` there is
    `on_progress(*values)` here, and its return value comes back. Its errors, a cancel (the
    `cancelled` message), the time limit and an unexpected exit are StyleScoutErrors naming
    `what` ("the build"); the process is stopped on the way out."""
    context = multiprocessing.get_context("spawn")
    updates = context.Queue()
    child = context.Process(target=_child, args=(target, args, updates), daemon=True)
    child.start()
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            if cancel is not None and cancel.is_set():
                raise StyleScoutError(cancelled)
            if time.monotonic() > deadline:
                raise StyleScoutError(f"{what} took longer than {timeout_s:.0f} s")
            try:
                kind, payload = updates.get(timeout=0.25)
            except queue.Empty:
                if not child.is_alive() and updates.empty():
                    raise StyleScoutError(
                        f"{what} process stopped unexpectedly (exit {child.exitcode})"
                    ) from None
                continue
            if kind == "done":
                return payload
            if kind == "error":
                raise StyleScoutError(str(payload))
            if on_progress is not None:
                on_progress(*payload)
    finally:
        if child.is_alive():
            child.terminate()  # only on cancel, error or time limit
        child.join(timeout=10)
