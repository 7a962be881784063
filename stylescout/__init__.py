"""StyleScout's core: settings, errors, tags and what every command line shares.

It imports nothing else of ours, so every part (store, scraper, clustering, dashboard) can lean
on it without the parts leaning on each other.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stylescout")
except PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"
