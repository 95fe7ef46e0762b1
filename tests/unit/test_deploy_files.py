"""The deployment files cannot drift from the settings tree (issue 20 item 6).

Settings ignore unknown ``JIKJI_*`` variables (``extra="ignore"``), so a renamed field would silently
fall back to its default in production. Every ``JIKJI_*`` variable that deploy/compose.yaml and the
Kustomize files in deploy/k8s set must name a field of :class:`core.settings.Settings`, the processes
must load with exactly that environment, and the variables the production topology depends on must
be set.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from core.settings import Settings, load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PREFIX = "JIKJI_"
INTERPOLATION = re.compile(r"\$\{[^}]*\}|\$\([^)]*\)")
REQUIRED = {
    "JIKJI_ENVIRONMENT": "production",
    "JIKJI_DATABASE__URL": None,
    "JIKJI_CHROMA__MODE": "http",
    "JIKJI_CHROMA__HOST": None,
    "JIKJI_EMBEDDING__BASE_URL": None,
    "JIKJI_EMBEDDING__MODEL": None,
    "JIKJI_LLM__BASE_URL": None,
    "JIKJI_LLM__API_KEY": None,
    "JIKJI_JOBS__EMBEDDED_WORKER": "false",
}
"""What the API, the workers and the migration job must have (None: any value)."""


def field_exists(name: str) -> bool:
    """Whether ``JIKJI_A__B`` names a field ``a.b`` of the settings tree."""
    model: type[BaseModel] = Settings
    parts = name.removeprefix(PREFIX).lower().split("__")
    for i, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if i < len(parts) - 1:
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return False
            model = annotation
    return True


def resolved(value: Any) -> str:
    """A value with its ``${SECRET}`` interpolations filled with a placeholder."""
    return INTERPOLATION.sub("placeholder", str(value))


def read_env_file(path: Path) -> dict[str, str]:
    lines = (line.strip() for line in path.read_text("utf-8").splitlines())
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))  # type: ignore[misc]


def compose_services() -> dict[str, dict[str, str]]:
    """Each compose service's environment (anchors merged, secrets filled)."""
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))
    return {
        name: {key: resolved(value) for key, value in (service.get("environment") or {}).items()}
        for name, service in compose["services"].items()
    }


def kustomize_environments() -> dict[str, dict[str, str]]:
    """Each Kustomize workload's JIKJI_* environment (config map + secret + its own env entries)."""
    shared = read_env_file(DEPLOY / "k8s" / "jikji.env") | read_env_file(
        DEPLOY / "k8s" / "secrets.env.example"
    )
    environments = {}
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text("utf-8")):
            spec = (document or {}).get("spec", {})
            for container in spec.get("template", {}).get("spec", {}).get("containers", []):
                env = {
                    item["name"]: resolved(item.get("value", "secret")) for item in container.get("env", [])
                }
                if container.get("envFrom"):
                    env = shared | env
                environments[f"{path.stem}/{container['name']}"] = env
    return environments


def all_environments() -> dict[str, dict[str, str]]:
    compose = {f"compose/{name}": env for name, env in compose_services().items()}
    return compose | {f"k8s/{name}": env for name, env in kustomize_environments().items()}


def test_every_jikji_variable_names_a_setting() -> None:
    unknown = {
        (where, name)
        for where, env in all_environments().items()
        for name in env
        if name.startswith(PREFIX) and not field_exists(name)
    }
    assert not unknown, f"variables that are not settings: {sorted(unknown)}"


@pytest.mark.parametrize(
    "where", ["compose/api", "compose/worker", "compose/migrate", "k8s/api/api", "k8s/worker/worker",
              "k8s/migrate-job/migrate"]
)  # fmt: skip
def test_the_jikji_processes_have_the_production_settings_and_load(
    where: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = all_environments()[where]
    for name, value in REQUIRED.items():
        assert name in env, f"{where} does not set {name}"
        assert value is None or env[name] == value, f"{where}: {name}={env[name]!r}, not {value!r}"
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    for name, value in env.items():
        if name.startswith(PREFIX):
            monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.chroma.mode == "http" and settings.embedding.base_url
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.jobs.embedded_worker is False


def test_the_ui_points_at_the_api_service() -> None:
    for where in ("compose/ui", "k8s/ui/ui"):
        assert all_environments()[where]["JIKJI_UI__API_URL"] == "http://api:8000"


def test_field_exists_rejects_typos() -> None:
    assert field_exists("JIKJI_EMBEDDING__BASE_URL") and field_exists("JIKJI_DATA_DIR")
    assert not field_exists("JIKJI_EMBEDDINGS__BASE_URL")
    assert not field_exists("JIKJI_DATA_DIR__X")
