"""`python -m dash_app`."""

from dash_app.cli import main

raise SystemExit(main())
