"""``/api/v1/eval``: the retrieval dev set against the current index, run in the background (admin)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.cli import main as cli_main
from app.services import evaluation
from app.services.eval_runs import EvalRunner
from core.settings import BUNDLED_DEV_SET, Settings
from retrieval.tokenizer import KiwiTokenizer
from tests.api_harness import ApiHarness
from tests.conftest import point_cli_at
from tests.support.paths import SAMPLES_DIR

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite and on PostgreSQL, on the lexical leg alone: the hashing embedder's
    vectors are noise, and Chroma's approximate index may order near-ties differently in two builds,
    which would make two indexes of the same documents rank differently."""
    retrieval = settings_on_each_database.retrieval.model_copy(update={"dense_weight": 0.0})
    return settings_on_each_database.model_copy(update={"retrieval": retrieval})


def runner(api: ApiHarness) -> EvalRunner:
    return api.container.eval_runner


def run_eval(api: ApiHarness, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = api.client.post("/api/v1/eval/retrieval", json=body, headers=headers)
    assert response.status_code == 202, response.text
    started = response.json()["run"]
    assert started["status"] == "running"
    runner(api).wait(120)
    return started


def test_admin_runs_the_dev_set_against_the_current_index(api: ApiHarness) -> None:
    admin = api.admin()
    for name in ("취업규칙.md", "복리후생_안내.md"):
        api.ingest((SAMPLES_DIR / name).read_text(encoding="utf-8"), name, public=True)
    api.container.index.refresh()
    started = run_eval(api, admin)

    listed = api.client.get("/api/v1/eval/runs", headers=admin).json()
    assert listed["total"] == 1
    run = listed["items"][0]
    assert run["id"] == started["id"] and run["status"] == "succeeded", run
    assert run["created_by"] == "admin" and run["dataset"] == "devset_ko.jsonl"
    assert set(run["metrics"]) == {"R@1", "R@5", "R@10", "MRR@10", "nDCG@10"}
    assert run["metrics"]["R@10"] > 0.5  # the gold files are indexed: most questions find them
    assert (
        run["n_questions"] + run["meta"]["questions_without_gold_in_index"] == run["meta"]["questions_total"]
    )
    assert "questions" not in run  # the list stays small

    detail = api.client.get(f"/api/v1/eval/runs/{run['id']}", headers=admin).json()
    assert len(detail["questions"]) == run["n_questions"]
    assert (api.container.settings.data_dir / "eval" / f"{run['id']}.json").is_file()


def test_a_run_with_nothing_indexed_fails_with_a_readable_error(api: ApiHarness) -> None:
    admin = api.admin()
    run_eval(api, admin, limit=5)
    run = api.client.get("/api/v1/eval/runs", headers=admin).json()["items"][0]
    assert run["status"] == "failed"
    assert "평가 데이터 오류" in run["error_ko"] and "Dataset error" in run["error_en"]


def test_only_admins_may_evaluate(api: ApiHarness) -> None:
    employee = api.user("kim")
    assert api.client.post("/api/v1/eval/retrieval", json={}, headers=employee).status_code == 403
    assert api.client.get("/api/v1/eval/runs", headers=employee).status_code == 403
    assert api.client.get("/api/v1/eval/runs").status_code == 401


def test_one_run_at_a_time_and_a_missing_dev_set(api: ApiHarness, tmp_path: Path) -> None:
    admin = api.admin()
    evaluations = runner(api)
    evaluations._active = "busy"  # as if a run were in progress
    response = api.client.post("/api/v1/eval/retrieval", json={}, headers=admin)
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    evaluations._active = None
    evaluations.dataset = tmp_path / "missing.jsonl"
    response = api.client.post("/api/v1/eval/retrieval", json={}, headers=admin)
    assert response.status_code == 422
    assert api.client.get("/api/v1/eval/runs/nope", headers=admin).status_code == 404


def test_a_run_left_running_by_a_stopped_server_reads_as_failed(api: ApiHarness) -> None:
    admin = api.admin()
    directory = runner(api).directory
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "abc123.json").write_text(
        '{"id": "abc123", "status": "running", "dataset": "devset_ko.jsonl", "created_at": "2026-01-01T00:00:00+00:00"}',
        encoding="utf-8",
    )
    run = api.client.get("/api/v1/eval/runs", headers=admin).json()["items"][0]
    assert run["status"] == "failed" and run["error_en"].startswith("The server restarted")


def test_the_cli_and_the_api_give_the_same_figures(
    api: ApiHarness, tmp_path: Path, kiwi: KiwiTokenizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One code path: the API on its live index and ``jikji eval`` on a temporary one score alike."""
    calls: list[int] = []
    real_search_all = evaluation.search_all

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real_search_all(*args, **kwargs)

    monkeypatch.setattr(evaluation, "search_all", counting)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("취업규칙.md", "복리후생_안내.md"):
        text = (SAMPLES_DIR / name).read_text(encoding="utf-8")
        (corpus / name).write_text(text, encoding="utf-8")
        api.ingest(text, name, public=True)
    api.container.index.refresh()
    admin = api.admin()
    run_eval(api, admin)
    through_api = api.client.get("/api/v1/eval/runs", headers=admin).json()["items"][0]

    through_cli = evaluation.run_retrieval_eval(
        api.container.settings,
        BUNDLED_DEV_SET,
        baseline=None,
        corpus=corpus,
        out_dir=tmp_path / "reports",
        k=evaluation.MIN_SEARCH_DEPTH,
        limit=None,
        embedder="hashing",
        keep=False,
        tokenizer=kiwi,
    )
    assert len(calls) == 2, "both went through evaluation.search_all"
    assert through_api["n_questions"] == through_cli.n_questions > 0
    assert through_api["metrics"] == through_cli.to_dict()["metrics"]  # both rounded the same way


def test_cli_reports_go_to_the_data_directory_by_default(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_cli_at(settings, monkeypatch)
    tiny = Path(__file__).resolve().parents[1] / "data" / "squad_tiny_ko.json"
    assert cli_main(["eval", "retrieval", "--dataset", str(tiny), "--baseline", "bm25", "--limit", "3"]) == 0
    reports = settings.data_dir / "eval-reports"
    assert (reports / evaluation.REPORT_JSON).is_file() and (reports / evaluation.REPORT_MD).is_file()
    assert "R@1" in capsys.readouterr().out
    assert (
        cli_main(["eval", "retrieval", "--dataset", str(tmp_missing := settings.data_dir / "nope.json")]) == 2
    )
    assert not tmp_missing.exists()
