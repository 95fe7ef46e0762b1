"""The company dictionary over HTTP: admins add and remove terms, chunks are re-tokenized."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.models import Chunk
from core.settings import Settings
from tests.api_harness import ApiHarness

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite and on PostgreSQL."""
    return settings_on_each_database


PRODUCT = """# 제품 안내

빛누리클라우드허브는 사내 협업 도구이며 빛누리클라우드허브 관리자는 정보보안팀이다.
"""


def _terms_of(api: ApiHarness, document_id: str) -> str:
    with api.container.sessions() as session:
        return " ".join(session.scalars(select(Chunk.lexical_tokens).where(Chunk.document_id == document_id)))


def test_admin_adds_a_term_and_affected_chunks_keep_it_whole(api: ApiHarness) -> None:
    document_id = api.ingest(PRODUCT, "제품.md", public=True)
    whole = '"빛누리클라우드허브"'
    before = _terms_of(api, document_id).count(whole)
    assert before < 2  # Kiwi alone splits at least one of the two mentions
    admin = api.admin()
    added = api.client.post("/api/v1/dictionary", json={"term": "빛누리클라우드허브"}, headers=admin)
    assert added.status_code == 201, added.text
    assert added.json()["retokenized"] >= 1 and added.json()["tag"] == "NNP"
    assert _terms_of(api, document_id).count(whole) == 2
    listed = api.client.get("/api/v1/dictionary", headers=admin).json()["items"]
    assert [item["term"] for item in listed] == ["빛누리클라우드허브"]
    employee = api.user("kim")
    hits = api.client.post("/api/v1/search", json={"query": "빛누리클라우드허브 관리자"}, headers=employee)
    assert hits.json()["results"][0]["document_id"] == document_id
    audit = api.client.get("/api/v1/audit", params={"action": "dictionary.add"}, headers=admin).json()
    assert audit["total"] == 1


def test_duplicates_unknown_ids_and_employees_are_refused(api: ApiHarness) -> None:
    admin = api.admin()
    first = api.client.post("/api/v1/dictionary", json={"term": "한빛원"}, headers=admin)
    assert first.status_code == 201
    again = api.client.post("/api/v1/dictionary", json={"term": "한빛원"}, headers=admin)
    assert again.status_code == 409 and again.json()["message_ko"] and again.json()["message_en"]
    employee = api.user("kim")
    assert api.client.get("/api/v1/dictionary", headers=employee).status_code == 403
    assert api.client.post("/api/v1/dictionary", json={"term": "x"}, headers=employee).status_code == 403
    term_id = first.json()["id"]
    assert api.client.delete(f"/api/v1/dictionary/{term_id}", headers=admin).status_code == 204
    assert api.client.delete(f"/api/v1/dictionary/{term_id}", headers=admin).status_code == 404
    assert api.client.get("/api/v1/dictionary", headers=admin).json()["items"] == []
