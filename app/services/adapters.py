"""Which fine-tuned adapter answers which group: assignments switched on by the release gate.

An adapter (a name in ``llm.adapters``) is enabled for a group only through a gate run that passed and
whose candidate names that adapter, or by an admin override with a reason; both are written to the audit
log. A caller's questions go to the adapter of one of their groups (the first by group name when several
have one), everyone else's to the base model; ``llm.adapter`` sends every question to one adapter (how
the gate evaluates a candidate).
"""

from __future__ import annotations

import copy
import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.principal import Principal
from app.services import audit
from app.services.errors import AppError, not_found
from core.db import utcnow
from core.models import AdapterAssignment, Document, GateRun, Group
from core.settings import AdapterSettings, LLMSettings
from llm.client import ChatModel
from llm.finetune import CARD_NAME
from retrieval.types import AccessScope

MIN_REASON_CHARS = 10


class Route(enum.Enum):
    """``ChatService.answer``'s default: the caller's groups choose the adapter."""

    BY_GROUP = "by_group"


def unknown_adapter(name: str) -> AppError:
    """404 for an adapter name that is not configured in ``llm.adapters``."""
    return AppError(
        404,
        "adapter_not_found",
        f"설정(llm.adapters)에 없는 어댑터입니다: '{name}'.",
        f"The adapter '{name}' is not configured (llm.adapters).",
    )


def gate_not_passed(run_id: str, status: str) -> AppError:
    """409: the gate run named did not pass."""
    return AppError(
        409,
        "gate_not_passed",
        f"통과하지 않은 게이트 실행입니다: {run_id} (상태: {status}). 통과한 실행만 어댑터를 켤 수 있습니다.",
        f"Gate run {run_id} did not pass (status: {status}); only a passed run can switch an adapter on.",
    )


def gate_other_candidate(run_id: str, adapter: str) -> AppError:
    """409: the passed gate run evaluated something other than this adapter."""
    return AppError(
        409,
        "gate_candidate_mismatch",
        f"게이트 실행 {run_id}에서 평가한 후보는 다른 어댑터입니다 (요청한 어댑터: '{adapter}').",
        f"Gate run {run_id} did not evaluate the adapter '{adapter}' as its candidate.",
    )


def training_data_not_visible(adapter: str, group: str, hidden: int) -> AppError:
    """409: the adapter was trained on documents the group may not see (it could repeat them)."""
    return AppError(
        409,
        "adapter_data_not_visible",
        f"어댑터 '{adapter}'의 학습 데이터에 그룹 '{group}'에 공개되지 않은 문서 {hidden}개가 들어 있어 "
        "이 그룹에 켤 수 없습니다. "
        "그 그룹으로 내보낸 데이터(`jikji finetune export --group`)로 학습하십시오.",
        f"The adapter '{adapter}' was trained on {hidden} document(s) the group '{group}' may not see, so it "
        "cannot be switched on for it: train it on that group's export (`jikji finetune export --group`).",
    )


def gate_required() -> AppError:
    """422: neither a gate run nor an override reason was given."""
    return AppError(
        422,
        "gate_required",
        f"통과한 게이트 실행(gate_run_id) 또는 {MIN_REASON_CHARS}자 이상의 "
        "관리자 재정의 사유(override_reason)가 필요합니다.",
        f"A passed gate run (gate_run_id) or an admin override reason of at least {MIN_REASON_CHARS} "
        "characters (override_reason) is required.",
    )


def candidate_adapter(candidate: Mapping[str, Any]) -> str | None:
    """The adapter a gate candidate names: ``{"llm": {"adapter": X}}`` or the flat ``{"llm.adapter": X}``."""
    llm = candidate.get("llm")
    if isinstance(llm, Mapping) and isinstance(llm.get("adapter"), str):
        return str(llm["adapter"])
    flat = candidate.get("llm.adapter")
    return flat if isinstance(flat, str) else None


@dataclass(frozen=True, slots=True)
class AssignmentView:
    """An assignment as the API and CLI show it."""

    group_id: str
    group: str
    adapter: str
    enabled: bool
    gate_run_id: str | None
    override_reason: str | None
    changed_by: str | None
    updated_at: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def list_assignments(session: Session) -> list[AssignmentView]:
    """Every assignment (enabled or not), by group name."""
    rows = session.execute(
        select(AdapterAssignment, Group.name)
        .join(Group, Group.id == AdapterAssignment.group_id)
        .order_by(Group.name)
    ).all()
    return [_view(row, name) for row, name in rows]


def _view(row: AdapterAssignment, group_name: str) -> AssignmentView:
    return AssignmentView(
        row.group_id,
        group_name,
        row.adapter,
        row.enabled,
        row.gate_run_id,
        row.override_reason,
        row.changed_by,
        row.updated_at.isoformat(),
    )


def _group(session: Session, group: str) -> Group:
    row = session.scalar(select(Group).where((Group.id == group) | (Group.name == group)))
    if row is None:
        raise not_found("그룹", "group")
    return row


def _check_gate(session: Session, run_id: str, adapter: str) -> None:
    run = session.get(GateRun, run_id)
    if run is None:
        raise not_found("게이트 실행", "gate run")
    if run.status != "passed" or run.passed is not True:
        raise gate_not_passed(run_id, run.status)
    if candidate_adapter(run.candidate) != adapter:
        raise gate_other_candidate(run_id, adapter)


def trained_documents(settings: AdapterSettings) -> list[str] | None:
    """The document ids on the adapter's card (``jikji-adapter.json`` beside its file), or None when
    there is no card or it predates the record (provenance unknown: the operator answers for it)."""
    if settings.path is None:
        return None
    folder = settings.path if settings.path.is_dir() else settings.path.parent
    try:
        card = json.loads((folder / CARD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ids = card.get("document_ids") if isinstance(card, dict) else None
    return [str(value) for value in ids] if isinstance(ids, list) else None


def _check_training_data(session: Session, llm: LLMSettings, adapter: str, target: Group) -> None:
    """Refuse an adapter trained on any document ``target`` may not see (deleted ones count as unseen):
    a model repeats what it was trained on, so enabling it would leak across groups. No override."""
    trained = trained_documents(llm.adapters[adapter])
    if not trained:
        return
    documents = session.scalars(select(Document).where(Document.id.in_(trained))).all()
    visible = {d.id for d in documents if d.is_public or any(g.id == target.id for g in d.groups)}
    hidden = len(set(trained) - visible)
    if hidden:
        raise training_data_not_visible(adapter, target.name, hidden)


def enable(
    session: Session,
    llm: LLMSettings,
    principal: Principal | None,
    *,
    group: str,
    adapter: str,
    gate_run_id: str | None = None,
    override_reason: str | None = None,
) -> AssignmentView:
    """Switch ``adapter`` on for ``group`` (id or name): through a passed gate run or an override."""
    if adapter not in llm.adapters:
        raise unknown_adapter(adapter)
    target = _group(session, group)
    _check_training_data(session, llm, adapter, target)
    reason = (override_reason or "").strip() or None
    if gate_run_id:
        _check_gate(session, gate_run_id, adapter)
    elif reason is None or len(reason) < MIN_REASON_CHARS:
        raise gate_required()
    row = session.scalar(select(AdapterAssignment).where(AdapterAssignment.group_id == target.id))
    if row is None:
        row = AdapterAssignment(group_id=target.id, adapter=adapter)
        session.add(row)
    row.adapter, row.enabled, row.updated_at = adapter, True, utcnow()
    row.gate_run_id = gate_run_id or None
    row.override_reason = None if gate_run_id else reason
    row.changed_by = principal.user_id if principal else None
    session.flush()
    detail: dict[str, Any] = {"group": target.name, "adapter": adapter}
    detail.update(
        {"gate_run_id": gate_run_id} if gate_run_id else {"override_reason": audit.audit_text(reason or "")}
    )
    action = "adapter.enable" if gate_run_id else "adapter.override"
    audit.record_event(session, principal, action, target_type="group", target_id=target.id, detail=detail)
    return _view(row, target.name)


def disable(session: Session, principal: Principal | None, *, group: str) -> AssignmentView:
    """Switch a group back to the base model (the row stays, disabled, as history)."""
    target = _group(session, group)
    row = session.scalar(select(AdapterAssignment).where(AdapterAssignment.group_id == target.id))
    if row is None or not row.enabled:
        raise not_found("그룹의 어댑터 배정", "adapter assignment of the group")
    row.enabled, row.updated_at = False, utcnow()
    row.changed_by = principal.user_id if principal else None
    audit.record_event(
        session,
        principal,
        "adapter.disable",
        target_type="group",
        target_id=target.id,
        detail={"group": target.name, "adapter": row.adapter},
    )
    session.flush()
    return _view(row, target.name)


def group_adapters(session: Session, group_ids: Iterable[str], llm: LLMSettings) -> list[str]:
    """The configured adapters enabled for any of ``group_ids``, by group name (first one routes)."""
    ids = list(group_ids)
    if not ids:
        return []
    rows = session.execute(
        select(AdapterAssignment.adapter)
        .join(Group, Group.id == AdapterAssignment.group_id)
        .where(AdapterAssignment.group_id.in_(ids), AdapterAssignment.enabled.is_(True))
        .order_by(Group.name)
    ).scalars()
    return [name for name in rows if name in llm.adapters]


class AdapterRouter:
    """Picks the model name for a caller: ``llm.adapter``, else their groups' adapter, else the base."""

    def __init__(self, sessions: sessionmaker[Session], llm: LLMSettings) -> None:
        self._sessions = sessions
        self._llm = llm

    def adapter_for(self, scope: AccessScope) -> str | None:
        """The adapter answering ``scope``'s questions (None: the base model)."""
        if self._llm.adapter is not None:
            return self._llm.adapter
        if not self._llm.adapters or not scope.group_ids:
            return None
        with self._sessions() as session:
            names = group_adapters(session, scope.group_ids, self._llm)
        return names[0] if names else None

    def allowed_models(self, scope: AccessScope) -> dict[str, str | None]:
        """Model names a caller may ask for by name (OpenAI ``model``) → adapter (None: the base)."""
        allowed: dict[str, str | None] = {self._llm.model: None}
        if self._llm.adapter is not None:
            allowed[self._llm.served_model(self._llm.adapter)] = self._llm.adapter
        if self._llm.adapters and scope.group_ids:
            with self._sessions() as session:
                for name in group_adapters(session, scope.group_ids, self._llm):
                    allowed.setdefault(self._llm.served_model(name), name)
                    allowed.setdefault(name, name)
        return allowed


def routed_model(model: ChatModel, name: str) -> ChatModel:
    """``model`` sending ``name`` as the model of its requests (same client, same connection pool)."""
    if model.model == name:
        return model
    routed = copy.copy(model)
    routed.model = name
    return routed
