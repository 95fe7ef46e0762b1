"""The start-or-skip rule every real server of the tests follows (tests/support/servers.py)."""

from __future__ import annotations

import pytest

from tests.support.servers import started_or_skipped


class FakeServer:
    """Records start/stop; fails to start when told to."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[str] = []

    def start(self) -> None:
        self.calls.append("start")
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        self.calls.append("stop")


def test_a_started_server_is_yielded_and_stopped_afterwards() -> None:
    server = FakeServer()
    with started_or_skipped(server, "fake", required=True, errors=(RuntimeError,)) as started:
        assert started is server
        assert server.calls == ["start"]
    assert server.calls == ["start", "stop"]


def test_a_server_that_cannot_start_skips_unless_required_then_fails() -> None:
    server = FakeServer(RuntimeError("port taken"))
    with (
        pytest.raises(pytest.skip.Exception, match="no fake: port taken"),
        started_or_skipped(server, "fake", required=False, errors=(RuntimeError,)),
    ):
        pass
    assert server.calls == ["start", "stop"]  # half-started processes are cleaned up
    with (
        pytest.raises(pytest.fail.Exception, match="fake is required here"),
        started_or_skipped(FakeServer(RuntimeError("x")), "fake", required=True, errors=(RuntimeError,)),
    ):
        pass


def test_an_unexpected_error_is_not_turned_into_a_skip() -> None:
    with (
        pytest.raises(ValueError, match="bug"),
        started_or_skipped(FakeServer(ValueError("bug")), "fake", required=False, errors=(RuntimeError,)),
    ):
        pass
