"""What the repository holds: source, configuration and docs, never a database or a run store.

A store committed by accident (an `mlflow.db` written by a tool run from the project root) ships someone's runs
to every clone, and a tool pointed at it reads them as the project's own.
"""

from __future__ import annotations

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
