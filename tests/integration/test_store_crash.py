"""A writer killed with SIGKILL never leaves a row without its intact file."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store import Store
from store.check import check_store
from tests.integration.helpers import REPO

WRITER = """
import sys
from store import Store
from tests.conftest import jpeg_bytes, meta_for
store = Store(sys.argv[1], url=sys.argv[3] or None)
seed = int(sys.argv[2])
print("ready", flush=True)
while True:
    store.images.add_image_bytes(jpeg_bytes(seed, size=(256, 256)), meta_for(seed), ["boho"])
    seed += 1
"""


@pytest.mark.slow
def test_killed_writer_leaves_a_consistent_store(tmp_path: Path, store_url: str | None) -> None:
    data = tmp_path / "data"
    rng = random.Random(1234)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for trial in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(data), str(trial * 100_000), store_url or ""],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout.readline().strip() == "ready"  # type: ignore[union-attr]
        time.sleep(rng.uniform(0.05, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    with Store(data, url=store_url) as store:
        report = check_store(store)
        assert report.rows > 0
        assert not report.integrity and not report.missing and not report.corrupt
        check_store(store, repair=True)
        assert check_store(store).clean
