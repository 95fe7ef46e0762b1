"""Property-based API testing with schemathesis against the OpenAPI schema, authenticated as an admin.

Every operation gets generated requests (valid and invalid); no response may be a 5xx, and every
response must match the documented status codes, content types and schemas. The one check left
out is "schema-valid data must be accepted": business rules beyond the schema (password strength,
a chat needing a user message, key scopes within the owner's role) rightly answer 422.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from app.api.factory import create_app
from app.services import accounts
from core.settings import AuthSettings, EmbeddingSettings, Settings
from retrieval.tokenizer import KiwiTokenizer
from tests.api_harness import PASSWORD
from tests.support.containers import make_container

pytestmark = pytest.mark.integration

SAMPLE = "# 보안 규정\n\n## 제3조(비밀번호)\n\n비밀번호는 90일마다 바꾼다.\n"
HEADERS: dict[str, str] = {}
MAX_EXAMPLES = 8
# Logging out would end the session every other operation authenticates with.
SKIPPED = {"POST /api/v1/auth/logout", "POST /api/v1/auth/oidc/logout"}


@pytest.fixture(scope="module")
def app_schema(tmp_path_factory: pytest.TempPathFactory, kiwi: KiwiTokenizer) -> Iterator[Any]:
    """The API on a fresh data dir with one document, an admin, and generous rate limits."""
    data = Path(tmp_path_factory.mktemp("schemathesis")) / "data"
    config = Settings(
        data_dir=data,
        embedding=EmbeddingSettings(model="hashing"),
        auth=AuthSettings(
            rate_limit_per_minute=100_000,
            chat_rate_limit_per_minute=100_000,
            login_attempts_per_minute=100_000,
        ),
    )
    container = make_container(config, kiwi)
    from ingest.pipeline import IngestRequest

    container.pipeline.ingest(IngestRequest(data=SAMPLE.encode(), filename="보안.md", is_public=True))
    with container.sessions.begin() as session:
        accounts.create_user(session, "admin", PASSWORD, role="admin")
    app = create_app(config, container)
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        HEADERS["Authorization"] = f"Bearer {token.json()['token']}"
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
    container.engine.dispose()


def _check_operation(operation: Any) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=HEADERS, excluded_checks=[positive_data_acceptance])

    run()


def test_api_conforms_to_its_schema(app_schema: Any) -> None:
    failures: dict[str, str] = {}
    checked = 0
    for result in app_schema.get_all_operations():
        operation = result.ok()
        if operation.label in SKIPPED:
            continue
        checked += 1
        try:
            _check_operation(operation)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect all, then report
            failures[operation.label] = str(exc)[:2000]
    assert checked >= 30
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
