"""The release gate (``jikji eval gate``): the answer evaluation of the current configuration and of a
candidate, side by side, failing when a metric of the candidate falls beyond a tolerance.

A candidate is the current settings with overrides (another model or base URL, answer mode, prompt,
fusion weights …): a JSON or TOML file of the settings tree and/or ``KEY=VALUE`` pairs
(``llm.answer_mode=extractive`` or ``JIKJI_LLM__ANSWER_MODE=extractive``). Both sides answer the same
answer set — by default the active golden items (:mod:`app.services.golden`) — through the code path
of ``jikji eval answers``: on the live index (the candidate must then share its embedder and chunker)
or, with a corpus folder, each on its own throw-away index. Metrics are compared with
``evaluation.gate_tolerance`` (per metric: ``evaluation.gate_tolerances``); rates where lower is
better may rise by the tolerance. The report lists each metric and every question that got worse.
"""

from __future__ import annotations

import functools
import json
import tomllib
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.container import Container, build_container
from app.services.answer_eval import (
    AnswerOutcome,
    AnswerReport,
    evaluate_index_answers,
    run_answer_eval,
    write_answer_report,
)
from app.services.errors import not_found
from app.services.evaluation import evaluate_index
from app.services.golden import export_lines
from core.db import utcnow
from core.models import GateRun
from core.settings import Settings
from llm.client import ChatModel
from retrieval.evaluation import DatasetError, EvalReport, load_jsonl
from retrieval.tokenizer import LexicalTokenizer
from retrieval.types import AccessScope

LOWER_IS_BETTER = frozenset({"unsupported_figure_rate", "abstention_rate"})
GATE_JSON = "gate.json"
GATE_MD = "gate.md"
ENV_PREFIX = "JIKJI_"
# What a secret of a candidate (an API key of another model server) is stored and shown as.
REDACTED = "**********"


# --- the candidate --------------------------------------------------------------------------------


def read_overrides(path: Path | None, pairs: Sequence[str] = ()) -> dict[str, Any]:
    """Settings overrides from a JSON/TOML file and ``KEY=VALUE`` pairs (the pairs win).

    Raises :class:`ValueError` for an unreadable file or a pair without ``=``.
    """
    overrides: dict[str, Any] = {}
    if path is not None:
        text = path.read_text(encoding="utf-8")
        loaded = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        if not isinstance(loaded, dict):
            msg = f"{path}: expected an object of settings"
            raise ValueError(msg)
        overrides = loaded
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            msg = f"expected KEY=VALUE: {pair}"
            raise ValueError(msg)
        _set_path(overrides, _key_path(key.strip()), _value(raw))
    return overrides


def _key_path(key: str) -> list[str]:
    if key.upper().startswith(ENV_PREFIX):
        return [part.lower() for part in key[len(ENV_PREFIX) :].split("__")]
    return key.split(".")


def _value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _set_path(tree: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def merge_overrides(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``overrides`` merged into ``base`` (both settings trees; ``overrides`` wins)."""
    return _merge(dict(base), overrides)


# What a gate started over the API may change: how questions are answered and retrieved. The rest
# (data_dir, database, chroma, ingest, auth, api …) would have the server open or create stores and files
# where an API caller says; the CLI, run by the operator on the host, may still override anything.
API_CANDIDATE_SECTIONS = ("llm", "retrieval", "embedding", "chunking")


def api_candidate_refused(overrides: Mapping[str, Any]) -> list[str]:
    """The top-level settings of ``overrides`` a gate run started over the API may not change."""
    return sorted(set(overrides) - set(API_CANDIDATE_SECTIONS))


@functools.cache
def secret_setting_names() -> frozenset[str]:
    """Names of the settings fields that hold secrets (typed ``SecretStr`` anywhere in the tree)."""
    names: set[str] = set()
    seen: set[type[BaseModel]] = set()
    models: list[type[BaseModel]] = [Settings]
    while models:
        model = models.pop()
        for name, info in model.model_fields.items():
            annotations = [info.annotation]
            while annotations:
                annotation = annotations.pop()
                if annotation is SecretStr:
                    names.add(name)
                elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    if annotation not in seen:
                        seen.add(annotation)
                        models.append(annotation)
                else:
                    annotations.extend(typing.get_args(annotation))
    return frozenset(names)


def redact_secrets(tree: Any) -> Any:
    """``tree`` (overrides) with every secret setting's value replaced by :data:`REDACTED`: what a gate
    run stores, returns and writes into its reports (the run itself uses the real values)."""
    if isinstance(tree, Mapping):
        secret = secret_setting_names()
        return {
            key: REDACTED if key in secret and value is not None else redact_secrets(value)
            for key, value in tree.items()
        }
    if isinstance(tree, list | tuple):
        return [redact_secrets(value) for value in tree]
    return tree


def candidate_settings(settings: Settings, overrides: Mapping[str, Any]) -> Settings:
    """``settings`` with ``overrides`` merged into its tree, validated like the settings themselves."""
    unknown = sorted(set(overrides) - set(Settings.model_fields))
    if unknown:
        msg = f"unknown settings: {', '.join(unknown)}"
        raise ValueError(msg)
    return Settings.model_validate(_merge(settings.model_dump(), overrides))


# --- running one side -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GateInputs:
    """What both sides answer: the answer set, the corpus (None: the live index), a question limit."""

    dataset: Path
    corpus: Path | None = None
    limit: int | None = None
    embedder: str | None = None
    retrieval_sets: tuple[tuple[str, Path], ...] = ()
    """Question sets (name, JSONL with ``gold_files``) the retrieval evaluation runs on, live index only."""
    retrieval_limit: int | None = None
    scope: AccessScope | None = None
    """Whose view the answers are searched with (a group's gate: that group's; default: every document)."""


@dataclass(slots=True)
class SideReport:
    """One configuration's answer evaluation and its retrieval evaluation per question set (or, for a
    set that could not run, why)."""

    answers: AnswerReport
    retrieval: dict[str, EvalReport | str] = field(default_factory=dict)
    questions: dict[str, str] = field(default_factory=dict)
    """Question id → text across the retrieval sets (for the report of what got worse)."""


def golden_dataset(settings: Settings, path: Path, group_id: str | None = None) -> Path:
    """Write the active golden items (of ``group_id`` when given) as an answer set to ``path``
    (DatasetError when there are none)."""
    container = build_container(settings)
    try:
        with container.sessions() as session:
            lines = export_lines(session, group_id=group_id)
    finally:
        container.close()
    if not lines:
        msg = "no active golden items (make some from feedback or import them first)"
        raise DatasetError(msg)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    return path


def evaluate_side(
    settings: Settings,
    inputs: GateInputs,
    out_dir: Path,
    *,
    tokenizer: LexicalTokenizer | None = None,
    chat_model: ChatModel | None = None,
) -> SideReport:
    """The answer evaluation of one configuration, its reports written into ``out_dir``; on the live
    index also the retrieval evaluation of each of ``inputs.retrieval_sets``."""
    if inputs.corpus is not None:
        answers = run_answer_eval(
            settings,
            inputs.dataset,
            corpus=inputs.corpus,
            out_dir=out_dir,
            limit=inputs.limit,
            embedder=inputs.embedder,
            keep=False,
            tokenizer=tokenizer,
            chat_model=chat_model,
        )
        skipped = "not run with a corpus folder (live index only)"
        return SideReport(answers, {name: skipped for name, _path in inputs.retrieval_sets})
    container: Container = build_container(settings, tokenizer=tokenizer, chat_model=chat_model)
    try:
        report = evaluate_index_answers(container, inputs.dataset, inputs.limit, inputs.scope)
        retrieval: dict[str, EvalReport | str] = {}
        for name, path in inputs.retrieval_sets:
            try:
                retrieval[name] = evaluate_index(container, path, inputs.retrieval_limit)
            except DatasetError as exc:
                retrieval[name] = str(exc)
    finally:
        container.close()
    write_answer_report(report, out_dir)
    questions = {q.id: q.question for _name, path in inputs.retrieval_sets for q in load_jsonl(path, None)}
    return SideReport(report, retrieval, questions)


# --- comparing ------------------------------------------------------------------------------------


@dataclass(slots=True)
class GateResult:
    """Each metric side by side, the questions that got worse, and whether the candidate passed."""

    metrics: list[dict[str, Any]]
    worse: list[dict[str, Any]]
    n_questions: int
    candidate_overrides: dict[str, Any] = field(default_factory=dict)
    retrieval: dict[str, Any] = field(default_factory=dict)
    """Per retrieval question set: ``{"metrics": rows, "n_questions": n}`` or ``{"skipped": why}``."""

    @property
    def passed(self) -> bool:
        """No metric (answers, or retrieval on any set) fell beyond its tolerance."""
        rows = [*self.metrics, *(r for s in self.retrieval.values() for r in s.get("metrics", []))]
        return not any(row["regressed"] for row in rows)

    @property
    def regressed_metrics(self) -> list[str]:
        """Names of the metrics that fell beyond tolerance (``f1``, ``retrieval.dev.R@5`` …)."""
        names = [row["metric"] for row in self.metrics if row["regressed"]]
        for name, side in self.retrieval.items():
            names += [
                f"retrieval.{name}.{row['metric']}" for row in side.get("metrics", []) if row["regressed"]
            ]
        return names

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "passed": self.passed,
            "n_questions": self.n_questions,
            "candidate_overrides": self.candidate_overrides,
            "metrics": self.metrics,
            "retrieval": self.retrieval,
            "regressed_metrics": self.regressed_metrics,
            "worse": self.worse,
        }

    def to_table(self) -> str:
        """Metrics side by side as fixed-width text, then the verdict."""
        lines = [f"{'metric':<26} {'current':>8} {'candidate':>10} {'delta':>8} {'tol':>6}"]
        for row in self.metrics:
            flag = "  ✗ regressed" if row["regressed"] else ""
            lines.append(
                f"{row['metric']:<26} {row['current']:>8.4f} {row['candidate']:>10.4f} "
                f"{row['delta']:>+8.4f} {row['tolerance']:>6.3f}{flag}"
            )
        for name, side in self.retrieval.items():
            if "skipped" in side:
                lines.append(f"검색 / retrieval [{name}]: 건너뜀 / skipped: {side['skipped']}")
                continue
            lines.append(f"검색 / retrieval [{name}] ({side['n_questions']} questions)")
            for row in side["metrics"]:
                flag = "  ✗ regressed" if row["regressed"] else ""
                lines.append(
                    f"  {row['metric']:<24} {row['current']:>8.4f} {row['candidate']:>10.4f} "
                    f"{row['delta']:>+8.4f} {row['tolerance']:>6.3f}{flag}"
                )
        lines.append(f"더 나빠진 질문 / questions that got worse: {len(self.worse)}")
        lines.append(f"게이트 / gate: {verdict_text(self.passed, self.regressed_metrics)}")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """The report as Markdown (metrics table and the questions that got worse)."""
        lines = [
            f"# Release gate: {'passed' if self.passed else 'FAILED'}",
            "",
            f"{self.n_questions} questions. Candidate overrides: `{json.dumps(self.candidate_overrides)}`",
            "",
            "| metric | current | candidate | delta | tolerance | regressed |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {r['metric']} | {r['current']:.4f} | {r['candidate']:.4f} | {r['delta']:+.4f} | "
            f"{r['tolerance']:.3f} | {'yes' if r['regressed'] else ''} |"
            for r in self.metrics
        ]
        for name, side in self.retrieval.items():
            lines += ["", f"## Retrieval: {name}", ""]
            if "skipped" in side:
                lines.append(f"Skipped: {side['skipped']}")
                continue
            lines += [
                "| metric | current | candidate | delta | tolerance | regressed |",
                "| --- | --- | --- | --- | --- | --- |",
            ]
            lines += [
                f"| {r['metric']} | {r['current']:.4f} | {r['candidate']:.4f} | {r['delta']:+.4f} | "
                f"{r['tolerance']:.3f} | {'yes' if r['regressed'] else ''} |"
                for r in side["metrics"]
            ]
        lines += ["", "## Questions that got worse", ""]
        lines += [
            f"- [{w.get('kind', 'answers')}/{w.get('set', 'golden')}] `{w['id']}` {w['question']}: "
            f"{'; '.join(w['reasons'])}"
            for w in self.worse
        ] or ["none"]
        return "\n".join(lines) + "\n"


def verdict_text(passed: bool, regressed: Sequence[str]) -> str:
    """The gate's verdict in both languages, naming the metrics that fell beyond tolerance."""
    if passed:
        return "통과 / passed"
    names = ", ".join(regressed)
    return f"실패 / failed: 허용치를 넘어 떨어진 지표 / metrics that dropped beyond tolerance: {names}"


def compare_reports(
    current: AnswerReport | SideReport,
    candidate: AnswerReport | SideReport,
    settings: Settings,
    overrides: Mapping[str, Any],
    items: Mapping[str, Mapping[str, Any]] | None = None,
) -> GateResult:
    """The gate's verdict on ``candidate`` against ``current`` with the configured tolerances.

    ``items``: the golden items by id (their ``group_ids`` and ``document_ids`` go with each question
    that got worse, so a report can be narrowed to a group)."""
    before = current if isinstance(current, SideReport) else SideReport(current)
    after = candidate if isinstance(candidate, SideReport) else SideReport(candidate)
    rows = compare_metrics(before.answers.metrics, after.answers.metrics, settings)
    worse = [
        {"kind": "answers", "set": "golden", **row}
        for row in worse_questions(before.answers.results, after.answers.results)
    ]
    retrieval: dict[str, Any] = {}
    for name in before.retrieval:
        old, new = before.retrieval[name], after.retrieval.get(name, "not run for the candidate")
        if isinstance(old, str) or isinstance(new, str):
            retrieval[name] = {"skipped": old if isinstance(old, str) else new}
            continue
        retrieval[name] = {
            "n_questions": old.n_questions,
            "metrics": compare_metrics(old.metrics, new.metrics, settings),
        }
        worse += [
            {"kind": "retrieval", "set": name, **row} for row in worse_rankings(old, new, after.questions)
        ]
    for row in worse:
        item = (items or {}).get(row["id"]) if row["set"] == "golden" else None
        row["group_ids"] = list(item.get("group_ids", [])) if item else []
        row["document_ids"] = list(item.get("document_ids", [])) if item else []
    return GateResult(rows, worse, before.answers.n_questions, redact_secrets(overrides), retrieval)


def compare_metrics(
    current: Mapping[str, float], candidate: Mapping[str, float], settings: Settings
) -> list[dict[str, Any]]:
    """Each metric both sides have, side by side, with its tolerance and whether it regressed."""
    tolerances = settings.evaluation.gate_tolerances
    rows = []
    for metric in sorted(set(current) & set(candidate)):
        before, after = current[metric], candidate[metric]
        tolerance = tolerances.get(metric, settings.evaluation.gate_tolerance)
        loss = after - before if metric in LOWER_IS_BETTER else before - after
        rows.append(
            {
                "metric": metric,
                "current": round(before, 4),
                "candidate": round(after, 4),
                "delta": round(after - before, 4),
                "tolerance": tolerance,
                "lower_is_better": metric in LOWER_IS_BETTER,
                "regressed": loss > tolerance + 1e-9,
            }
        )
    return rows


def worse_rankings(
    current: EvalReport, candidate: EvalReport, questions: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Retrieval questions whose first gold document the candidate ranked lower (or lost)."""
    before = {result.id: result for result in current.results}
    worse = []
    for after in candidate.results:
        old = before.get(after.id)
        if old is None or old.first_rank is None:
            continue
        if after.first_rank is None or after.first_rank > old.first_rank:
            new_rank = "—" if after.first_rank is None else str(after.first_rank)
            worse.append(
                {
                    "id": after.id,
                    "question": questions.get(after.id, ""),
                    "reasons": [f"gold rank {old.first_rank} → {new_rank}"],
                }
            )
    return worse


def worse_questions(
    current: Sequence[AnswerOutcome], candidate: Sequence[AnswerOutcome]
) -> list[dict[str, Any]]:
    """Questions the candidate answered worse: lower F1, a lost evidence hit, a new abstention on an
    answerable question, or a new unsupported figure."""
    before = {outcome.id: outcome for outcome in current}
    worse = []
    for after in candidate:
        old = before.get(after.id)
        if old is None:
            continue
        reasons = _reasons(old, after)
        if reasons:
            worse.append(
                {
                    "id": after.id,
                    "question": after.question,
                    "reasons": reasons,
                    "current_answer": old.answer,
                    "candidate_answer": after.answer,
                }
            )
    return worse


def _reasons(old: AnswerOutcome, new: AnswerOutcome) -> list[str]:
    reasons = []
    if new.f1 < old.f1 - 1e-9:
        reasons.append(f"f1 {old.f1:.2f} → {new.f1:.2f}")
    if old.evidence_hit_3 and not new.evidence_hit_3:
        reasons.append("evidence hit@3 lost")
    if not old.unanswerable and new.abstained and not old.abstained:
        reasons.append("abstained")
    if new.unsupported and not old.unsupported:
        reasons.append("unsupported figure")
    return reasons


def write_gate_report(result: GateResult, out_dir: Path) -> tuple[Path, Path]:
    """Write ``gate.json`` and ``gate.md`` into ``out_dir``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / GATE_JSON, out_dir / GATE_MD
    json_path.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(result.to_markdown(), encoding="utf-8")
    return json_path, md_path


# --- one whole run ---------------------------------------------------------------------------------

SideRunner = Callable[[Settings, GateInputs, Path, str], SideReport]
GOLDEN_SET = "golden"
DEV_SET = "dev"


def _evaluate(settings: Settings, inputs: GateInputs, out_dir: Path, _label: str) -> SideReport:
    return evaluate_side(settings, inputs, out_dir)


def run_gate(
    settings: Settings,
    overrides: Mapping[str, Any],
    out: Path,
    *,
    dataset: Path | None = None,
    corpus: Path | None = None,
    limit: int | None = None,
    embedder: str | None = None,
    group_id: str | None = None,
    side: SideRunner = _evaluate,
) -> GateResult:
    """Both sides on the same inputs, compared: answers on ``dataset`` (default: the active golden items,
    of ``group_id`` when given, then answered as that group sees the documents), retrieval on the
    golden items and the configured dev set
    (``evaluation.dataset``, the first ``evaluation.gate_retrieval_limit`` questions). Reports go to
    ``out`` (``gate.json``, ``gate.md``, each side's answer report). Raises DatasetError / ValueError."""
    candidate = candidate_settings(settings, overrides)
    items: dict[str, dict[str, Any]] = {}
    sets: list[tuple[str, Path]] = []
    if dataset is None:
        dataset = golden_dataset(settings, out / "golden.jsonl", group_id)
        items = {line["id"]: line for line in _read_jsonl(dataset)}
        sets.append((GOLDEN_SET, dataset))
    if settings.eval_dataset.is_file():
        sets.append((DEV_SET, settings.eval_dataset))
    scope = AccessScope(group_ids=frozenset({group_id})) if group_id else None
    inputs = GateInputs(
        dataset, corpus, limit, embedder, tuple(sets), settings.evaluation.gate_retrieval_limit, scope
    )
    current = side(settings, inputs, out / "current", "현재 / current")
    proposed = side(candidate, inputs, out / "candidate", "후보 / candidate")
    result = compare_reports(current, proposed, settings, overrides, items)
    write_gate_report(result, out)
    return result


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# --- runs kept in SQL (gate_runs) ------------------------------------------------------------------

QUEUED, RUNNING, PASSED, FAILED, ERROR = "queued", "running", "passed", "failed", "error"


def tolerances_of(settings: Settings) -> dict[str, Any]:
    """The tolerances a run is judged with, as stored with it."""
    evaluation = settings.evaluation
    return {"default": evaluation.gate_tolerance, "per_metric": dict(evaluation.gate_tolerances)}


def describe_candidate(overrides: Mapping[str, Any]) -> str:
    """A short label for a candidate: its overrides as dotted ``key=value`` pairs."""
    pairs: list[str] = []

    def walk(prefix: str, tree: Mapping[str, Any]) -> None:
        for key, value in tree.items():
            if isinstance(value, Mapping):
                walk(f"{prefix}{key}.", value)
            else:
                pairs.append(f"{prefix}{key}={json.dumps(value, ensure_ascii=False)}")

    walk("", overrides)
    return (", ".join(pairs) or "(no overrides)")[:200]


def create_run(
    session: Session,
    settings: Settings,
    overrides: Mapping[str, Any],
    *,
    created_by: str | None,
    origin: str,
    group_id: str | None = None,
) -> GateRun:
    """Record a queued run (flushed, not committed)."""
    run = GateRun(
        created_by=created_by,
        origin=origin,
        status=QUEUED,
        candidate=redact_secrets(overrides),
        label=describe_candidate(redact_secrets(overrides)),
        tolerances=tolerances_of(settings),
        metrics={"scope": {"group_id": group_id}} if group_id else {},
        regressions=[],
        n_questions=0,
    )
    session.add(run)
    session.flush()
    return run


def mark_running(session: Session, run_id: str) -> None:
    """A queued run has started."""
    run = session.get(GateRun, run_id)
    if run is not None:
        run.status = RUNNING


def finish_run(session: Session, run_id: str, result: GateResult | None, error: str | None = None) -> GateRun:
    """Store a run's outcome: ``passed``/``failed`` with its metrics and regressions, or ``error``."""
    run = session.get(GateRun, run_id)
    if run is None:
        raise not_found("게이트 실행", "gate run")
    run.finished_at = utcnow()
    if result is None:
        run.status, run.passed, run.error = ERROR, None, error or "unknown error"
        return run
    run.status = PASSED if result.passed else FAILED
    run.passed = result.passed
    run.metrics = {
        **(run.metrics or {}),
        "answers": result.metrics,
        "retrieval": result.retrieval,
        "regressed": result.regressed_metrics,
    }
    run.regressions = result.worse
    run.n_questions = result.n_questions
    return run


def list_runs(
    session: Session, limit: int = 50, offset: int = 0, group_ids: frozenset[str] | None = None
) -> tuple[int, list[GateRun]]:
    """Runs, newest first, with the total; with ``group_ids``, only the runs scoped to one of those groups
    (a caller narrowed to groups: runs of the whole corpus or of other groups are not theirs to read)."""
    ordered = select(GateRun).order_by(GateRun.created_at.desc(), GateRun.id)
    if group_ids is None:
        total = len(session.scalars(select(GateRun.id)).all())
        return total, list(session.scalars(ordered.limit(limit).offset(offset)).all())
    # The group is inside the JSON ``metrics`` column: filtered after reading (runs are few).
    rows = [run for run in session.scalars(ordered) if run_group(run) in group_ids]
    return len(rows), rows[offset : offset + limit]


def run_group(run: GateRun) -> str | None:
    """The group a run was scoped to (its golden items, answered as that group sees the documents)."""
    group = ((run.metrics or {}).get("scope") or {}).get("group_id")
    return str(group) if group else None


def narrowed_view(run: GateRun, view: Mapping[str, Any], visible_documents: frozenset[str]) -> dict[str, Any]:
    """``view`` of ``run`` for a caller narrowed to some groups (the run is scoped to one of them): of the
    items that got worse only golden items whose documents are all visible to the caller now are kept
    (and counted); the other sets' questions (the project's dev set, about any document) are left out.
    Aggregate metrics and the verdict stay."""
    shown = [
        row
        for row in run.regressions or []
        if row.get("set") == GOLDEN_SET
        and row.get("document_ids")
        and set(row["document_ids"]) <= visible_documents
    ]
    narrowed = {**view, "n_regressions": len(shown)}
    if "regressions" in narrowed:
        narrowed["regressions"] = shown
    return narrowed


def get_run(session: Session, run_id: str) -> GateRun:
    """One run (404 when unknown)."""
    run = session.get(GateRun, run_id)
    if run is None:
        raise not_found("게이트 실행", "gate run")
    return run


def run_view(
    run: GateRun, *, detail: bool = False, usernames: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A run as the API returns it (``detail``: with every item that got worse)."""
    metrics = dict(run.metrics or {})
    view: dict[str, Any] = {
        "id": run.id,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "created_by": (usernames or {}).get(run.created_by or "", None),
        "origin": run.origin,
        "status": run.status,
        "passed": run.passed,
        "candidate": run.candidate,
        "label": run.label,
        "group_id": (metrics.get("scope") or {}).get("group_id"),
        "n_questions": run.n_questions,
        "metrics": {key: metrics[key] for key in ("answers", "retrieval", "regressed") if key in metrics},
        "tolerances": run.tolerances,
        "n_regressions": len(run.regressions or []),
        "error": run.error,
        "message_ko": _message(run)[0],
        "message_en": _message(run)[1],
    }
    if detail:
        view["regressions"] = list(run.regressions or [])
    return view


def _message(run: GateRun) -> tuple[str, str]:
    regressed = ", ".join((run.metrics or {}).get("regressed", []))
    return {
        QUEUED: ("대기 중입니다.", "Queued."),
        RUNNING: ("평가 중입니다.", "Running."),
        PASSED: (
            "통과: 허용치를 넘어 떨어진 지표가 없습니다.",
            "Passed: no metric dropped beyond tolerance.",
        ),
        FAILED: (
            f"실패: 허용치를 넘어 떨어진 지표 — {regressed}",
            f"Failed: metrics that dropped beyond tolerance — {regressed}",
        ),
        ERROR: (f"오류로 끝났습니다: {run.error}", f"The run ended with an error: {run.error}"),
    }.get(run.status, ("", ""))
