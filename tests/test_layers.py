"""Imports point down (ARCHITECTURE.md's layers), read from the source itself: a module importing across a
line it must not cross fails here, naming the module and the import."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _crossing(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for name in _imports(path):
            if name.startswith(forbidden):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_the_core_never_imports_a_front_end() -> None:
    assert _crossing("core", ("bots",)) == []


def test_metadata_sits_below_the_services_and_the_runtime() -> None:
    assert _crossing("core/metadata", ("core.services", "core.runtime", "core.scheduler")) == []


def test_models_do_not_import_the_session() -> None:
    assert _crossing("core/db/models", ("core.db.session", "core.services")) == []


def test_the_migration_runner_does_not_import_the_migrations() -> None:
    # Alembic's env.py imports the models; the runner only needs to know where the revisions are.
    assert _crossing("core/db", ("migrations",)) == []


def test_only_the_command_line_acts_as_the_operator() -> None:
    """The operator sees and may do everything: no chat front end (nor, later, the HTTP API) may name it."""
    for folder in ("bots/conversation", "bots/discord", "bots/telegram", "bots/console"):
        assert _crossing(folder, ("core.services.operator",)) == [], folder


# JSON objects and a statement's values are dicts of anything; rows of a batch of differently shaped statements
# (`together`) are what each caller reads by its own shape.
_ALLOWED_ANY = re.compile(r"(dict|Mapping)\[str, Any\]|list\[list\[Any\]\]")


def _public_annotations(path: Path) -> Iterator[tuple[int, str, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
            yield from _signature(node, node.name)
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and not item.name.startswith("_"):
                    yield from _signature(item, f"{node.name}.{item.name}")
                elif isinstance(item, ast.AnnAssign):
                    yield item.lineno, f"{node.name}.{ast.unparse(item.target)}", ast.unparse(item.annotation)


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> Iterator[tuple[int, str, str]]:
    arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
    for argument in arguments:
        if argument.annotation is not None:
            yield node.lineno, f"{name}({argument.arg})", ast.unparse(argument.annotation)
    if node.returns is not None:
        yield node.lineno, f"{name} ->", ast.unparse(node.returns)


def test_the_services_public_signatures_say_what_they_take_and_give() -> None:
    """No `Any` in core/services' public functions, methods and fields (mypy strict does not forbid it)."""
    found = [
        f"{path.relative_to(ROOT)}:{line} {name}: {annotation}"
        for path in sorted((ROOT / "core/services").rglob("*.py"))
        for line, name, annotation in _public_annotations(path)
        if re.search(r"\bAny\b", _ALLOWED_ANY.sub("", annotation))
    ]
    assert found == []
