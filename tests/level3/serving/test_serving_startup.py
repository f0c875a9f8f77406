"""Start-up that suits rolling restarts: the service serves on the fast path's proof stored at training (no sklearn
to load first), checks it against the registered model in the background, and withdraws a version that fails.

The start-up time itself is a figure of `make bench` (benchmarks/bench_serving.py, beside `mlflow models serve`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from level3_support import TwoVersions
from support import eventually


def _checked(client: Any, timeout: float = 60) -> Any:
    store = client.app.state.store
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.current is None or store.current.verified:
            return store.current
        time.sleep(0.05)
    raise AssertionError("the load-time check did not finish")


def test_the_service_starts_on_the_stored_proof_then_checks_it(
    champion: Any, holdout: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    from fastapi.testclient import TestClient

    from level3_system.serving.app import create_app

    caplog.set_level(logging.INFO, logger="level3_system.serving.model_store")
    with TestClient(create_app(champion.settings)) as client:
        assert client.get("/ready").status_code == 200
        current = _checked(client)
        assert current is not None and current.verified and current.fast_path == "linear"
        # the check marks the version verified, then logs it: a busy machine lets the test in between
        message = "checked: its fast path agrees with the registered model"
        eventually(lambda: message in caplog.text, "not started on the proof: no line saying the check passed", 10)
        features = holdout[list(champion.contract.features)]
        expected = current.sklearn_model.predict_proba(features)[:, 1]
        np.testing.assert_allclose(current.predict_many(features), expected, atol=1e-9)


def _artifact(settings: Any, run_id: str, path: str) -> Path:
    from level3_system.lifecycle import registry

    uri = registry.client(settings).get_run(run_id).info.artifact_uri
    return Path(uri.removeprefix("file://")) / path


def test_a_version_whose_stored_proof_disagrees_is_withdrawn_then_loaded_in_full(
    make_two_versions: Callable[[str], TwoVersions],
) -> None:
    """v1's stored weights are tampered with in the artifact store: the service starts on them, its check finds
    the disagreement, it stops answering (503, saying why, counted on /metrics); a reload then loads v1 in full
    (its own fold of the registered pipeline) and serves it right."""
    from fastapi.testclient import TestClient

    from level3_system.serving.app import create_app
    from level3_system.serving.fastpath import LINEAR_PATH

    versions = make_two_versions("tampered_proof")
    stored = _artifact(versions.settings, versions.first.run_id, LINEAR_PATH)
    proof = json.loads(stored.read_text())
    proof["weights"]["bias"] += 0.5  # the file no longer describes the model it sits beside
    stored.write_text(json.dumps(proof))
    with TestClient(create_app(versions.settings)) as client:
        assert _checked(client) is None, "a version whose fast path disagrees with its model stayed served"
        ready = client.get("/ready")
        assert ready.status_code == 503 and "version 1 failed its load-time check" in ready.text, ready.text
        assert "disagrees with its model" in ready.json()["reason"], ready.text
        assert client.post("/predict", json=_customer(versions)).status_code == 503
        counted = 'churn_model_reloads_total{outcome="failed"} 1.0'  # counted by the check's callback, after it
        eventually(lambda: counted in client.get("/metrics").text, "the failed check was not counted on /metrics", 10)
        # A reload checks in full: the registered pipeline is sound, so v1 serves on its own fold of it
        assert client.post("/admin/reload").status_code == 200
        current = client.app.state.store.current
        assert current is not None and current.verified and current.version == "1"
        answer = client.post("/predict", json=_customer(versions)).json()["churn_probability"]
        frame = pd.DataFrame([{k: v for k, v in _customer(versions).items() if k in current.contract.features}])
        assert answer == pytest.approx(float(current.sklearn_model.predict_proba(frame)[0, 1]), abs=1e-9)


def _customer(versions: TwoVersions) -> dict[str, Any]:
    from level2_pipeline.config import load_contract
    from level3_system.serving.schemas import example_customer

    return example_customer(load_contract(versions.settings.kedro_env))
