"""`python -m stylescout`."""

from stylescout.command import main

raise SystemExit(main())
