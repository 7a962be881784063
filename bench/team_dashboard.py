"""A team's dashboard's memory: `python -m bench.team_dashboard [--items N] [--workers 4]`.

A fresh store gets a style index of synthetic unit vectors of the real descriptor size (2,560),
written by the build's own `save_index`. Redis and `python -m dash_app --workers N` start as a
team would start them (sign-in by a trusted header from 127.0.0.1, so the benchmark can send
requests). Discover queries then go through the real callback, as many at once as there are
workers (exact search reads every vector), and each worker's memory is read from /proc: RSS, USS
(pages only it holds) and PSS (shared pages divided among the processes mapping them), with how
much of the vectors file and of the FAISS file it maps. Both are memory-mapped: the page cache
holds them once, whatever the number of workers. The figure to compare with is the vectors' size,
which each worker held as its own copy when the index was loaded into memory.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

from bench.search import synthetic, write_index

REPO = Path(__file__).resolve().parents[1]
CONFIG = """\
data_dir: {data}
features:
  input_size: 32
  weights: none
search:
  engine: {engine}
recommender:
  match_threshold: -1  # the synthetic index has one style: every query goes on to the search
dashboard:
  threads: 1  # one request at a time per worker, so concurrent queries reach every worker
  auth: header
  redis_url: "redis://127.0.0.1:{redis}/0"
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(url: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2, headers={"X-Forwarded-User": "bench"}).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not answer in {seconds:.0f} s")


def _query(session: requests.Session, url: str, item: int) -> None:
    """The Discover page's callback with one catalogue item as the person's photo."""
    body = {
        "output": "discover-result.children",
        "outputs": {"id": "discover-result", "property": "children"},
        "inputs": [
            {"id": "my-photos", "property": "data", "value": [_item(item)]},
            {"id": "refresh-recs", "property": "n_clicks", "value": None},
            {"id": "user-id", "property": "data", "value": None},
            {"id": "show-rated", "property": "value", "value": None},
        ],
        "changedPropIds": ["my-photos.data"],
        "state": [],
    }
    answer = session.post(
        f"{url}/_dash-update-component",
        json=body,
        headers={"X-CSRFToken": session.cookies.get("_csrf_token", ""), "Connection": "close"},
        timeout=120,
    )
    answer.raise_for_status()
    if b'"style-name"' not in answer.content:  # a style matched, so the search ran
        raise SystemExit(f"a query got no recommendations: {answer.text[:300]}")


def _item(item: int) -> dict:
    return {"kind": "item", "id": item, "sha256": "0" * 64}


def _mapped_mb(pid: int, name: str) -> float:
    """Resident MB of one index file (vectors.npy, search.faiss) in this process's maps."""
    total, inside = 0, False
    try:
        with Path(f"/proc/{pid}/smaps").open() as smaps:
            for line in smaps:
                if line[0] in "0123456789abcdef" and " " in line and "-" in line.split()[0]:
                    inside = line.rstrip().endswith(name)
                elif inside and line.startswith("Rss:"):
                    total += int(line.split()[1])
    except OSError:
        return 0.0
    return total / 1024


def measure(items: int, workers: int, queries: int, engine: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-team-") as tmp:
        folder = Path(tmp)
        data = folder / "data"
        path = synthetic(folder, items)
        built = write_index(path, data / "index", {"engine": engine})
        path.unlink()
        vectors_mb = items * 2560 * 4 / 2**20
        redis_port, port = _free_port(), _free_port()
        config = folder / "config.yaml"
        config.write_text(CONFIG.format(data=data, redis=redis_port, engine=engine))
        redis = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        log = (folder / "dashboard.log").open("w")
        command = ["dash_app", "--config", str(config), "--workers", str(workers)]
        dashboard = subprocess.Popen(
            [sys.executable, "-m", *command, "--port", str(port)],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait(f"{url}/api/health")
            sessions = []
            for _ in range(workers):  # one person per worker, asking at the same time
                session = requests.Session()
                session.headers["X-Forwarded-User"] = "bench"
                session.get(f"{url}/api/health", timeout=30)
                sessions.append(session)
            started = time.perf_counter()
            with ThreadPoolExecutor(workers) as pool:
                list(
                    pool.map(
                        lambda n: _query(sessions[n % workers], url, 1 + (n * 7919) % items),
                        range(queries),
                    )
                )
            seconds = time.perf_counter() - started
            time.sleep(1)
            rows = []
            for child in psutil.Process(dashboard.pid).children():
                info = child.memory_full_info()
                rows.append(
                    {
                        "pid": child.pid,
                        "rss_mb": info.rss / 2**20,
                        "uss_mb": info.uss / 2**20,
                        "pss_mb": info.pss / 2**20,
                        "vectors_mapped_mb": _mapped_mb(child.pid, "vectors.npy"),
                        "faiss_mapped_mb": _mapped_mb(child.pid, "search.faiss"),
                    }
                )
        finally:
            os.killpg(dashboard.pid, signal.SIGTERM)
            dashboard.wait(timeout=60)
            redis.terminate()
            redis.wait(timeout=30)
            log.close()
            shutil.rmtree(folder, ignore_errors=True)
    return {
        "items": items,
        "workers": workers,
        "search": built["search"],
        "vectors_mb": vectors_mb,
        "queries": queries,
        "queries_per_s": queries / seconds,
        "rows": rows,
    }


def report(result: dict) -> None:
    print(
        f"\n{result['items']:,} items x 2560 ({result['vectors_mb']:,.0f} MB of vectors),"
        f" {result['workers']} gunicorn workers, search {result['search'] or 'exact numpy'},"
        f" {result['queries']} Discover queries"
        f" ({result['queries_per_s']:.1f}/s over all workers)"
    )
    print(
        f"  {'worker':>8} {'RSS MB':>9} {'USS MB':>9} {'PSS MB':>9} {'vectors mapped MB':>18}"
        f" {'FAISS mapped MB':>16}"
    )
    for row in result["rows"]:
        print(
            f"  {row['pid']:>8} {row['rss_mb']:9.0f} {row['uss_mb']:9.0f} {row['pss_mb']:9.0f}"
            f" {row['vectors_mapped_mb']:18.0f} {row['faiss_mapped_mb']:16.0f}"
        )
    uss = sum(r["uss_mb"] for r in result["rows"])
    pss = sum(r["pss_mb"] for r in result["rows"])
    copied = result["vectors_mb"] * len(result["rows"])
    print(
        f"  all workers: USS {uss:,.0f} MB, PSS {pss:,.0f} MB; a copy of the vectors in each"
        f" would be {copied:,.0f} MB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument(
        "--engine", default="numpy", choices=["numpy", "auto"], help="search.engine (auto: FAISS)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        raise SystemExit("needs redis-server (apt-get install redis-server)")
    result = measure(args.items, args.workers, args.queries, args.engine)
    print(json.dumps(result) if args.json else "", end="")
    report(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
