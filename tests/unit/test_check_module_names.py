from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "check_module_names.py"
spec = importlib.util.spec_from_file_location("check_module_names", SCRIPT)
assert spec is not None and spec.loader is not None
checker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(checker)
main, redefinitions = checker.main, checker.redefinitions


def test_a_name_bound_twice_at_top_level_is_reported(tmp_path: Path) -> None:
    module = tmp_path / "tags.py"
    module.write_text(
        'TAGS = frozenset({"VV"})\n\n\ndef use() -> None:\n    TAGS = 1  # a local: fine\n\n\n'
        'TAGS = frozenset({"NNG"})\n',
        encoding="utf-8",
    )
    assert list(redefinitions(module)) == [f"{module}:8: TAGS rebinds the one of line 1"]
    assert main([str(module)]) == 1


def test_distinct_names_and_annotations_without_value_pass(tmp_path: Path) -> None:
    module = tmp_path / "ok.py"
    module.write_text("LIMIT: int\nLIMIT = 3\n__all__ = []\n__all__ += ['x']\n", encoding="utf-8")
    assert list(redefinitions(module)) == []
    assert main([str(module)]) == 0
