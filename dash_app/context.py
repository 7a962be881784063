"""What a running dashboard shares between pages: the config and the open store."""

from __future__ import annotations

from dataclasses import dataclass

import flask

from store import Config, Store

EXTENSION_KEY = "stylescout"


@dataclass(frozen=True)
class AppContext:
    """Per-app state, kept on the Flask server so several apps can live in one process."""

    config: Config
    store: Store


def get_context() -> AppContext:
    """The context of the app serving the current request."""
    return flask.current_app.extensions[EXTENSION_KEY]
