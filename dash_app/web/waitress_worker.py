"""A gunicorn worker that serves through waitress (http_server.py), for a team's dashboard.

Why: gunicorn's own threaded worker reads a request in the thread that will answer it, so ten
clients trickling their headers held every thread of two workers; its docs ask for a buffering
proxy in front. waitress is that buffer, in the worker itself: its event loop reads each request
in full, with the deadlines and per-address caps of http_server.py, before a thread takes it.
gunicorn keeps what it is good at: the master that forks the workers, restarts any that die or
stop answering (each loop here tells it the worker is alive) and stops them on SIGTERM.
"""

from __future__ import annotations

import contextlib
import logging
import os

from gunicorn.workers.base import Worker
from waitress import wasyncore

from dash_app.web.context import EXTENSION_KEY
from dash_app.web.http_server import guarded_servers

log = logging.getLogger(__name__)


class WaitressWorker(Worker):
    """Serve the worker's app on the master's listening sockets until told to stop."""

    def run(self) -> None:
        cfg = self.wsgi.extensions[EXTENSION_KEY].config.dashboard
        socket_map: dict = {}
        servers = guarded_servers(self.wsgi, [s.sock for s in self.sockets], cfg, socket_map)
        try:
            while self.alive:
                self.notify()  # the master restarts a worker that stops saying this
                wasyncore.loop(timeout=1.0, map=socket_map, count=1)
                if self.ppid != os.getppid():
                    log.warning("the gunicorn master is gone: this worker stops")
                    break
        finally:
            for channel in list(socket_map.values()):
                with contextlib.suppress(OSError):
                    channel.close()
            servers[0].task_dispatcher.shutdown(timeout=self.cfg.graceful_timeout)
