"""``/api/v1/adapters``: the configured fine-tuned adapters and which group each answers (admin only).

An adapter is switched on for a group through a passed release-gate run whose candidate names it
(``gate_run_id``), or by an admin override with a reason; both are audited. The work is
:mod:`app.services.adapters`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.api.deps import AdminPrincipal, ContainerDep, DbDep
from app.services import adapters

router = APIRouter(prefix="/api/v1/adapters", tags=["adapters"])


class AssignmentOut(BaseModel):
    """Which adapter answers a group, and on whose authority."""

    group_id: str
    group: str
    adapter: str
    enabled: bool
    gate_run_id: str | None = Field(description="The passed gate run that switched it on.")
    override_reason: str | None = Field(description="The admin's reason when no gate run did.")
    changed_by: str | None
    updated_at: str


class AdapterOut(BaseModel):
    """A configured adapter (``llm.adapters``)."""

    name: str
    served_model: str = Field(description="The model name its requests carry (and callers may send).")
    path: str | None


class AdapterList(BaseModel):
    """The configured adapters and every assignment (enabled or not)."""

    adapters: list[AdapterOut]
    assignments: list[AssignmentOut]


class EnableIn(BaseModel):
    """Switch an adapter on for a group: a passed gate run naming it, or an override with a reason."""

    group: str = Field(min_length=1, max_length=200, description="Group id or name.")
    adapter: str = Field(min_length=1, max_length=100, description="A name in llm.adapters.")
    gate_run_id: str | None = Field(default=None, max_length=32)
    override_reason: str | None = Field(default=None, max_length=2000)


@router.get("", response_model=AdapterList)
def list_adapters(_admin: AdminPrincipal, db: DbDep, container: ContainerDep) -> dict[str, Any]:
    """The configured adapters and the groups they answer."""
    llm = container.settings.llm
    configured = [
        {"name": name, "served_model": llm.served_model(name), "path": str(a.path) if a.path else None}
        for name, a in sorted(llm.adapters.items())
    ]
    return {"adapters": configured, "assignments": [a.as_dict() for a in adapters.list_assignments(db)]}


@router.post("/assignments", response_model=AssignmentOut, status_code=201)
def enable_adapter(
    body: EnableIn, admin: AdminPrincipal, db: DbDep, container: ContainerDep
) -> dict[str, Any]:
    """Switch ``adapter`` on for ``group``. 409 ``gate_not_passed`` / ``gate_candidate_mismatch`` when the
    gate run did not pass or evaluated something else; 422 ``gate_required`` without a run or reason."""
    view = adapters.enable(
        db,
        container.settings.llm,
        admin,
        group=body.group,
        adapter=body.adapter,
        gate_run_id=body.gate_run_id,
        override_reason=body.override_reason,
    )
    return view.as_dict()


@router.delete("/assignments/{group}", response_model=AssignmentOut)
def disable_adapter(group: str, admin: AdminPrincipal, db: DbDep) -> dict[str, Any]:
    """Switch ``group`` (id or name) back to the base model."""
    return adapters.disable(db, admin, group=group).as_dict()
