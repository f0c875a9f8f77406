"""The OpenAPI document tells the truth: schemathesis, every check, against the service on a real port.

`st run` as a user would run it, over every operation: the examples, the coverage phase (boundary and
schema-violating values derived from each constraint) and fuzzing, with a fixed seed and bounded examples. Every
check is on: no 5xx, every status and content type documented, every body matching its documented schema,
schema-invalid requests refused, schema-valid ones accepted (a 404 for an unknown id counts as accepted), and
with a key set, requests without it refused. Run once without an API key and once with one (the document then
names the scheme and the 401).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from servers import free_port, start, wait_until

pytest.importorskip("schemathesis", reason="schemathesis is not installed (test dependency group)")

SEED = 18
MAX_EXAMPLES = 40
API_KEY = "fuzz-key-18"


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ready", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


@pytest.mark.servers
@pytest.mark.parametrize("key", [None, API_KEY], ids=["no-key", "api-key"])
def test_schemathesis_finds_nothing(champion: Any, tmp_path: Path, key: str | None) -> None:
    settings = champion.settings
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("CHURN_", "MLFLOW_"))}
    env = {
        **inherited,
        "CHURN_TRACKING_URI": settings.resolved_tracking_uri,
        "CHURN_DATA_DIR": str(tmp_path / "data"),  # the prediction log of this service only
        **({"CHURN_SERVING__API_KEY": key} if key else {}),
    }
    service = start("service", [sys.executable, "-m", "level3_system", "serve", "--port", str(port)], env, tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(service, lambda: _ready(url), timeout=90, what="the service")
        command = [
            str(Path(sys.executable).with_name("st")),
            "run",
            f"{url}/openapi.json",
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing",
            "--seed",
            str(SEED),
            "--max-examples",
            str(MAX_EXAMPLES),
            "--generation-database",
            "none",
            "--request-timeout",
            "20",
            "--no-color",
            *(["--header", f"X-API-Key: {key}"] if key else []),
        ]
        # In a folder of its own: nothing it writes lands in the repository
        fuzzed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False)
    finally:
        service.stop()
    report = fuzzed.stdout[-6000:] + fuzzed.stderr[-2000:]
    assert fuzzed.returncode == 0, f"schemathesis found failures (exit {fuzzed.returncode}):\n{report}"
    selected = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", fuzzed.stdout)
    assert selected is not None, f"no summary of the operations:\n{report}"
    assert selected.group(2) == selected.group(3) != "0", f"not every operation was tested:\n{report}"
    assert "No issues found" in fuzzed.stdout, report
    assert "Traceback" not in service.tail(400), f"the service logged an error:\n{service.tail(60)}"
