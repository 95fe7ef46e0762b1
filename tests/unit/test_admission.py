"""The answer queue on its own: turns, waiting in order, refusals with Retry-After."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from app.services.admission import RETRY_AFTER_MAX_S, AnswerQueue
from app.services.errors import AppError
from core.settings import AnswerQueueSettings


def run(scenario: Coroutine[Any, Any, None]) -> None:
    """Run ``scenario`` to the end on a fresh event loop in its own thread: the browser tests' sync
    Playwright keeps a loop running in the main thread for the whole session, where asyncio.run fails."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, scenario).result()


def queue(max_active: int = 2, max_waiting: int = 2, wait_timeout_s: float = 60.0) -> AnswerQueue:
    return AnswerQueue(
        AnswerQueueSettings(max_active=max_active, max_waiting=max_waiting, wait_timeout_s=wait_timeout_s)
    )


async def settle() -> None:
    """Let every task that can run do so."""
    for _ in range(5):
        await asyncio.sleep(0)


def test_beyond_active_and_waiting_a_request_is_refused_at_once_with_retry_after() -> None:
    async def scenario() -> None:
        answers = queue(max_active=2, max_waiting=1)
        await answers.acquire()
        await answers.acquire()
        waiting = asyncio.create_task(answers.acquire())
        await settle()
        assert answers.state().active == 2 and answers.state().waiting == 1
        with pytest.raises(AppError) as refused:
            await answers.acquire()
        assert refused.value.status == 503 and refused.value.code == "server_busy"
        assert refused.value.headers and 1 <= int(refused.value.headers["Retry-After"]) <= RETRY_AFTER_MAX_S
        assert "잠시 후" in refused.value.message_ko and "try again" in refused.value.message_en
        waiting.cancel()
        await settle()

    run(scenario())


def test_a_released_turn_goes_to_the_first_waiter_and_the_count_drops_when_none_waits() -> None:
    async def scenario() -> None:
        answers = queue(max_active=1, max_waiting=2)
        first = await answers.acquire()
        order: list[str] = []

        async def wait(name: str) -> float:
            started = await answers.acquire()
            order.append(name)
            return started

        second, third = asyncio.create_task(wait("second")), asyncio.create_task(wait("third"))
        await settle()
        assert answers.state().waiting == 2
        answers.release(first)
        answers.release(await second)
        answers.release(await third)
        assert order == ["second", "third"]
        assert answers.state().active == 0 and answers.state().waiting == 0

    run(scenario())


def test_a_request_that_waits_too_long_is_refused_and_leaves_the_queue() -> None:
    async def scenario() -> None:
        answers = queue(max_active=1, max_waiting=1, wait_timeout_s=0.01)
        holder = await answers.acquire()
        with pytest.raises(AppError) as refused:
            await answers.acquire()
        assert refused.value.status == 503 and refused.value.headers
        assert answers.state().waiting == 0
        answers.release(holder)
        assert answers.state().active == 0

    run(scenario())


def test_a_waiter_whose_client_went_away_passes_its_turn_on() -> None:
    async def scenario() -> None:
        answers = queue(max_active=1, max_waiting=2)
        holder = await answers.acquire()
        gone, next_one = asyncio.create_task(answers.acquire()), asyncio.create_task(answers.acquire())
        await settle()
        gone.cancel()
        await settle()
        answers.release(holder)
        answers.release(await next_one)
        assert answers.state().active == 0 and answers.state().waiting == 0

    run(scenario())


def test_a_turn_handed_to_a_waiter_that_is_cancelled_at_that_moment_is_not_lost() -> None:
    async def scenario() -> None:
        answers = queue(max_active=1, max_waiting=2)
        holder = await answers.acquire()
        unlucky, next_one = asyncio.create_task(answers.acquire()), asyncio.create_task(answers.acquire())
        await settle()
        answers.release(holder)  # hands the turn to `unlucky` ...
        unlucky.cancel()  # ... which is cancelled before it runs again
        await settle()
        assert unlucky.cancelled()
        answers.release(await next_one)
        assert answers.state().active == 0

    run(scenario())
