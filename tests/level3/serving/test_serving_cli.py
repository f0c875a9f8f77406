"""`python -m level3_system serve` refuses to start when the alias it serves has no version and is not one it
may create (`champion` on a local store is trained first: tests/test_first_touch.py), in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from level3_support import Store
from support import PROJECT_ROOT


def test_serve_of_an_alias_with_no_version_exits_1_with_one_line(new_store: Callable[[str], Store]) -> None:
    # Given an empty registry (a migrated, empty store: the CLI pays no schema creation)
    store = new_store("serve_cli")
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("CHURN_", "MLFLOW_"))}
    env = {
        **inherited,
        "CHURN_TRACKING_URI": store.tracking_uri,
        "CHURN_DATA_DIR": str(store.root),
        "CHURN_SERVING__MODEL_ALIAS": "staging",
    }
    # When `serve` is run as `make serve` runs it
    completed = subprocess.run(
        [sys.executable, "-m", "level3_system", "serve"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then it exits 1 with one line that names the next step, and serves nothing
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert completed.returncode == 1, f"exit {completed.returncode}; stderr:\n{completed.stderr}"
    assert len(lines) == 1 and "make level3" in lines[0], f"expected one line naming `make level3`:\n{completed.stderr}"
    assert "serving" not in completed.stdout, f"it claimed to serve: {completed.stdout}"
