"""Fail when a module binds the same top-level name twice (a constant, function or class).

ruff and mypy let ``X = …`` follow an earlier ``X = …`` of the same type pass; the second silently
replaces the first for the whole module (a gate's tag set once replaced BM25's, and BM25 lost its verb
stems). Usage: python tools/check_module_names.py [PATH ...] (default: the repository's packages).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "bench", "core", "ingest", "llm", "retrieval", "scripts", "tests", "tools", "ui")
ALLOWED = frozenset({"__all__"})


def top_level_names(node: ast.stmt) -> list[str]:
    """The names one top-level statement binds (assignments, functions, classes)."""
    if isinstance(node, ast.Assign):
        return [target.id for target in node.targets if isinstance(target, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        return [node.target.id]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    return []


def redefinitions(path: Path) -> Iterator[str]:
    """``path:line: NAME`` for each top-level name bound a second time."""
    first: dict[str, int] = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        for name in top_level_names(node):
            if name in first and name not in ALLOWED:
                yield f"{path}:{node.lineno}: {name} rebinds the one of line {first[name]}"
            first.setdefault(name, node.lineno)


def main(argv: list[str]) -> int:
    roots = [Path(arg) for arg in argv] or [ROOT / package for package in PACKAGES]
    files = sorted(f for root in roots for f in ([root] if root.is_file() else root.rglob("*.py")))
    found = [line for path in files for line in redefinitions(path)]
    print("\n".join(found) or f"{len(files)} files: no top-level name bound twice")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
