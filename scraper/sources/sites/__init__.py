"""The built-in sites: one module per site.

Each module holds `ENTRY`, the site's built-in config entry (a config.yaml entry of the same name
overrides it key by key), and, where the site needs more than field paths, `SOURCE`, the class
that reads it (an entry names it with `module:`). Adding a site is a module here, its replica in
`sandbox/replicas/` and its line in the docs. The settings find the entries through the
`stylescout.sites` entry point, so the core never imports the scraper.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType

from stylescout.settings import SourceConfig


def names() -> list[str]:
    """The built-in sites, by module name."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def site(name: str) -> ModuleType:
    """The module of the built-in site `name` (a KeyError for any other name)."""
    if name not in names():
        raise KeyError(name)
    return importlib.import_module(f"{__name__}.{name}")


@cache
def entries() -> dict[str, SourceConfig]:
    """Every built-in site's entry (the `stylescout.sites` entry point)."""
    return {name: site(name).ENTRY for name in names()}
