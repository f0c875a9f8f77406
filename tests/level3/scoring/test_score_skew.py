"""Batch/serving skew: `make score` gives the holdout the probabilities the service and the registry give it.

The 1,409 holdout customers (id column included) scored three ways through each fast path the service can pick
(the linear fold, float64; the ONNX export, float32): the `score` flow's `predictions/`, POST /predict row by row,
and the registry's pyfunc model (the sklearn pipeline's `predict_proba`). tests/level3/serving/test_serving_skew.py
holds /predict and /predict/batch to the registry the same way.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from level3_support import HOLDOUT_ROWS, MODEL_NAME
from scoring_support import run_score

pytestmark = pytest.mark.usefixtures("prefect_server")
SKEW_TOLERANCE = 1e-6  # as tests/level3/serving/serving_support.py


def _worst(a: np.ndarray, b: np.ndarray, ids: pd.Series) -> str:
    gap = np.abs(a - b)
    row = int(gap.argmax())
    return f"max |Δp| {gap.max():.2e} for customer {ids.iloc[row]} ({a[row]:.8f} vs {b[row]:.8f})"


def _body(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}


@pytest.mark.parametrize("fast_path", ["linear", "onnx"])
def test_batch_scores_equal_predict_and_the_registry(fast_path: str, champion: Any, tmp_path: Path) -> None:
    import mlflow
    from fastapi.testclient import TestClient

    from level3_system.serving.app import create_app

    settings = champion.settings
    settings = settings.model_copy(update={"serving": settings.serving.model_copy(update={"fast_path": fast_path})})
    holdout = champion.outcome.x_test
    id_column, features = champion.contract.id_column, list(champion.contract.features)
    assert len(holdout) == HOLDOUT_ROWS and id_column in holdout.columns
    source = tmp_path / "holdout.parquet"
    holdout.to_parquet(source, index=False)
    # When the score flow scores the holdout file
    run = run_score(settings, source, tmp_path / "out")
    assert run.completed, f"scoring the holdout failed: {run.summary}"
    batch = run.predictions().set_index(id_column).loc[holdout[id_column], "churn_probability"].to_numpy()
    # And the service scores the same customers one request at a time, on the same fast path
    with TestClient(create_app(settings)) as client:
        assert client.get("/model").json()["fast_path"] == fast_path, f"the service did not use the {fast_path} path"
        singles = []
        for row in holdout[features].to_dict(orient="records"):
            response = client.post("/predict", json=_body(row))
            assert response.status_code == 200, f"/predict refused a holdout row: {response.text}"
            singles.append(response.json()["churn_probability"])
    one_by_one = np.array(singles)
    # And the registry's model as MLflow loads it for anyone
    mlflow.set_tracking_uri(settings.resolved_tracking_uri)
    reference = np.asarray(mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion").predict(holdout))[:, 1]
    # Then all three agree customer by customer
    ids = holdout[id_column]
    assert run.success()["rows_scored"] == HOLDOUT_ROWS, run.success()
    assert np.abs(batch - reference).max() <= SKEW_TOLERANCE, f"score vs registry: {_worst(batch, reference, ids)}"
    assert np.abs(batch - one_by_one).max() <= SKEW_TOLERANCE, f"score vs /predict: {_worst(batch, one_by_one, ids)}"
