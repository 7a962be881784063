"""`python -m store`."""

from store.cli import main

raise SystemExit(main())
