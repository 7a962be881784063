"""Where the test suite's time goes: per test, and per kind of cost.

    python -m bench.test_suite [--workers N] [--xml FILE] [-- PYTEST ARGS]

Runs the suite (`-n N --dist loadgroup`, as `make test` does) with a JUnit report, or reads one
already written (`--xml`), and prints the wall time, the summed test time, the slowest tests and
the summed time of each kind. A test's kind is what its module mostly spends on (the table
below, from profiling the suite): a model is built and run, a demo feed is scraped, Chromium is
driven, a service is started, a command line runs in a child process, or none of these.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

KINDS = {  # module (under tests/) -> what its time goes to
    "browser.": "Chromium (browser tests, their dashboards)",
    "integration.test_crash_safety": "child processes killed (scrapes, builds)",
    "integration.test_store_crash": "child processes killed (scrapes, builds)",
    "integration.test_concurrent_ratings": "child processes killed (scrapes, builds)",
    "integration.test_ray_extraction": "Ray (a local cluster, actors with models)",
    "integration.test_s3_images": "services (PostgreSQL, Redis, S3, Celery)",
    "integration.test_team_cli": "services (PostgreSQL, Redis, S3, Celery)",
    "integration.test_tag_trends": "demo scrapes",
    "integration.test_near_duplicate_scrapes": "demo scrapes",
    "integration.test_scrape_demo": "demo scrapes",
    "integration.test_scrape_cli": "command lines in child processes",
    "integration.test_cli": "command lines in child processes",
    "integration.test_compare_backbones": "models (build and forward passes)",
    "integration.test_engine": "models (build and forward passes)",
    "integration.test_one_query_path": "models (build and forward passes)",
    "integration.test_learned_space": "models (build and forward passes)",
    "integration.test_interleaving": "models (build and forward passes)",
    "integration.test_dashboard_engine": "models (build and forward passes)",
    "integration.test_demo_bootstrap": "models (build and forward passes)",
    "integration.test_no_global_state": "models (build and forward passes)",
    "integration.test_hostile_dashboard": "models (build and forward passes)",
    "integration.test_hostile_inputs": "models (build and forward passes)",
    "integration.test_sources": "replicas and fault servers on loopback",
    "integration.test_api_sources": "replicas and fault servers on loopback",
    "integration.test_ssrf": "replicas and fault servers on loopback",
    "integration.test_scrape_faults": "replicas and fault servers on loopback",
    "integration.test_demo_feed_http": "demo scrapes",
    "unit.": "unit tests",
}


def kind_of(classname: str) -> str:
    name = classname.removeprefix("tests.")
    for prefix, kind in KINDS.items():
        if name.startswith(prefix):
            return kind
    return "other"


def run_suite(workers: int, xml: Path, extra: list[str]) -> float:
    """The suite as `make test` runs it; its wall time in seconds."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "pytest", "-q", f"--junitxml={xml}", *extra]
    if workers > 1:
        command[3:3] = ["-n", str(workers), "--dist", "loadgroup"]
    subprocess.run(command, cwd=REPO, check=False)
    return time.perf_counter() - started


def report(xml: Path, wall: float | None, top: int) -> None:
    tests: list[tuple[float, str, str]] = []
    for case in ET.parse(xml).iter("testcase"):
        tests.append((float(case.get("time", 0)), case.get("classname", ""), case.get("name", "")))
    total = sum(t for t, _, _ in tests)
    by_kind: dict[str, list[float]] = defaultdict(list)
    for seconds, classname, _ in tests:
        by_kind[kind_of(classname)].append(seconds)
    if wall is not None:
        print(f"wall {wall / 60:.1f} min ({wall:.0f} s)")
    print(f"{len(tests)} tests, {total:.0f} s of test time summed over the workers\n")
    print("| kind | tests | seconds | share |")
    print("|---|---:|---:|---:|")
    for kind, times in sorted(by_kind.items(), key=lambda kv: -sum(kv[1])):
        print(f"| {kind} | {len(times)} | {sum(times):.0f} | {sum(times) / total:.0%} |")
    print(f"\n| slowest {top} | seconds |\n|---|---:|")
    for seconds, classname, name in sorted(tests, reverse=True)[:top]:
        print(f"| `{classname.removeprefix('tests.')}::{name}` | {seconds:.1f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers (default 2)")
    parser.add_argument("--xml", type=Path, help="report on this JUnit file instead of running")
    parser.add_argument("--top", type=int, default=25, help="how many of the slowest tests")
    parser.add_argument("pytest_args", nargs="*", help="passed on to pytest (after --)")
    args = parser.parse_args(argv)
    if args.xml:
        report(args.xml, None, args.top)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "suite.xml"
        wall = run_suite(args.workers, xml, args.pytest_args)
        report(xml, wall, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
