"""House rules of docs/ARCHITECTURE.md checked on the source tree (AST, no server).

Small lint rules in the manner of Polar's `server/scripts/linters/`: each names the rule, walks
`src/patrons`, and lists every offence with its file and line. An exception is written at the
offending line as a `# house: <rule> — <why>` comment, so it is visible where it is made.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "patrons"


def _modules() -> Iterator[tuple[Path, ast.Module, list[str]]]:
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue  # migrations are history: they run SQL of their own time, for both dialects
        text = path.read_text()
        yield path, ast.parse(text), text.splitlines()


def _waived(lines: list[str], lineno: int, rule: str) -> bool:
    """`# house: <rule>` on the line or the line before waives it there."""
    marker = f"# house: {rule}"
    return any(marker in lines[i] for i in (lineno - 1, lineno - 2) if 0 <= i < len(lines))


def _where(path: Path, lineno: int) -> str:
    return f"{path.relative_to(SRC.parent)}:{lineno}"


def _is_repository(path: Path) -> bool:
    return path.stem.endswith("repository")


def test_repository_functions_take_project_id_first_and_keyword_only() -> None:
    """Tenancy is a required argument: no query without the calling project."""
    offences = []
    for path, tree, lines in _modules():
        if not _is_repository(path):
            continue
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if node.name.startswith("_") or _waived(lines, node.lineno, "cross-project"):
                continue
            kwonly = [a.arg for a in node.args.kwonlyargs]
            positional = [a.arg for a in node.args.posonlyargs + node.args.args]
            if "project_id" in positional or kwonly[:1] != ["project_id"]:
                offences.append(f"{_where(path, node.lineno)} {node.name}")
    assert not offences, "no keyword-only first project_id:\n" + "\n".join(offences)


# Naming a dialect is branching on it; handing the kind to a db/ function is not.
_DIALECT = re.compile(r"\bdialect\.(POSTGRESQL|SQLITE)\b|\bSqliteDatabase\b|\bPgDatabase\b")


def test_no_dialect_branch_outside_db() -> None:
    """Every SQLite/PostgreSQL difference lives behind a function in patrons/db."""
    offences = []
    for path, _tree, lines in _modules():
        if path.relative_to(SRC).parts[0] == "db":
            continue
        for lineno, line in enumerate(lines, 1):
            code = line.split("#", 1)[0]
            if _DIALECT.search(code) and not _waived(lines, lineno, "dialect"):
                offences.append(f"{_where(path, lineno)} {line.strip()}")
    assert not offences, "dialect branches outside patrons/db:\n" + "\n".join(offences)


_SQL = re.compile(r"^\s*(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|WITH\s+\w+\s+AS)\b")


def test_sql_only_in_repositories_and_db() -> None:
    """A repository holds SQL; services, routers and workers call it."""
    offences: set[str] = set()  # a set: an f-string's parts are walked twice
    for path, tree, lines in _modules():
        if _is_repository(path) or path.relative_to(SRC).parts[0] == "db":
            continue
        for node in ast.walk(tree):
            parts: list[str] = []
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                parts = [node.value]
            elif isinstance(node, ast.JoinedStr):
                parts = [v.value for v in node.values if isinstance(v, ast.Constant)][:1]
            if any(_SQL.match(p) for p in parts) and not _waived(lines, node.lineno, "sql"):
                offences.add(f"{_where(path, node.lineno)} {parts[0].strip()[:40]!r}")
    assert not offences, "SQL outside repositories and patrons/db:\n" + "\n".join(sorted(offences))


@pytest.mark.parametrize(
    "rule",
    [
        test_repository_functions_take_project_id_first_and_keyword_only,
        test_no_dialect_branch_outside_db,
        test_sql_only_in_repositories_and_db,
    ],
)
def test_rules_can_fail(rule: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each rule reports an offence planted in a scratch tree (a check that cannot fail is none)."""
    tree = tmp_path / "patrons" / "things"
    tree.mkdir(parents=True)
    (tree / "repository.py").write_text("async def get(db, *, thing_id):\n    pass\n")
    (tree / "service.py").write_text(
        'from patrons.db import dialect\nQ = "SELECT 1"\nif db.kind == dialect.SQLITE:\n    pass\n'
    )
    monkeypatch.setattr(__import__(__name__, fromlist=["SRC"]), "SRC", tmp_path / "patrons")
    with pytest.raises(AssertionError):
        rule()  # type: ignore[operator]
