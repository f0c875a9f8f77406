"""Evidence read from code: a level's Python files parsed once (ast), what their names are imported from, and where
a piece of evidence is (file and line). `make maturity`'s checks are written against these (tools/checks_*.py).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from tools.levels import Level, imported_modules


@dataclass(frozen=True)
class Evidence:
    """The answer of one check: found or not, and where (a file and line, relative to the root) or what was missing."""

    found: bool
    where: str
    symbol: str | None = None  # the module-level name holding the evidence, for the import probe

    def cell(self) -> str:
        return f"✓ {self.where}" if self.found else "✗"


def _absent(what: str) -> Evidence:
    return Evidence(False, what)


class Source:
    """One parsed Python file: its tree, what its local names are imported from, each node's parent."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        self.tree = ast.parse(path.read_text(encoding="utf-8"))
        self.origins: dict[str, str] = {}  # local name -> dotted origin: gx -> great_expectations, flow -> prefect.flow
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
            if isinstance(node, ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    self.origins[bound] = alias.name if alias.asname else bound
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    self.origins[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def imports(self, *packages: str) -> bool:
        return any(origin.split(".")[0] in packages for origin in self.origins.values())

    def qualified(self, node: ast.AST) -> str:
        """`gx.expectations.X` -> `great_expectations.expectations.X`; a call's name is its function's."""
        parts: list[str] = []
        while True:
            if isinstance(node, ast.Call):
                node = node.func
            elif isinstance(node, ast.Attribute):
                parts.append(node.attr)
                node = node.value
            elif isinstance(node, ast.Name):
                parts.append(self.origins.get(node.id, node.id))
                return ".".join(reversed(parts))
            else:
                return ".".join(reversed(parts))

    def calls(self) -> Iterator[tuple[ast.Call, str]]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                yield node, self.qualified(node)

    def evidence(self, node: ast.AST) -> Evidence:
        top = node
        while top in self.parents and not isinstance(self.parents[top], ast.Module):
            top = self.parents[top]
        symbol = top.name if isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) else None
        return Evidence(True, f"{self.rel}:{getattr(node, 'lineno', 1)}", symbol)

    def under_if(self, node: ast.AST) -> ast.If | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.If):
                return node
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return None
        return None


class Scope:
    """What a check may read for one level: its Python files, then those of the levels it imports, and the root."""

    def __init__(self, level: Level, root: Path, levels: Iterable[Level] = ()) -> None:
        self.level = level
        self.root = root
        packages = {lv.path.name: lv for lv in levels}
        order, pending, seen = [], [level], set()
        while pending:
            current = pending.pop(0)
            if current.path.name in seen:
                continue
            seen.add(current.path.name)
            order.append(current)
            imports = imported_modules(current.python_files())
            pending += [packages[name] for name in sorted(imports & packages.keys())]
        self.levels = order

    @cached_property
    def sources(self) -> list[Source]:
        """Own files first: evidence is reported from the level itself when it has it, else from what it composes."""
        return [Source(path, self.root) for lv in self.levels for path in lv.python_files()]

    def first(self, predicate: Callable[[Source], Iterator[ast.AST]]) -> Evidence | None:
        for source in self.sources:
            for node in predicate(source):
                return source.evidence(node)
        return None

    def mentions_level(self, text: str) -> bool:
        """A repository file (a CI workflow, prefect.yaml) is about this level when it names its package or target."""
        return self.level.path.name in text or re.search(rf"\b{self.level.name}\b", text) is not None


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()
