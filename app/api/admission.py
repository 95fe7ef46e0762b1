"""The answer queue as a route dependency (see :mod:`app.services.admission`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Depends, Request

from app.api.deps import ChatPrincipal
from app.services.admission import AnswerQueue


def get_answer_queue(request: Request) -> AnswerQueue:
    """The process's answer queue (made by :func:`app.api.factory.create_app`)."""
    queue: AnswerQueue = request.app.state.answer_queue
    return queue


async def answer_slot(request: Request, _principal: ChatPrincipal) -> AsyncIterator[None]:
    """Hold a turn of the answer queue for the whole request, streamed response included.

    It runs after authentication and the chat scope check (an anonymous client cannot queue) and
    before the route, so a refused request (503 ``server_busy``) has stored nothing. FastAPI exits
    it once the response is sent or the client went away, which frees the turn.
    """
    queue = get_answer_queue(request)
    started = await queue.acquire()
    try:
        yield
    finally:
        queue.release(started)


AnswerSlot = Depends(answer_slot)
