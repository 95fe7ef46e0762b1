"""The ``jikji`` command line: one module per command group, one way to open and close the container.

:mod:`app.cli.parser` defines every command; each names its handler (``"module:function"``), which
is imported only when that command runs. Handlers take the settings and the parsed arguments and
return the exit code; they open the container with :func:`app.cli.common.open_container`.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from app.cli.parser import build_parser
from core.settings import Settings, load_settings
from retrieval.vectors import EmbedderMismatchError

__all__ = ["build_parser", "main"]

Handler = Callable[[Settings, object], int]


def _handler(spec: str) -> Handler:
    module, name = spec.split(":")
    handler: Handler = getattr(importlib.import_module(module), name)
    return handler


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jikji`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    try:
        return _handler(args.handler)(settings, args)
    except EmbedderMismatchError as exc:  # a configuration error a person fixes: no traceback
        print(str(exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
