"""Training/serving skew: the whole holdout scored by the service agrees with the registered MLflow model.

Three paths to the same 1,409 probabilities: POST /predict row by row and POST /predict/batch (through each fast
path the service can pick: the linear fold, float64, and the ONNX export, float32) and the registry's pyfunc model
(`predict_proba` of the sklearn pipeline).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from level3_support import HOLDOUT_ROWS, MODEL_NAME
from serving_support import SKEW_TOLERANCE


def _worst(a: np.ndarray, b: np.ndarray) -> str:
    gap = np.abs(a - b)
    row = int(gap.argmax())
    return f"max |Δp| {gap.max():.2e} at holdout row {row} ({a[row]:.8f} vs {b[row]:.8f})"


@pytest.mark.parametrize("fast_path", ["linear", "onnx"])
def test_holdout_scores_agree_across_predict_batch_and_registry(
    fast_path: str,
    serve: Callable[[Any], Any],
    champion: Any,
    holdout: pd.DataFrame,
    holdout_bodies: list[dict[str, Any]],
) -> None:
    import mlflow

    settings = champion.settings
    client = serve(
        settings.model_copy(update={"serving": settings.serving.model_copy(update={"fast_path": fast_path})})
    )
    assert client.get("/model").json()["fast_path"] == fast_path, f"the service did not use the {fast_path} path"

    assert len(holdout_bodies) == HOLDOUT_ROWS, f"holdout has {len(holdout_bodies)} rows, not {HOLDOUT_ROWS}"
    # Given the registry's champion as MLflow loads it for anyone
    mlflow.set_tracking_uri(champion.settings.resolved_tracking_uri)
    registered = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    reference = np.asarray(registered.predict(holdout))[:, 1]
    # When the service scores the same rows one by one and in one batch
    singles = []
    for body in holdout_bodies:
        response = client.post("/predict", json=body)
        assert response.status_code == 200, f"/predict refused a holdout row: {response.text} for {body}"
        singles.append(response.json()["churn_probability"])
    one_by_one = np.array(singles)
    response = client.post("/predict/batch", json={"customers": holdout_bodies})
    assert response.status_code == 200, f"/predict/batch refused the holdout: {response.text[:300]}"
    batch = np.array([p["churn_probability"] for p in response.json()["predictions"]])
    # Then all three agree row by row
    assert batch.shape == reference.shape == one_by_one.shape, "the three paths scored different numbers of rows"
    assert np.abs(one_by_one - reference).max() <= SKEW_TOLERANCE, (
        f"/predict vs registry: {_worst(one_by_one, reference)}"
    )
    assert np.abs(batch - reference).max() <= SKEW_TOLERANCE, f"/predict/batch vs registry: {_worst(batch, reference)}"
    assert np.abs(one_by_one - batch).max() <= SKEW_TOLERANCE, (
        f"/predict vs /predict/batch: {_worst(one_by_one, batch)}"
    )


def test_registered_model_is_the_trained_one(champion: Any, holdout: pd.DataFrame) -> None:
    # The registry's copy of the pipeline scores exactly as the catalog's (no re-fit, no lossy serialization)
    import mlflow

    mlflow.set_tracking_uri(champion.settings.resolved_tracking_uri)
    registered = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@champion")
    trained = champion.outcome.model.predict_proba(holdout)[:, 1]
    assert np.array_equal(registered.predict_proba(holdout)[:, 1], trained), (
        f"registered model differs from the trained one: {_worst(registered.predict_proba(holdout)[:, 1], trained)}"
    )
