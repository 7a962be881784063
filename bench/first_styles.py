"""From nothing to built styles on the command line: `python -m bench.first_styles`.

What a new user waits for the first time: one tag gathered from three sites into an empty data
folder, then the styles built, with the same two commands the README and the tutorial give
(`stylescout scrape --tag TAG --count N --source a,b,c`, then `stylescout build`), run as
subprocesses so interpreter start, imports, model loading and the store's first writes all count.

The sites are replicas (sandbox/replicas/) of Mastodon, Pixelfed and Bluesky, each in its own
process on 127.0.0.1 with --posts posts of the tag and --latency-ms added to every request; their
images are drawn once by an untimed in-process scrape before the first run, as a real site's
already exist. The config each run writes holds only keys a user would write: the three sources
pointed at the replicas (every other built-in source switched off) and `features.*` overrides
from the flags; everything else is the product's default. Each of --repeats runs starts from a
fresh data folder; the converted-model folder (`features.model_dir`) is kept across them, so the
first run is "cold" (the model converted) and later ones "warm" (loaded from disk).

Reported per run and as medians: the scrape's seconds (until every image is stored), the build's
(until the styles are built), the total, the images stored, and from the build's own summary line
the images it extracted and its extraction time (extracted / the rate it prints).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlsplit

import yaml

from bench.api_sources import KEY, LATENCY_S, config_for, counts, replica, timed
from sandbox.replicas import ReplicaOptions
from scraper.scrape import scrape_sources
from stylescout.errors import ConfigError
from stylescout.loader import parse_config
from stylescout.settings import Config, FeaturesConfig, builtin_sources

SITES = ("mastodon", "pixelfed", "bluesky")
# what a user exports for the sites that want a credential (docs/how-to/sources.md); the
# replicas take KEY as Pixelfed's token and as Bluesky's app password for their one account
CREDENTIALS = {
    "STYLESCOUT_PIXELFED_TOKEN": KEY,
    "STYLESCOUT_BLUESKY_HANDLE": ReplicaOptions.handle,
    "STYLESCOUT_BLUESKY_APP_PASSWORD": KEY,
}
FEATURES = FeaturesConfig.model_fields
SUMMARY = re.compile(
    r"extracted (?P<extracted>\d+) \((?P<rate>[\d.]+) images/s\).*"
    r" (?P<images>\d+) images in (?P<styles>\d+) styles.*, in (?P<seconds>[\d.]+) s$"
)
MODEL_LOG = re.compile(r"(?P<what>converted|loaded) \S+ in (?P<seconds>[\d.]+) s")


@dataclass(frozen=True)
class Run:
    """One run from an empty data folder to built styles."""

    model: str  # cold / warm / keras, with the model's convert and load seconds
    scrape_s: float
    build_s: float
    total_s: float
    images: int  # stored by the scrape
    extracted: int  # from the build's summary line
    extract_s: float  # extracted / the images/s the build prints
    styles: int
    summary: list[str]  # the scrape's and the build's result lines


def stylescout() -> list[str]:
    """The `stylescout` command beside this interpreter (as .venv/bin has it), else `-m`."""
    entry = Path(sys.executable).parent / "stylescout"
    return [str(entry)] if entry.is_file() else [sys.executable, "-m", "stylescout"]


def child_env() -> dict[str, str]:
    """This environment without the caller's STYLESCOUT_* settings, plus the sites' credentials:
    the commands read the written config and nothing else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STYLESCOUT_")}
    return env | CREDENTIALS


def set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        raw = raw.setdefault(part, {})
    raw[leaf] = value


def user_config(
    data_dir: Path, sites: dict[str, str], features: dict[str, Any], overrides: list[str]
) -> dict[str, Any]:
    """config.yaml as a user would write it for the replicas; `overrides` are KEY=VALUE."""
    sources: dict[str, Any] = {
        name: {"enabled": False} for name in builtin_sources() if name not in sites
    }
    for name, url in sites.items():
        sources[name] = {
            "enabled": True,
            "base_url": url,
            "allow_private_network": True,  # 127.0.0.1
            "api": {"request_spacing_s": 0},  # as bench.api_sources measures the sources
        }
    raw: dict[str, Any] = {"data_dir": str(data_dir), "sources": sources, "features": features}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"--set takes KEY=VALUE, not {item!r}")
        set_dotted(raw, key.strip(), yaml.safe_load(value))
    return raw


def checked(raw: dict[str, Any], path: Path, sites: dict[str, str]) -> Config:
    """The settings the commands will read: valid, the replicas' entries as bench.api_sources
    makes them, and every enabled source on 127.0.0.1."""
    config = parse_config(raw, str(path), path.parent)
    same = config_for(config.data_dir, sites)
    for name in sites:
        if config.sources[name] != same.sources[name]:
            raise SystemExit(f"{name}: the written entry differs from bench.api_sources' entry")
    outside = [
        name
        for name, source in config.sources.items()
        if source.enabled and urlsplit(source.base_url or "").hostname != "127.0.0.1"
    ]
    if outside:
        raise SystemExit(f"sources not on a local replica: {', '.join(outside)}")
    return config


def command(args: list[str], cwd: Path, ok: tuple[int, ...]) -> tuple[str, str]:
    done = subprocess.run(
        args, cwd=cwd, env=child_env(), capture_output=True, text=True, check=False
    )
    if done.returncode not in ok:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise SystemExit(f"{shlex.join(args)} exited {done.returncode}:\n{tail}")
    return done.stdout, done.stderr


def model_label(stderr: str, runtime: str) -> str:
    """cold (converted now) or warm (loaded from features.model_dir), from the build's log."""
    found = {m["what"]: float(m["seconds"]) for m in MODEL_LOG.finditer(stderr)}
    if "converted" in found:
        return f"cold: converted {found['converted']:.1f} s, loaded {found.get('loaded', 0):.1f} s"
    if "loaded" in found:
        return f"warm: loaded {found['loaded']:.1f} s"
    return "keras (no converted model)" if runtime == "tensorflow" else "?"


def one_run(
    raw: dict[str, Any], sites: dict[str, str], tag: str, count: int, show_commands: bool
) -> Run:
    with tempfile.TemporaryDirectory(prefix="first-styles-") as tmp:
        root = Path(tmp)
        data_dir, path = root / "data", root / "config.yaml"
        raw = {**raw, "data_dir": str(data_dir)}
        config = checked(raw, path, sites)
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        options = ["--config", str(path)]
        scrape = [*stylescout(), "scrape", *options, "--tag", tag, "--count", str(count)]
        scrape += ["--source", ",".join(sites)]
        build = [*stylescout(), "build", *options]
        if show_commands:
            print(f"$ {shlex.join(scrape)}\n$ {shlex.join(build)}")
        started = time.perf_counter()
        scraped, _ = command(scrape, root, (0, 1))  # 1: done, some images failed
        stored = time.perf_counter()
        built, log = command(build, root, (0,))
        finished = time.perf_counter()
        _, images = counts(data_dir)
    lines = [line for line in built.splitlines() if not line.startswith("challenger ")]
    match = next((m for m in map(SUMMARY.search, lines) if m), None)
    if match is None:
        raise SystemExit(f"no summary line in the build's output:\n{built}")
    extracted, rate = int(match["extracted"]), float(match["rate"])
    return Run(
        model=model_label(log, config.features.runtime),
        scrape_s=stored - started,
        build_s=finished - stored,
        total_s=finished - started,
        images=images,
        extracted=extracted,
        extract_s=extracted / rate if rate > 0 else 0.0,
        styles=int(match["styles"]),
        summary=scraped.splitlines() + built.splitlines(),
    )


def table(runs: list[Run]) -> list[str]:
    out = [
        "| run | model | scrape s | build s | total s | images | extracted | extract s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n, r in enumerate(runs, 1):
        out.append(
            f"| {n} | {r.model} | {r.scrape_s:.1f} | {r.build_s:.1f} | {r.total_s:.1f} | "
            f"{r.images} | {r.extracted} | {r.extract_s:.1f} |"
        )

    def med(field: str) -> float:
        return statistics.median(getattr(r, field) for r in runs)

    out.append(
        f"| median | | {med('scrape_s'):.1f} | {med('build_s'):.1f} | {med('total_s'):.1f} | "
        f"{med('images'):.0f} | {med('extracted'):.0f} | {med('extract_s'):.1f} |"
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="boho")
    parser.add_argument("--posts", type=int, default=100, help="posts of the tag on each site")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--latency-ms", type=float, default=LATENCY_S * 1000, help="added to every request"
    )
    parser.add_argument(
        "--runtime", choices=get_args(FEATURES["runtime"].annotation), help="features.runtime"
    )
    parser.add_argument(
        "--precision",
        choices=get_args(FEATURES["precision"].annotation),
        help="features.precision (int8 and bf16 need --runtime openvino)",
    )
    parser.add_argument(
        "--input-size",
        type=int,
        default=FEATURES["input_size"].default,
        help="features.input_size (default: the product's, %(default)s)",
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        help="features.model_dir (default: a temporary folder kept across the repeats)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other setting, e.g. features.weights=none (VALUE read as YAML); repeatable",
    )
    args = parser.parse_args()
    if args.posts < 1 or args.repeats < 1:
        parser.error("--posts and --repeats must be at least 1")

    with ExitStack() as stack:
        if args.model_dir is None:
            model_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="models-")))
            where = "a temporary folder, kept across the repeats"
        else:
            model_dir = args.model_dir.resolve()
            model_dir.mkdir(parents=True, exist_ok=True)
            where = "--model-dir"
        features: dict[str, Any] = {"model_dir": str(model_dir)}
        if args.runtime:
            features["runtime"] = args.runtime
        if args.precision:
            features["precision"] = args.precision
        if args.input_size != FEATURES["input_size"].default:
            features["input_size"] = args.input_size
        placeholder = {name: "http://127.0.0.1:1" for name in SITES}
        probe = Path(tempfile.gettempdir()) / "config.yaml"
        try:  # refuse bad flags before any replica starts
            raw = user_config(probe.parent / "data", placeholder, features, args.set)
            config = checked(raw, probe, placeholder)
        except ConfigError as exc:
            parser.error(str(exc))
        count = args.posts * max(config.sources[n].api.max_images_per_post for n in SITES)
        f = config.features
        before = "holds files" if any(model_dir.iterdir()) else "empty"
        print(
            f"#{args.tag}: {', '.join(SITES)} replicas on 127.0.0.1, {args.posts} posts each, "
            f"{args.latency_ms:.0f} ms per request; --count {count} per source\n"
            f"features: runtime {f.runtime}, precision {f.precision}, input {f.input_size}, "
            f"weights {f.weights}; model_dir {model_dir} ({where}; {before} at the start)\n"
            f"median of {args.repeats} runs, each from an empty data folder"
        )

        os.environ.update(CREDENTIALS)  # for the in-process warm-up below
        common = {
            "posts": args.posts,
            "tags": frozenset({args.tag}),
            "latency_s": args.latency_ms / 1000,
            "token": KEY,
            "login_limit": 1000,  # one Bluesky login per scrape command
        }
        sites = {name: stack.enter_context(replica(name, **common)) for name in SITES}

        def warm(c: Config) -> None:
            for outcome in scrape_sources(c.scraping, args.tag, count, list(sites)):
                if outcome.error is not None:
                    raise SystemExit(f"warm-up: {outcome.source}: {outcome.error}")

        seconds, posts, images = timed(warm, sites)
        print(
            f"replicas' images drawn (untimed warm-up): {posts} posts, {images} images"
            f" in {seconds:.1f} s"
        )

        raw = user_config(Path("data"), sites, features, args.set)
        runs = []
        for n in range(args.repeats):
            run = one_run(raw, sites, args.tag, count, show_commands=n == 0)
            runs.append(run)
            print(f"run {n + 1}: " + " | ".join(run.summary))
    print("\n".join(table(runs)))
    print(f"styles built: {', '.join(str(r.styles) for r in runs)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
