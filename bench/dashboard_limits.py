"""What a hostile client costs the running dashboard (issue 10's measurements, re-run):
memory for six parallel uploads of a small PNG with 39 megapixels, a 42 MB JSON body, the time a
300-photo recommendation request takes, threads held by 20 idle connections.

`python -m bench.dashboard_limits`; figures only, no pass/fail."""

from __future__ import annotations

import io
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests
from PIL import Image

from dash_app import create_app
from dash_app.app import close_app
from dash_app.web.serving import serve_app
from sandbox.dash_client import UPDATE, recommend_body, upload_body
from stylescout.loader import load_config, parse_config

USER = "u" + "ef" * 16


def _big_png() -> bytes:
    """39 megapixels of one colour: ~160 kB as PNG, ~117 MB once decoded."""
    out = io.BytesIO()
    Image.new("RGB", (6240, 6250), (200, 120, 40)).save(out, "PNG", optimize=True)
    return out.getvalue()


class _Peak:
    """Samples this process's resident memory every 20 ms."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> _Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    base = load_config()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        config = parse_config(
            {"data_dir": str(data_dir), "features": base.features.model_dump(mode="json")},
            "bench",
            Path(tmp),
        )
        app = create_app(config)
        with serve_app(app) as server:
            url = server.url + UPDATE
            rss = psutil.Process().memory_info().rss
            png = _big_png()
            print(f"39-megapixel PNG: {len(png) / 1000:.0f} kB")
            with _Peak() as peak, ThreadPoolExecutor(6) as pool:
                body = upload_body(png, "big.png")
                codes = list(pool.map(lambda b: requests.post(url, json=b).status_code, [body] * 6))
            print(
                f"6 parallel uploads: HTTP {sorted(set(codes))}, resident memory "
                f"{rss / 2**30:.2f} GB -> peak {peak.peak / 2**30:.2f} GB"
            )
            rss = psutil.Process().memory_info().rss
            with _Peak() as peak:
                big = recommend_body([{"kind": "upload", "sha256": "a" * 64}], USER)
                big["state"] = ["x" * 42_000_000]
                code = requests.post(url, json=big).status_code
            print(
                f"42 MB JSON body to the recommendation callback: HTTP {code}, resident memory "
                f"{rss / 2**30:.2f} GB -> peak {peak.peak / 2**30:.2f} GB"
            )
            photos = [{"kind": "upload", "sha256": f"{n:064x}"} for n in range(300)]
            started = time.perf_counter()
            reply = requests.post(url, json=recommend_body(photos, USER))
            print(
                f"300 photo entries: HTTP {reply.status_code} in "
                f"{(time.perf_counter() - started) * 1000:.0f} ms ("
                f"{'refused' if 'not accepted' in reply.text else 'used'})"
            )
            threads = threading.active_count()
            host, port = server.url.removeprefix("http://").rsplit(":", 1)
            idle = [socket.create_connection((host, int(port))) for _ in range(20)]
            time.sleep(0.5)
            print(f"20 idle connections: threads {threads} -> {threading.active_count()}")
            for conn in idle:
                conn.close()
        close_app(app)


if __name__ == "__main__":
    main()
