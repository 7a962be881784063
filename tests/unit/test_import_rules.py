"""The house rules, read from the imports of the tree (DESIGN: arrows point one way).

The core imports nothing of ours; the store only the core; the scraper and the style engine never
each other; the sandbox of fake sites only the core, and production reaches it only from the demo
entry points; nothing imports `tests` or `bench`; and no two modules import each other at load.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("stylescout", "store", "scraper", "clustering", "dash_app", "sandbox", "bench", "tests")
MAY_IMPORT = {
    "stylescout": set(),
    "store": {"stylescout"},
    "scraper": {"store", "stylescout"},
    "clustering": {"store", "stylescout"},
    "sandbox": {"stylescout"},
    "dash_app": {"clustering", "scraper", "store", "stylescout"},
    "bench": {"stylescout", "store", "scraper", "clustering", "dash_app", "sandbox"},
}
DEMO_ENTRY_POINTS = {"scraper.cli", "dash_app.cli", "dash_app.demo"}  # may import the sandbox


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _imports() -> dict[str, list[tuple[str, bool]]]:
    """Each module of ours -> (module it imports, whether at load time rather than in a body)."""
    found: dict[str, list[tuple[str, bool]]] = {}
    for part in PARTS:
        for path in sorted((ROOT / part).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            at_load = {id(node) for node in tree.body}
            names: list[tuple[str, bool]] = []
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names += [(a.name, id(node) in at_load) for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    # `from pkg import mod` imports pkg.mod; `from mod import name`, mod
                    names += [(f"{node.module}.{a.name}", id(node) in at_load) for a in node.names]
            found[_module_name(path)] = [(n, load) for n, load in names if n.split(".")[0] in PARTS]
    return found


def test_the_tree_is_read() -> None:
    modules = _imports()
    assert {"stylescout.settings", "scraper.sources.registry", "sandbox.replicas.mastodon"} <= set(
        modules
    )
    assert sum(len(v) for v in modules.values()) > 300


def test_each_part_imports_only_what_it_may() -> None:
    broken = []
    for module, imported in _imports().items():
        part = module.split(".")[0]
        if part == "tests":
            continue
        allowed = MAY_IMPORT[part] | {part}
        if module in DEMO_ENTRY_POINTS:
            allowed = allowed | {"sandbox"}
        broken += [
            f"{module} -> {name}" for name, _ in imported if name.split(".")[0] not in allowed
        ]
    assert broken == []


def test_no_module_imports_tests_or_bench_outside_them() -> None:
    reach = [
        f"{module} -> {name}"
        for module, imported in _imports().items()
        for name, _ in imported
        if name.split(".")[0] in {"tests", "bench"}
        and module.split(".")[0] not in {"tests", "bench"}
    ]
    assert reach == []
    assert not any(
        name.split(".")[0] == "tests"
        for m, i in _imports().items()
        if m.startswith("bench")
        for name, _ in i
    )


def test_no_two_modules_import_each_other_at_load() -> None:
    """A circle of load-time imports breaks whichever module is imported first."""
    modules = _imports()
    graph: dict[str, set[str]] = defaultdict(set)
    for module, imported in modules.items():
        for name, at_load in imported:
            target = name if name in modules else name.rsplit(".", 1)[0]  # a name, not a module
            if at_load and target in modules and target != module:
                graph[module].add(target)
    circles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(modules):
        if module not in state:
            visit(module, [module])
    assert circles == []
