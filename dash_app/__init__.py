"""The StyleScout dashboard. `create_app()` builds it; `python -m dash_app` serves it."""

from dash_app.app import create_app

__all__ = ["create_app"]
