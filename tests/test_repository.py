"""What the repository holds: source, configuration and docs, never a database or a run store.

A store committed by accident (an `mlflow.db` written by a tool run from the project root) ships someone's runs
to every clone, and a tool pointed at it reads them as the project's own.
"""

from __future__ import annotations

import ast
import subprocess

from support import PROJECT_ROOT

STORE_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".db-wal", ".db-shm")
STORE_FOLDERS = ("mlruns/", "mlartifacts/", ".mlflow/", ".prefect/", ".schemathesis/", ".hypothesis/")
SQLITE_MAGIC = b"SQLite format 3\x00"


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True, timeout=60
    ).stdout.decode()
    return [name for name in listed.split("\0") if name]


def test_no_tracked_file_is_a_database_or_a_run_store() -> None:
    files = tracked_files()
    assert "pyproject.toml" in files, "git ls-files did not list the repository"
    stores = [name for name in files if name.lower().endswith(STORE_SUFFIXES)]
    stores += [name for name in files if any(f"/{folder}" in f"/{name}" for folder in STORE_FOLDERS)]
    for name in files:
        path = PROJECT_ROOT / name
        if path.is_file():
            with path.open("rb") as handle:
                if handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC:
                    stores.append(name)
    assert not stores, f"databases or run stores tracked in git (git rm --cached them): {sorted(set(stores))}"


WAITS = {"run", "check_output", "call", "check_call", "communicate", "wait"}


def untimed_waits(source: str) -> list[int]:
    """Lines of `subprocess.run/check_output/call/check_call(...)`, `.communicate()` and `.wait()` with no timeout.

    A `.wait(...)` or `.communicate(...)` given a positional argument has one; `**kwargs` may carry one."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WAITS):
            continue
        owner = node.func.value
        if node.func.attr in {"communicate", "wait"}:
            if node.args:
                continue
        elif not (isinstance(owner, ast.Name) and owner.id == "subprocess"):
            continue
        if not any(keyword.arg in {"timeout", None} for keyword in node.keywords):
            lines.append(node.lineno)
    return lines


def test_the_finder_sees_a_wait_without_a_timeout() -> None:
    source = "subprocess.run(c)\nsubprocess.run(c, timeout=5)\np.communicate()\np.wait(3)\nbarrier.wait()\n"
    assert untimed_waits(source) == [1, 3, 5]


def test_every_subprocess_and_wait_in_the_tests_has_a_timeout() -> None:
    """A hung child or a barrier nobody reaches fails its test with a message, instead of stalling CI for 90 min."""
    found = {
        str(path.relative_to(PROJECT_ROOT)): lines
        for path in sorted((PROJECT_ROOT / "tests").rglob("*.py"))
        if (lines := untimed_waits(path.read_text(encoding="utf-8")))
    }
    assert not found, f"waits without a timeout (file: lines): {found}"
