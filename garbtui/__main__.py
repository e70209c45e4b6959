"""Entry point for `python -m garbtui`."""

from garbtui.cli import main

raise SystemExit(main())
