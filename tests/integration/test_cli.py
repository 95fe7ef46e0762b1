"""``jikji`` commands run in-process against a temporary data directory: ingest with groups, search, migrate."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from app.cli import main as cli_main
from app.cli.common import open_container
from core.models import Document, DocumentVersion, Group
from core.settings import Settings
from tests.conftest import point_cli_at
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.integration

NOTE = "# 공지\n\n사내 식당은 12시에 연다.\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "공지.md").write_text(NOTE, encoding="utf-8")
    return docs


def _groups_of_documents(settings: Settings) -> dict[str, list[str]]:
    with open_container(settings) as container, container.sessions() as session:
        return {d.display_name: sorted(g.name for g in d.groups) for d in session.scalars(select(Document))}


def test_ingest_refuses_an_unknown_group_and_creates_none(
    settings: Settings, folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_cli_at(settings, monkeypatch)
    assert cli_main(["ingest", str(folder), "--groups", "인사팀"]) == 2
    err = capsys.readouterr().err
    assert "없는 그룹입니다: 인사팀" in err and "Unknown groups: 인사팀" in err and "--create-groups" in err
    with open_container(settings) as container, container.sessions() as session:
        assert session.scalars(select(Group)).all() == []
        assert session.scalars(select(Document)).all() == []


def test_ingest_with_create_groups_shares_the_documents(
    settings: Settings, folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_cli_at(settings, monkeypatch)
    assert cli_main(["ingest", str(folder), "--groups", "인사팀, 재무팀", "--create-groups"]) == 0
    assert "추가 1" in capsys.readouterr().out
    assert _groups_of_documents(settings) == {"공지.md": ["인사팀", "재무팀"]}
    # Once the groups exist, the same command needs no flag (and changes nothing for the same content).
    assert cli_main(["ingest", str(folder), "--groups", "인사팀"]) == 0
    assert cli_main(["search", "식당"]) == 0
    assert "공지.md" in capsys.readouterr().out


def test_missing_paths_and_bad_arguments_exit_2(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_cli_at(settings, monkeypatch)
    assert cli_main(["ingest", str(settings.data_dir / "nowhere")]) == 2
    assert "path not found" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        cli_main(["search", "x", "-k", "0"])
    assert exited.value.code == 2
    assert cli_main(["migrate"]) == 0


def test_the_wheel_carries_the_dev_set_the_api_evaluates(tmp_path: Path) -> None:
    """An installed wheel has no ``bench/``: the admin evaluation's question set is package data."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            ".",
        ],
        cwd=REPO_ROOT,
        check=True,
        timeout=300,
    )
    wheel = next(tmp_path.glob("jikji-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert "core/data/devset_ko.jsonl" in names
        assert "app/cli/__init__.py" in names and "app/services/evaluation.py" in names
    target = tmp_path / "installed"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    probe = (
        "from core.settings import Settings; s = Settings(); print(s.eval_dataset, s.eval_dataset.is_file())"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe],
        check=False,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip().startswith(str(target)) and shown.stdout.strip().endswith("True")


def test_rechunk_recuts_every_document_and_keeps_its_groups(
    settings: Settings, folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_cli_at(settings, monkeypatch)
    assert cli_main(["ingest", str(folder), "--groups", "인사팀", "--create-groups"]) == 0
    assert cli_main(["rechunk"]) == 0
    assert "already cut" in capsys.readouterr().out  # a fresh index is current: nothing to do
    assert cli_main(["rechunk", "--force"]) == 0
    assert "문서 1" in capsys.readouterr().out
    assert _groups_of_documents(settings) == {"공지.md": ["인사팀"]}
    with open_container(settings) as container, container.sessions() as session:
        versions = session.scalars(select(DocumentVersion.number)).all()
        assert sorted(versions) == [1, 2]  # the re-chunk is a new version; history kept
