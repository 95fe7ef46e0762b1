"""Server-sent events from a synchronous producer, closing the producer when the client leaves.

The producer (a model stream) runs in a worker thread one step at a time. When the client
disconnects, Starlette cancels the response task; the ``finally`` below then closes the producer,
which closes the upstream model stream, so no tokens are generated for nobody.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from starlette.concurrency import run_in_threadpool

_DONE = object()


def sse_event(event: str, data: Any) -> str:
    """One SSE frame with a named event and a JSON payload."""
    payload = json.dumps(data, ensure_ascii=False, default=str)
    return f"event: {event}\ndata: {payload}\n\n"


def _next(iterator: Iterator[str]) -> object:
    return next(iterator, _DONE)


async def drain(iterator: Iterator[str]) -> AsyncIterator[str]:
    """Yield the producer's items without blocking the event loop; always close it at the end."""
    try:
        while True:
            item = await run_in_threadpool(_next, iterator)
            if item is _DONE:
                return
            yield str(item)
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
