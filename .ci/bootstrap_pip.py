"""Install pip into the running interpreter's venv when the system has no ensurepip.

Debian and Ubuntu ship python3 without ensurepip (it lives in python3-venv), so `make setup`
creates the venv with --without-pip and runs this: it fetches the newest pip wheel from PyPI and
lets that wheel install itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

INDEX = "https://pypi.org/pypi/pip/json"


def main() -> int:
    with urllib.request.urlopen(INDEX, timeout=60) as response:
        release = json.load(response)
        base = response.geturl()
    wheel = next(u for u in release["urls"] if u["filename"].endswith(".whl"))
    url = urllib.parse.urljoin(base, wheel["url"])  # some mirrors answer with relative links
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / wheel["filename"]
        with urllib.request.urlopen(url, timeout=120) as response:
            path.write_bytes(response.read())
        # A pip wheel can run itself: <wheel>/pip is importable from the zip.
        return subprocess.call([sys.executable, f"{path}/pip", "install", "--quiet", str(path)])


if __name__ == "__main__":
    raise SystemExit(main())
