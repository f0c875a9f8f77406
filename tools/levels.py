"""The levels of this repository, found and measured from their code: what `make compare` and `make maturity` share.

A level is a top-level `level<N>_*` directory with Python code and a `make level<N>` target; nothing is declared by
hand, so a fork that adds a level gets it in both tables. Measures are static (ast and tokenize): lines of code
without comments and docstrings, test functions pytest would collect, the modules a level imports.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from level2_pipeline.project import PROJECT_ROOT

LEVEL_DIR = re.compile(r"level(\d+)_\w+")

_NOT_CODE = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}


@dataclass(frozen=True)
class Level:
    """A top-level `level<N>_*` directory that `make level<N>` runs."""

    number: int
    path: Path

    @property
    def name(self) -> str:
        return f"level{self.number}"

    def python_files(self) -> list[Path]:
        return sorted(p for p in self.path.rglob("*.py") if "__pycache__" not in p.parts)


def has_make_target(target: str, root: Path = PROJECT_ROOT) -> bool:
    """True when the Makefile has a rule for `target` (a phony name without a rule dry-runs as "Nothing to be done")."""
    dry = subprocess.run(["make", "-n", "--no-print-directory", target], cwd=root, capture_output=True, text=True)
    return dry.returncode == 0 and "Nothing to be done" not in dry.stdout + dry.stderr


def discover_levels(root: Path = PROJECT_ROOT, *, report_skipped: bool = True) -> list[Level]:
    """The levels that can run now: `level<N>_*` directories with Python code and a `make level<N>` target."""
    levels = []
    for path in sorted(root.iterdir()):
        match = LEVEL_DIR.fullmatch(path.name)
        if not (path.is_dir() and match):
            continue
        level = Level(int(match.group(1)), path)
        reason = None
        if not level.python_files():
            reason = "no Python files"
        elif not has_make_target(level.name, root):
            reason = f"no `make {level.name}` target"
        if reason is None:
            levels.append(level)
        elif report_skipped:
            print(f"skipping {path.name}/: {reason}")
    return sorted(levels, key=lambda lv: lv.number)


def count_code_lines(files: Iterable[Path]) -> int:
    """Lines holding code: blank lines, comments and docstrings are not code, so they must not inflate a level."""
    total = 0
    for path in files:
        source = path.read_text(encoding="utf-8")
        docstring_lines = _docstring_lines(ast.parse(source))
        lines: set[int] = set()
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in _NOT_CODE or (tok.type == tokenize.STRING and tok.start[0] in docstring_lines):
                continue
            lines.update(range(tok.start[0], tok.end[0] + 1))
        total += len(lines)
    return total


def _docstring_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        body = node.body if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) else []
        first = body[0] if body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def count_tests(test_dir: Path) -> int:
    """Test functions pytest would collect, counted statically (no import, no fixtures): a parametrized test is one."""
    count = 0
    files = [*test_dir.rglob("test_*.py"), *test_dir.rglob("*_test.py")] if test_dir.is_dir() else []
    for path in set(files):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                count += sum(_is_test_function(item) for item in node.body)
            else:
                count += _is_test_function(node)
    return count


def _is_test_function(node: ast.stmt) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")


def imported_modules(files: Iterable[Path]) -> set[str]:
    """Top-level names of the modules the files import (absolute imports, anywhere in the file)."""
    found: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


# Level 1 hard-codes what levels 2 and 3 read from conf/: each constant of level1_code/train.py and the parameter it
# mirrors (tests/test_parity.py pins them to conf/base).
LEVEL1_SCRIPT = PROJECT_ROOT / "level1_code" / "train.py"
LEVEL1_MIRRORS: dict[str, tuple[str, ...]] = {
    "TEST_SIZE": ("split", "test_size"),
    "RANDOM_STATE": ("split", "random_state"),
    "C": ("model", "C"),
    "MAX_ITER": ("model", "max_iter"),
    "THRESHOLD": ("evaluate", "threshold"),
    "FILL_MISSING": ("clean", "fill_missing"),
}


def level1_constants(script: Path = LEVEL1_SCRIPT) -> dict[str, object]:
    """The script's module-level constants that are literals (`NAME = <literal>`)."""
    found: dict[str, object] = {}
    for node in ast.parse(script.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return found


def level1_differences(env: str | None = None, script: Path = LEVEL1_SCRIPT) -> list[str]:
    """Where conf/ (with its overrides, e.g. conf/local) says otherwise than level 1's constants: level 1 cannot see
    conf/ (its constants are its lesson), so there the levels train different models."""
    from level2_pipeline.config import LOADER_ARGS, config_loader, locate

    parameters = config_loader(env)["parameters"]
    constants = level1_constants(script)
    patterns = list(LOADER_ARGS["config_patterns"]["parameters"])
    differences = []
    for name, keys in LEVEL1_MIRRORS.items():
        value: object = parameters
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if name in constants and value != constants[name]:
            differences.append(f"{locate(keys, patterns, env)} = {value!r} (level 1: {name} = {constants[name]!r})")
    return differences
