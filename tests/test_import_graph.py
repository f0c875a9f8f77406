"""The project's modules import in one direction: no cycle, counting the imports inside functions too.

A cycle hidden by a lazy import still ties two modules together (neither can be read, moved or tested without
the other); the lazy import only postpones the failure to whichever is imported first. The fix is to move the
shared name where both can import it (config.LOADER_ARGS, params.IngestionParams, orchestration.running_platform,
level_sources.LevelMap).
"""

from __future__ import annotations

import ast
from pathlib import Path

from support import PROJECT_ROOT

PACKAGES = ("level1_code", "level2_pipeline", "level3_system", "tools", "benchmarks")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def graph(found: dict[str, Path]) -> dict[str, set[str]]:
    """Module → the project's modules it imports anywhere (a name imported from a package counts as its module
    when it is one). A module's own parent packages are left out: Python imports them first anyway."""

    def resolve(name: str) -> str | None:
        while name and name not in found:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {}
    for name, path in found.items():
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {resolve(alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets |= {resolve(f"{node.module}.{alias.name}") for alias in node.names}
        edges[name] = {t for t in targets if t and t != name and not name.startswith(f"{t}.")}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_finder_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_the_projects_packages() -> None:
    found = modules()
    assert "level3_system.serving.app" in found and "level2_pipeline.config" in found, sorted(found)[:10]
    edges = graph(found)
    assert "level2_pipeline.config" in edges["level2_pipeline.settings"], "the graph misses a top-level import"
    assert "level3_system.operations.bootstrap" in edges["level3_system.operations.platform"], (
        "the graph misses an import in a function"
    )
    assert cycles(edges) == [], f"import cycles (move the shared name where both can import it): {cycles(edges)}"


def reading_path() -> list[str]:
    """The files of level 3's README reading path, in its order (the table's linked file names)."""
    import re

    readme = (PROJECT_ROOT / "level3_system" / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Reading path", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| \d+ \| \[`([^`]+)`\]", section, flags=re.MULTILINE)


def test_the_reading_path_names_files_that_exist_each_importing_only_earlier_ones() -> None:
    """A learner who reads in the README's order never meets a level-3 module that a later step explains."""
    path = reading_path()
    assert 8 <= len(path) <= 10, f"the reading path has {len(path)} files: {path}"
    found = modules()
    level3 = PROJECT_ROOT / "level3_system"
    by_file = {str(p.relative_to(level3)): name for name, p in found.items() if p.is_relative_to(level3)}
    missing = [f for f in path if f not in by_file]
    assert not missing, f"the reading path names files that do not exist: {missing}"
    edges = graph(found)

    def reached(module: str) -> set[str]:
        seen: set[str] = set()
        todo = [module]
        while todo:
            for target in edges[todo.pop()] - seen:
                seen.add(target)
                todo.append(target)
        return seen

    steps = [by_file[f] for f in path]
    for i, step in enumerate(steps):
        later = [s for s in steps[i + 1 :] if s in reached(step)]
        assert not later, f"step {i + 1} ({path[i]}) imports, directly or not, later steps: {later}"


# Level 3's layers, lowest first: a module may import its own layer and the ones before it, never one after.
LAYERS = [
    ("runtime", ("level3_system.settings", "level3_system.runtime")),
    ("lifecycle", ("level3_system.decision", "level3_system.lifecycle")),
    ("operations", ("level3_system.operations", "level3_system.cli", "level3_system.__main__")),
]


def _layer(module: str) -> int:
    """0 runtime (with settings), 1 lifecycle (with decision, the pure policy it applies), 2 the concern packages,
    3 operations and the CLI."""
    for i, (_, prefixes) in enumerate(LAYERS[:2]):
        if module.startswith(prefixes):
            return i
    return 3 if module.startswith(LAYERS[2][1]) else 2


def test_level3_imports_point_down_its_layers() -> None:
    """Plumbing (runtime/) imports no concern; the lifecycle imports no concern; no concern imports operations/."""
    edges = graph(modules())
    upward = sorted(
        f"{module} → {target}"
        for module, targets in edges.items()
        if module.startswith("level3_system.")
        for target in targets
        if target.startswith("level3_system.") and _layer(target) > _layer(module)
    )
    assert not upward, f"imports against level 3's layers: {upward}"
