"""A team's dashboard under hostile clients: `python -m bench.load [--duration 30] [--ref REV]`.

What it measures: how much slower honest people's requests get while hostile clients hammer the
same dashboard. Why: the dashboard's defences against slow clients, oversized and chunked bodies,
parallel password guesses and floods (header deadline, body-rate floor, per-address connection
cap, body caps from the headers, rate limits) are each tested alone; this puts them together on
`python -m dash_app --workers 2` (gunicorn, Redis, `dashboard.auth: password`) with the settings
the product ships, and asks the question a team would: does anyone notice?

- A store of demo-feed images (6 style tags) with a style index built with `features.weights:
  none` at 64 px (quick; the serving path is the same), one account per honest client.
- Honest clients (threads in this process, each a signed-in `requests.Session` from 127.0.0.1)
  loop for `--duration` seconds with a short think time between actions: load the page (`/`,
  `/_dash-layout`, `/_dash-dependencies`), fetch thumbnails, ask Discover for recommendations for a
  catalogue item, rate an item, and every few rounds upload a small photo (the callback bodies
  are the browser's, sandbox/dash_client.py). Every request's latency and status is kept.
- Run A: the honest clients alone. Run B: the same, while hostile clients run from 127.0.0.2-9 in a
  second process (so their Python does not share this one's GIL; they do share the machine's
  CPUs): header lines trickled on 50 sockets, bodies trickled, idle sockets, 100 MB bodies
  declared to /login and the callback route, chunked bodies, bursts of parallel wrong sign-ins,
  thumbnails asked for without a session, and one signed-in account posting recommendation
  callbacks as fast as it is answered.
- The table: honest requests, p50/p95 latency, errors (anything but 2xx, timeouts included,
  counted at the time given up) and loaded/unloaded p95 (the goal: at most 3x); what each hostile
  client met (how long its connections lived, 411/413/429 counts); CPU seconds of the server and
  of each load generator; gunicorn worker (re)starts and tracebacks in the server's log.

Loopback only (127.0.0.0/8): nothing leaves the machine. Bounded: `--duration` per run, 20 s per
honest request, fixed socket counts. `--ref REV` runs the same against `git archive REV` in a
temp folder first (the "before" figures); its config holds only keys both revisions know.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import multiprocessing
import multiprocessing.synchronize
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import requests
from PIL import Image
from requests.adapters import HTTPAdapter

from sandbox.dash_client import UPDATE, rate_body, recommend_body, upload_body
from sandbox.services import free_port, redis_server

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
CSRF_COOKIE = "_csrf_token"  # dash_app/web/auth.py: the cookie Dash's renderer echoes ...
CSRF_HEADER = "X-CSRFToken"  # ... in this header on every callback
FORM_TOKEN = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
BROWSER_ID = "u" + "ab" * 16  # ignored once signed in: ratings go to the account
PASSWORD = "a long load-test password"
FLOODER = "flooder"
GUESSED = "client0"  # the account the wrong sign-ins guess at (already signed in)
WORKERS = 2
INPUT_SIZE = 64
THUMBS_PER_ROUND = 10
UPLOAD_EVERY = 4  # rounds
THINK_S = (0.3, 0.7)  # uniform pause between actions
HONEST_TIMEOUT_S = 20.0
ROUND_REQUESTS = {"page": 3, "thumb": THUMBS_PER_ROUND, "recommend": 1, "rate": 1}
KINDS = ("page", "thumb", "recommend", "rate", "upload")
# the product's rate limits (stylescout/settings.py RateLimitConfig), per account a minute
LIMITS = {"sign_in": 10, "callbacks": 600, "images": 1200}
# The config both revisions accept: every dashboard setting left at what the product ships.
CONFIG = """\
data_dir: {data}
features:
  input_size: {size}
  weights: none
dashboard:
  auth: password
  redis_url: "{redis}"
{extra}"""
# Each hostile client's address; 127.0.0.1 is the honest clients' (and a trusted proxy's).
ADDRESSES = {
    "slow headers": "127.0.0.2",
    "slow body": "127.0.0.3",
    "100 MB body": "127.0.0.4",
    "chunked body": "127.0.0.5",
    "wrong sign-ins": "127.0.0.6",
    "image flood, no session": "127.0.0.7",
    "callback flood, signed in": "127.0.0.8",
    "idle sockets": "127.0.0.9",
}
SLOW_HEADER_SOCKETS = 50
SLOW_BODY_SOCKETS = 10
IDLE_SOCKETS = 20
GUESS_BURST = 20  # parallel wrong sign-ins ...
GUESS_EVERY_S = 5.0  # ... this often
FLOOD_THREADS = 2
DECLARED = 100_000_000  # the Content-Length of the 100 MB bodies, all sent unless answered
CHUNKED_SEND_CAP = 4 * 2**20  # what a chunked body sends before waiting for an answer
ANSWER_WAIT_S = 10.0


# -- the store -----------------------------------------------------------------------------


def _prepare_store(data_dir: str, per_tag: int, accounts: list[str], out: str) -> None:
    """Scrape the demo feed, build the index, add the accounts; write the catalogue's ids and
    hashes to `out`. Run in a spawned process: TensorFlow stays out of the measuring one."""
    from dash_app.demo import prepare_demo
    from sandbox.demo_feed.server import BackgroundServer
    from sandbox.demo_feed.site import create_feed_app
    from sandbox.demo_feed.sources import with_demo_sources
    from store import Store
    from stylescout.loader import parse_config

    folder = Path(data_dir)
    with BackgroundServer(create_feed_app(), HOST, 0) as feed:
        config = with_demo_sources(
            parse_config(
                {
                    "data_dir": str(folder),
                    "demo_feed": {"port": feed.port},
                    "scraper": {"default_source": "demo-html"},
                    "features": {"weights": "none", "input_size": INPUT_SIZE},
                },
                "load benchmark",
                folder.parent,
            )
        )
        with Store.from_config(config) as store:
            prepare_demo(config, store, per_tag=per_tag, say=lambda _line: None)
            for name in accounts:
                store.accounts.add(name, PASSWORD)
            items = [
                (image_id, store.images.image(image_id)["sha256"])
                for image_id, _ in store.images.image_files()
            ]
    Path(out).write_text(json.dumps(items))


def build_store(folder: Path, per_tag: int, accounts: list[str]) -> list[tuple[int, str]]:
    out = folder / "items.json"
    proc = multiprocessing.get_context("spawn").Process(
        target=_prepare_store, args=(str(folder / "data"), per_tag, accounts, str(out))
    )
    proc.start()
    proc.join(600)
    if proc.exitcode != 0 or not out.is_file():
        raise SystemExit(f"building the store failed (exit {proc.exitcode})")
    return [(int(i), str(s)) for i, s in json.loads(out.read_text())]


# -- HTTP helpers --------------------------------------------------------------------------


class _FromAddress(HTTPAdapter):
    """Connections made from one loopback source address."""

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)


def _session(address: str = HOST) -> requests.Session:
    session = requests.Session()
    session.mount("http://", _FromAddress(address))
    return session


def sign_in(base: str, name: str, address: str = HOST) -> requests.Session:
    """A session signed in through the /login form, with the CSRF header callbacks need; waits
    out a sign-in rate limit once."""
    session = _session(address)
    for _ in range(2):
        found = FORM_TOKEN.search(session.get(f"{base}/login", timeout=30).text)
        form = {"name": name, "password": PASSWORD, "csrf": found.group(1) if found else ""}
        answer = session.post(f"{base}/login", data=form, allow_redirects=False, timeout=60)
        if answer.status_code == 429 and "Retry-After" in answer.headers:
            time.sleep(min(65, int(answer.headers["Retry-After"]) + 1))
            continue
        break
    if answer.status_code != 303 or CSRF_COOKIE not in session.cookies:
        raise SystemExit(f"{name} could not sign in: HTTP {answer.status_code} {answer.text[:200]}")
    session.headers[CSRF_HEADER] = session.cookies[CSRF_COOKIE]
    return session


def _photo(n: int) -> bytes:
    """A small JPEG, a new file for each n."""
    img = Image.new("RGB", (224, 224), ((37 * n) % 256, (91 * n) % 256, 160))
    img.putpixel((n % 224, (n // 224) % 224), (255 - n % 256, n % 256, 0))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def _item(image_id: int, sha: str) -> dict:
    return {"kind": "item", "id": image_id, "sha256": sha}


# -- honest clients ------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    seconds: float
    status: str  # the HTTP status, or what failed (ReadTimeout, refused upload, ...)

    @property
    def ok(self) -> bool:
        return self.status.startswith("2")


class Honest:
    """One signed-in person's loop of realistic actions; no request starts after `until`."""

    def __init__(self, base: str, name: str, items: list[tuple[int, str]], seed: int) -> None:
        self.base = base
        self.name = name
        self.items = items
        self.rng = random.Random(seed)
        self.session = sign_in(base, name)
        self.rounds = 0
        self.seed = seed
        self.samples: list[Sample] = []
        self.until = 0.0

    def _timed(self, kind: str, method: str, path: str, **kwargs: Any) -> None:
        if time.monotonic() >= self.until:
            return
        started = time.perf_counter()
        try:
            answer = self.session.request(
                method, self.base + path, timeout=HONEST_TIMEOUT_S, **kwargs
            )
            answer.content  # noqa: B018 - read the whole body inside the timing
        except requests.RequestException as exc:
            self.samples.append(Sample(kind, time.perf_counter() - started, type(exc).__name__))
            return
        status = str(answer.status_code)
        if kind == "upload" and answer.ok and not _accepted(answer):
            status = "refused upload"
        self.samples.append(Sample(kind, time.perf_counter() - started, status))

    def _think(self) -> None:
        time.sleep(self.rng.uniform(*THINK_S))

    def round(self) -> None:
        """Page, thumbnails, a recommendation, a rating, now and then an upload."""
        self.rounds += 1
        for path in ("/", "/_dash-layout", "/_dash-dependencies"):
            self._timed("page", "GET", path)
        self._think()
        for _ in range(THUMBS_PER_ROUND):
            self._timed("thumb", "GET", f"/thumb/160/{self.rng.choice(self.items)[1]}")
        self._think()
        image_id, sha = self.rng.choice(self.items)
        body = recommend_body([_item(image_id, sha)], BROWSER_ID)
        self._timed("recommend", "POST", UPDATE, json=body)
        self._think()
        value = self.rng.randint(1, 5)
        self._timed("rate", "POST", UPDATE, json=rate_body(image_id, value, BROWSER_ID))
        if self.rounds % UPLOAD_EVERY == 0:
            self._think()
            body = upload_body(_photo(self.seed * 10_000 + self.rounds), "me.jpg", "image/jpeg")
            self._timed("upload", "POST", UPDATE, json=body)

    def run(self, seconds: float, samples: list[Sample]) -> None:
        self.samples = samples
        self.until = time.monotonic() + seconds
        time.sleep(self.rng.uniform(0, THINK_S[1]))  # not all in step
        while time.monotonic() < self.until:
            self.round()
            self._think()


def _accepted(answer: requests.Response) -> bool:
    try:
        return bool(answer.json()["response"]["my-photos"]["data"])
    except (ValueError, KeyError, TypeError):
        return False


def planned_per_minute() -> dict[str, float]:
    """The most requests one honest account makes a minute, were every answer instant."""
    pauses = 4 + 1 / UPLOAD_EVERY
    round_s = pauses * sum(THINK_S) / 2
    callbacks = ROUND_REQUESTS["recommend"] + ROUND_REQUESTS["rate"] + 1 / UPLOAD_EVERY
    return {"callbacks": callbacks * 60 / round_s, "images": THUMBS_PER_ROUND * 60 / round_s}


def run_honest(clients: list[Honest], seconds: float) -> list[Sample]:
    samples: list[list[Sample]] = [[] for _ in clients]
    threads = [
        threading.Thread(target=c.run, args=(seconds, s), daemon=True)
        for c, s in zip(clients, samples, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + HONEST_TIMEOUT_S * 3 + 30)
    return [s for per_client in samples for s in per_client]


# -- hostile clients (run in their own process) ----------------------------------------------


def _connect(port: int, address: str) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=5, source_address=(address, 0))
    sock.settimeout(5)
    return sock


def _status(data: bytes) -> str:
    """'413' from b'HTTP/1.1 413 ...'; 'closed' for b''; else 'junk'."""
    if not data:
        return "closed"
    parts = data.split(b" ", 2)
    return parts[1].decode(errors="replace") if data.startswith(b"HTTP/") else "junk"


def _answer(sock: socket.socket, within: float) -> str | None:
    """The server's answer (status, 'closed' or 'reset') if it comes within `within` s."""
    try:
        if not select.select([sock], [], [], within)[0]:
            return None
        return _status(sock.recv(4096))
    except OSError:
        return "reset"


class Trickle:
    """`count` sockets from one address, each sending `head`, then `drip(n)` every half second,
    until the server closes it; a closed socket is opened again after a pause. Records how long
    each connection lived and what the server answered before closing it."""

    def __init__(
        self, port: int, address: str, count: int, head: bytes, drip: Callable[[int], bytes]
    ) -> None:
        self.port, self.address, self.count = port, address, count
        self.head, self.drip = head, drip
        self.lived: list[float] = []
        self.answers: Counter[str] = Counter()
        self.still_open: list[float] = []
        self.connect_errors = 0

    def run(self, stop: threading.Event) -> None:
        socks: list[socket.socket | None] = [None] * self.count
        opened = [0.0] * self.count
        again = [0.0] * self.count
        n = 0
        while True:
            now = time.monotonic()
            for i in range(self.count):
                if socks[i] is None and now >= again[i]:
                    try:
                        sock = _connect(self.port, self.address)
                    except OSError:
                        self.connect_errors += 1
                        again[i] = now + 0.5
                        continue
                    try:
                        sock.sendall(self.head)
                        socks[i], opened[i] = sock, time.monotonic()
                    except OSError:
                        sock.close()
                        self.connect_errors += 1
                        again[i] = now + 0.5
            n += 1
            for i, sock in enumerate(socks):
                if sock is None:
                    continue
                answer = _answer(sock, 0)
                if answer is None:
                    try:
                        sock.sendall(self.drip(n))
                        continue
                    except OSError:
                        answer = "reset"
                if answer not in ("closed", "reset"):
                    self.answers[answer] += 1
                    _answer(sock, 2)  # and then the close
                self.lived.append(time.monotonic() - opened[i])
                sock.close()
                socks[i], again[i] = None, time.monotonic() + 0.5
            if stop.wait(0.5):
                break
        for i, sock in enumerate(socks):
            if sock is not None:
                self.still_open.append(time.monotonic() - opened[i])
                sock.close()

    def summary(self) -> dict:
        return {
            "sockets": self.count,
            "connections": len(self.lived) + len(self.still_open),
            "closed": len(self.lived),
            "closed_at_once": sum(s < 1 for s in self.lived),  # found at the next tick
            "closed_after_s": _median(self.lived),
            "closed_after_max_s": max(self.lived, default=0.0),
            "answers": dict(self.answers),
            "open_at_end": len(self.still_open),
            "open_at_end_max_s": max(self.still_open, default=0.0),
            "connect_errors": self.connect_errors,
        }


def _oversized(port: int, address: str, head: bytes, chunked: bool, stop: threading.Event) -> dict:
    """Requests declaring a 100 MB body, or a chunked one, again and again: each sends its body
    in 64 KiB pieces (all 100 MB, or CHUNKED_SEND_CAP) until the server answers or closes."""
    answers: Counter[str] = Counter()
    sent_before: list[int] = []
    seconds: list[float] = []
    piece = b"x" * 65536
    cap = CHUNKED_SEND_CAP if chunked else DECLARED
    if chunked:
        piece = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    while not stop.is_set():
        started = time.monotonic()
        sent = 0
        try:
            sock = _connect(port, address)
        except OSError:
            answers["connect error"] += 1
            stop.wait(0.5)
            continue
        with sock:
            try:
                sock.sendall(head)
                answer = _answer(sock, 0.5)
                while answer is None and sent < cap and not stop.is_set():
                    chunk = piece if chunked else piece[: cap - sent]
                    sock.sendall(chunk)
                    sent += len(chunk)
                    answer = _answer(sock, 0)
            except OSError:  # closed while sending: an answer may have come first
                answer = _answer(sock, 0.2) or "reset"
            if answer is None and stop.is_set():
                answer = _answer(sock, 0.2) or "cut short by the end of the run"
            answer = answer or _answer(sock, ANSWER_WAIT_S) or f"no answer in {ANSWER_WAIT_S:.0f} s"
        answers[answer] += 1
        sent_before.append(sent)
        seconds.append(time.monotonic() - started)
        stop.wait(0.2)
    return {
        "attempts": len(seconds),
        "answers": dict(answers),
        "body_sent_median_bytes": _median([float(s) for s in sent_before]),
        "seconds_median": _median(seconds),
    }


def _guesses(base: str, address: str, stop: threading.Event) -> dict:
    """Bursts of parallel wrong passwords for one account, each through the sign-in form."""
    answers: Counter[str] = Counter()
    seconds: list[float] = []

    def guess(n: int) -> None:
        session = _session(address)
        try:
            found = FORM_TOKEN.search(session.get(f"{base}/login", timeout=30).text)
            form = {
                "name": GUESSED,
                "password": f"guess {n}",
                "csrf": found.group(1) if found else "",
            }
            started = time.monotonic()
            answer = session.post(f"{base}/login", data=form, allow_redirects=False, timeout=30)
            seconds.append(time.monotonic() - started)
            status = str(answer.status_code)
            if status == "429":
                backoff = "Too many failed attempts" in answer.text  # the form, not the limiter
                status += " backoff" if backoff else " limit"
            answers[status] += 1
        except requests.RequestException as exc:
            answers[type(exc).__name__] += 1
        finally:
            session.close()

    n = 0
    with ThreadPoolExecutor(GUESS_BURST) as pool:
        while not stop.is_set():
            list(pool.map(guess, range(n, n + GUESS_BURST)))
            n += GUESS_BURST
            stop.wait(GUESS_EVERY_S)
    return {"attempts": n, "answers": dict(answers), "seconds_median": _median(seconds)}


def _flood(
    session: requests.Session,
    request: Callable[[requests.Session], requests.Response],
    stop: threading.Event,
    answers: Counter[str],
    seconds: list[float],
) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            answers[str(request(session).status_code)] += 1
        except requests.RequestException as exc:
            answers[type(exc).__name__] += 1
        seconds.append(time.monotonic() - started)


def _floods(
    base: str, items: list[tuple[int, str]], signed: requests.Session, stop: threading.Event
) -> dict[str, dict]:
    """Thumbnails without a session, and recommendation callbacks from one signed-in account,
    each from FLOOD_THREADS threads, as fast as they are answered."""
    rng = random.Random(7)
    kinds: dict[str, tuple[Callable[[], requests.Session], Callable]] = {
        "image flood, no session": (
            lambda: _session(ADDRESSES["image flood, no session"]),
            lambda s: s.get(f"{base}/thumb/160/{rng.choice(items)[1]}", timeout=30),
        ),
        "callback flood, signed in": (
            lambda: signed,
            lambda s: s.post(
                base + UPDATE,
                json=recommend_body([_item(*rng.choice(items))], BROWSER_ID),
                timeout=30,
            ),
        ),
    }
    out: dict[str, dict] = {}
    threads = []
    for name, (make, request) in kinds.items():
        answers: Counter[str] = Counter()
        seconds: list[float] = []
        out[name] = {"answers": answers, "seconds": seconds}
        for _ in range(FLOOD_THREADS):
            thread = threading.Thread(
                target=_flood, args=(make(), request, stop, answers, seconds), daemon=True
            )
            thread.start()
            threads.append(thread)
    started = time.monotonic()
    stop.wait()
    for thread in threads:
        thread.join(40)
    elapsed = time.monotonic() - started
    return {
        name: {
            "attempts": sum(v["answers"].values()),
            "per_s": sum(v["answers"].values()) / elapsed,
            "answers": dict(v["answers"]),
            "seconds_median": _median(v["seconds"]),
        }
        for name, v in out.items()
    }


def hostile(
    port: int,
    items: list[tuple[int, str]],
    ready: multiprocessing.synchronize.Event,
    stop_flag: multiprocessing.synchronize.Event,
    results: multiprocessing.Queue,
) -> None:
    """Every hostile client at once until `stop_flag`; puts their summaries on `results`."""
    base = f"http://{HOST}:{port}"
    stop = threading.Event()
    signed = sign_in(base, FLOODER, ADDRESSES["callback flood, signed in"])
    tricklers = {
        "slow headers": Trickle(
            port,
            ADDRESSES["slow headers"],
            SLOW_HEADER_SOCKETS,
            f"GET /api/health HTTP/1.1\r\nHost: {HOST}\r\n".encode(),
            lambda n: f"X-Slow-{n}: {n}\r\n".encode(),
        ),
        "slow body": Trickle(
            port,
            ADDRESSES["slow body"],
            SLOW_BODY_SOCKETS,
            f"POST {UPDATE} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            "Content-Length: 100000\r\n\r\n".encode(),
            lambda _n: b"x" * 20,  # 40 bytes a second
        ),
        "idle sockets": Trickle(port, ADDRESSES["idle sockets"], IDLE_SOCKETS, b"", lambda _n: b""),
    }
    oversized = {
        "100 MB body to /login": ("100 MB body", "/login", False),
        f"100 MB body to {UPDATE}": ("100 MB body", UPDATE, False),
        "chunked body to /login": ("chunked body", "/login", True),
        f"chunked body to {UPDATE}": ("chunked body", UPDATE, True),
    }
    summaries: dict[str, dict] = {}
    jobs: list[tuple[str, Callable[[], dict]]] = []
    for name, trickle in tricklers.items():

        def trickled(t: Trickle = trickle) -> dict:
            t.run(stop)
            return t.summary()

        jobs.append((name, trickled))
    for name, (client, path, chunked) in oversized.items():
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {DECLARED}"
        head = f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\n{framing}\r\n\r\n".encode()
        jobs.append(
            (name, lambda a=ADDRESSES[client], h=head, c=chunked: _oversized(port, a, h, c, stop))
        )
    jobs.append(("wrong sign-ins", lambda: _guesses(base, ADDRESSES["wrong sign-ins"], stop)))
    started = time.monotonic()
    with ThreadPoolExecutor(len(jobs) + 1) as pool:
        futures = {name: pool.submit(job) for name, job in jobs}
        floods = pool.submit(_floods, base, items, signed, stop)
        ready.set()
        stop_flag.wait()
        stop.set()
        for name, future in futures.items():
            summaries[name] = future.result(timeout=120)
        summaries.update(floods.result(timeout=120))
    times = os.times()
    summaries["_process"] = {
        "cpu_s": times.user + times.system,
        "seconds": time.monotonic() - started,
    }
    results.put(summaries)


# -- one product ---------------------------------------------------------------------------


@dataclass
class Product:
    """A checkout of the dashboard to measure."""

    label: str
    root: Path


@dataclass
class Result:
    product: Product
    settings: dict
    runs: dict[str, list[Sample]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)
    log: dict[str, dict[str, int]] = field(default_factory=dict)
    log_lines: dict[str, list[str]] = field(default_factory=dict)
    hostile: dict[str, dict] = field(default_factory=dict)
    health_after_s: float | None = None
    server_alive: bool = True


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its live children."""
    total = 0.0
    try:
        proc = psutil.Process(pid)
        for p in [proc, *proc.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = p.cpu_times()
                total += times.user + times.system
    except psutil.Error:
        pass
    return total


_LOG_MARKS = {
    "workers booted": "Booting worker with pid",
    "worker timeouts": "WORKER TIMEOUT",
    "workers exited": "Worker exited",
    "tracebacks": "Traceback (most recent call last)",
    "error lines": "ERROR",
}


class LogWatch:
    """What the server's log says between two marks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def since_last(self) -> tuple[dict[str, int], list[str]]:
        text = self.path.read_text(errors="replace")
        new, self.offset = text[self.offset :], len(text)
        counts = {name: new.count(mark) for name, mark in _LOG_MARKS.items()}
        notable = [
            line[:200]
            for line in new.splitlines()
            if any(m in line for m in ("ERROR", "CRITICAL", "Error:", "WORKER", "exited"))
        ]
        return counts, notable[:8]


def probe_settings(root: Path) -> dict:
    """The dashboard settings a checkout ships, and the gunicorn worker its team mode uses."""
    code = (
        "import json\n"
        "from stylescout.settings import Config\n"
        "from dash_app.web.workers import gunicorn_options\n"
        "c = Config()\n"
        "o = gunicorn_options(c, '127.0.0.1', 0)\n"
        "print(json.dumps({'dashboard': c.dashboard.model_dump(mode='json'),"
        " 'gunicorn': {k: o.get(k) for k in ('worker_class', 'threads', 'keepalive')}}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _wait_healthy(base: str, server: subprocess.Popen, log: Path, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the dashboard exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if requests.get(f"{base}/api/health", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the dashboard did not answer in {seconds:.0f} s")


@contextlib.contextmanager
def dashboard(product: Product, config: Path, log: Path) -> Iterator[tuple[str, int]]:
    """`python -m dash_app --workers 2` from the product's folder; yields its URL and pid."""
    port = free_port()
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dash_app",
                "--config",
                str(config),
                "--workers",
                str(WORKERS),
                "--port",
                str(port),
            ],
            cwd=product.root,
            env={**os.environ, "PYTHONPATH": str(product.root), "TF_CPP_MIN_LOG_LEVEL": "3"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # gunicorn's workers go with their master
        )
        try:
            base = f"http://{HOST}:{port}"
            _wait_healthy(base, server, log)
            yield base, server.pid
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=30)


def _warm(clients: list[Honest], items: list[tuple[int, str]]) -> None:
    """One untimed round each, and every thumbnail once (both runs find them cached)."""
    for client in clients:
        client.samples, client.until = [], time.monotonic() + 120
    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(Honest.round, clients))
        list(
            pool.map(
                lambda n: clients[n % len(clients)].session.get(
                    f"{clients[0].base}/thumb/160/{items[n][1]}", timeout=60
                ),
                range(len(items)),
            )
        )
    failed = [s for c in clients for s in c.samples if not s.ok]
    if failed:
        raise SystemExit(f"the warm-up round failed: {failed[:5]}")


def measure(
    product: Product,
    store: Path,
    items: list[tuple[int, str]],
    n_clients: int,
    seconds: float,
    folder: Path,
) -> Result:
    """Run A (honest clients) and run B (the same, with the hostile clients) on one product."""
    settings = probe_settings(product.root)
    result = Result(product, settings)
    data = folder / "data"
    shutil.copytree(store, data)  # a fresh store: no ratings or uploads of another product
    plan = planned_per_minute()
    extra = ""
    over = {k: v for k, v in plan.items() if v > LIMITS[k]}
    if over and "rate_limits" in settings["dashboard"]:
        raised = "".join(f"    {k}: {int(v * 2)}/minute\n" for k, v in over.items())
        extra = f"  rate_limits:\n{raised}"
    with redis_server() as redis_url:
        config = folder / "config.yaml"
        config.write_text(CONFIG.format(data=data, size=INPUT_SIZE, redis=redis_url, extra=extra))
        log = folder / "dashboard.log"
        started = time.monotonic()
        with dashboard(product, config, log) as (base, pid):
            result.seconds["start"] = time.monotonic() - started
            watch = LogWatch(log)
            clients = [Honest(base, f"client{n}", items, seed=n + 1) for n in range(n_clients)]
            _warm(clients, items)
            result.log["start"], result.log_lines["start"] = watch.since_last()
            for run in ("A", "B"):
                ctx = multiprocessing.get_context("spawn")
                ready, stop, queue = ctx.Event(), ctx.Event(), ctx.Queue()
                attack = None
                if run == "B":
                    port = int(base.rsplit(":", 1)[1])
                    attack = ctx.Process(target=hostile, args=(port, items, ready, stop, queue))
                    attack.start()
                    if not ready.wait(120):
                        raise SystemExit("the hostile clients did not start")
                    time.sleep(3)  # their sockets open and their floods running
                server_cpu, own_cpu = _tree_cpu(pid), time.process_time()
                started = time.monotonic()
                result.runs[run] = run_honest(clients, seconds)
                result.seconds[run] = time.monotonic() - started
                result.cpu[run] = {
                    "server": _tree_cpu(pid) - server_cpu,
                    "honest clients": time.process_time() - own_cpu,
                }
                if attack is not None:
                    stop.set()
                    result.hostile = queue.get(timeout=180)
                    attack.join(30)
                    result.cpu[run]["hostile clients"] = result.hostile.pop("_process")["cpu_s"]
                result.log[run], result.log_lines[run] = watch.since_last()
                time.sleep(2)
            started = time.monotonic()
            try:
                requests.get(f"{base}/api/health", timeout=30).raise_for_status()
                result.health_after_s = time.monotonic() - started
            except requests.RequestException:
                result.health_after_s = None
            result.server_alive = psutil.pid_exists(pid)
    return result


# -- the report ------------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return float(np.median(values)) if values else 0.0


def _p(samples: list[Sample], q: float) -> float:
    return float(np.percentile([s.seconds for s in samples], q)) * 1000 if samples else 0.0


def _counts(answers: dict[str, int], empty: str = "-") -> str:
    ordered = sorted(answers.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{k} x{v}" for k, v in ordered) or empty


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def _revision() -> str:
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{head}{' + uncommitted changes' if dirty else ''}"


def report_header(n_clients: int, seconds: float, n_items: int) -> None:
    plan = planned_per_minute()
    print(
        f"\n{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {_cpu_model()},"
        f" {os.cpu_count()} CPUs; dashboard --workers {WORKERS} (gunicorn), Redis,"
        f" auth: password, every other dashboard setting at the product's default"
    )
    print(
        f"store: {n_items} demo-feed images, index weights none at {INPUT_SIZE} px;"
        f" {n_clients} honest clients from {HOST}, {seconds:.0f} s a run, think time"
        f" {THINK_S[0]}-{THINK_S[1]} s, request timeout {HONEST_TIMEOUT_S:.0f} s"
    )
    print(
        f"honest plan per account at most {plan['callbacks']:.0f} callbacks/min and"
        f" {plan['images']:.0f} images/min (limits {LIMITS['callbacks']} and {LIMITS['images']}:"
        f" {'raised' if any(v > LIMITS[k] for k, v in plan.items()) else 'not raised'});"
        f" {n_clients} sign-ins from {HOST} (limit {LIMITS['sign_in']}/min per address)"
    )


def report_settings(before: dict, after: dict, labels: tuple[str, str]) -> None:
    old, new = before["dashboard"], after["dashboard"]
    only_new = {k: new[k] for k in new.keys() - old.keys()}
    only_old = {k: old[k] for k in old.keys() - new.keys()}
    changed = {k: (old[k], new[k]) for k in old.keys() & new.keys() if old[k] != new[k]}
    print(f"\nsettings: {labels[0]} -> {labels[1]} (the config file sets neither's)")
    for key, value in sorted(only_new.items()):
        print(f"  only in {labels[1]}: {key} = {json.dumps(value)}")
    for key, value in sorted(only_old.items()):
        print(f"  only in {labels[0]}: {key} = {json.dumps(value)}")
    for key, (a, b) in sorted(changed.items()):
        print(f"  default {key}: {a} -> {b}")
    print(f"  gunicorn: {before['gunicorn']} -> {after['gunicorn']}")


def report_honest(results: list[Result]) -> None:
    print("\nhonest clients (latency over every request, failures counted at the time they failed)")
    print("| product | run | requests | req/s | p50 ms | p95 ms | errors | p95 B/A | p50 B/A |")
    print("|---|---|---|---|---|---|---|---|---|")
    for result in results:
        a = result.runs["A"]
        for run, samples in result.runs.items():
            errors = Counter(s.status for s in samples if not s.ok)
            ratio95 = _p(samples, 95) / max(_p(a, 95), 1e-9)
            ratio50 = _p(samples, 50) / max(_p(a, 50), 1e-9)
            print(
                f"| {result.product.label} | {run}{' (loaded)' if run == 'B' else ' (unloaded)'}"
                f" | {len(samples)} | {len(samples) / result.seconds[run]:.1f}"
                f" | {_p(samples, 50):.0f} | {_p(samples, 95):.0f}"
                f" | {sum(errors.values())}{' (' + _counts(errors) + ')' if errors else ''}"
                f" | {'-' if run == 'A' else f'{ratio95:.2f}x'}"
                f" | {'-' if run == 'A' else f'{ratio50:.2f}x'} |"
            )
    print("\nby action, p50 / p95 ms (requests)")
    print("| product | run | " + " | ".join(KINDS) + " |")
    print("|---|---|" + "---|" * len(KINDS))
    for result in results:
        for run, samples in result.runs.items():
            cells = []
            for kind in KINDS:
                of = [s for s in samples if s.kind == kind]
                cells.append(f"{_p(of, 50):.0f} / {_p(of, 95):.0f} ({len(of)})" if of else "-")
            print(f"| {result.product.label} | {run} | " + " | ".join(cells) + " |")


def _hostile_line(name: str, s: dict) -> str:
    if "sockets" in s:
        return (
            f"{s['sockets']} sockets: {s['connections']} connections; {s['closed']} closed by the"
            f" server ({s['closed_at_once']} at once), after median {s['closed_after_s']:.1f} s"
            f" (max {s['closed_after_max_s']:.1f}); answers: {_counts(s['answers'], 'none')};"
            f" {s['open_at_end']} still open at the end (held up to {s['open_at_end_max_s']:.0f} s)"
            + (f"; {s['connect_errors']} connects failed" if s["connect_errors"] else "")
        )
    if "per_s" in s:
        return (
            f"{s['attempts']} requests ({s['per_s']:.1f}/s), median"
            f" {s['seconds_median'] * 1000:.0f} ms: {_counts(s['answers'])}"
        )
    if "body_sent_median_bytes" in s:
        return (
            f"{s['attempts']} attempts: {_counts(s['answers'])}; median"
            f" {s['seconds_median']:.2f} s each, {s['body_sent_median_bytes'] / 2**20:.1f} MiB of"
            " body sent before the answer"
        )
    return (
        f"{s['attempts']} attempts in bursts of {GUESS_BURST}: {_counts(s['answers'])};"
        f" median {s['seconds_median'] * 1000:.0f} ms each"
    )


def report_hostile(results: list[Result]) -> None:
    for result in results:
        print(f"\nhostile clients during run B, {result.product.label}")
        print("| client | address | what happened |")
        print("|---|---|---|")
        for name, summary in result.hostile.items():
            address = ADDRESSES.get(name) or ADDRESSES[name.split(" to ")[0]]
            print(f"| {name} | {address} | {_hostile_line(name, summary)} |")


def report_server(results: list[Result]) -> None:
    print(
        f"\nCPU seconds in each run ({os.cpu_count()} CPUs: at most {os.cpu_count()} s a second,"
        " shared by the server and both load generators), and the server's log"
    )
    print("| product | run | wall s | server | honest clients | hostile clients | log |")
    print("|---|---|---|---|---|---|---|")
    for result in results:
        for run in ("A", "B"):
            cpu = result.cpu[run]
            log = ", ".join(f"{k} {v}" for k, v in result.log[run].items() if v) or "quiet"
            print(
                f"| {result.product.label} | {run} | {result.seconds[run]:.0f}"
                f" | {cpu['server']:.0f} | {cpu['honest clients']:.0f}"
                f" | {cpu.get('hostile clients', 0):.0f} | {log} |"
            )
    for result in results:
        health = (
            f"{result.health_after_s * 1000:.0f} ms"
            if result.health_after_s is not None
            else "no answer"
        )
        boot = ", ".join(f"{k} {v}" for k, v in result.log["start"].items() if v)
        print(
            f"{result.product.label}: started in {result.seconds['start']:.0f} s ({boot});"
            f" health check after run B: {health}; master alive: {result.server_alive}"
        )
        for run in ("A", "B"):
            for line in result.log_lines[run]:
                print(f"  log, run {run}: {line}")


def export_revision(rev: str, folder: Path) -> Product:
    """`git archive REV` unpacked in `folder`: the product as it was."""
    sha = subprocess.run(
        ["git", "rev-parse", "--short", rev],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    folder.mkdir(parents=True)
    archive = subprocess.Popen(["git", "archive", sha], cwd=REPO, stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(folder)], stdin=archive.stdout, check=True)
    archive.wait()
    return Product(f"before ({sha})", folder)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30, help="seconds of each run")
    parser.add_argument("--clients", type=int, default=8, help="honest clients")
    parser.add_argument("--per-tag", type=int, default=50, help="demo images per style tag")
    parser.add_argument("--ref", default=None, help="also measure this revision (the before)")
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        raise SystemExit("needs redis-server (apt-get install redis-server)")
    if args.clients > LIMITS["sign_in"]:
        print(f"note: {args.clients} sign-ins from {HOST} pass the sign-in limit: some wait")
    names = [f"client{n}" for n in range(args.clients)] + [FLOODER]
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        folder = Path(tmp)
        started = time.monotonic()
        items = build_store(folder, args.per_tag, names)
        print(
            f"store built in {time.monotonic() - started:.0f} s ({len(items)} images)", flush=True
        )
        products = [Product(f"after ({_revision()})", REPO)]
        if args.ref:
            products.insert(0, export_revision(args.ref, folder / "ref"))
        results = []
        for n, product in enumerate(products):
            print(f"measuring {product.label} ...", flush=True)
            run_dir = folder / f"run{n}"
            run_dir.mkdir()
            results.append(
                measure(product, folder / "data", items, args.clients, args.duration, run_dir)
            )
        report_header(args.clients, args.duration, len(items))
        if len(results) == 2:
            report_settings(
                results[0].settings, results[1].settings, (products[0].label, products[1].label)
            )
        report_honest(results)
        report_hostile(results)
        report_server(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
