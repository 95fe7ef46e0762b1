"""``python -m app.cli``: the ``jikji`` command without the console script."""

from app.cli import main

raise SystemExit(main())
