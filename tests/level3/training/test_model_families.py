"""A tree family goes through level 3 like the logistic regression: logged with its exported trees and their proof,
registered, loaded by the service on the tree fast path (which `/model` names), scoring as the registered pipeline
does, one customer or many; told to use sklearn, it does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from level3_support import MODEL_NAME, Store, log_and_register, make_settings, train

from level3_system.serving.trees import TREE_MAX_DIFFERENCE, TREES_PATH


@pytest.mark.slow
def test_a_lightgbm_model_is_logged_registered_and_served(
    new_data_root: Callable[[str], Path], new_store: Callable[[str], Store]
) -> None:
    from level2_pipeline.config import load_contract_and_clean
    from level3_system.lifecycle import registry
    from level3_system.serving import model_store

    settings = make_settings(
        new_data_root("lightgbm"), new_store("lightgbm"), kedro_params={"model": {"family": "lightgbm"}}
    )
    outcome = train(settings)
    assert type(outcome.model.steps[-1][1]).__name__ == "LGBMClassifier"

    registered = log_and_register(settings, outcome, apply=False)  # skops must be told to trust the booster

    version = registry.get_version(settings, registered.version)
    proof = json.loads(registry.download(settings, version.run_id, TREES_PATH).read_text())
    assert proof["max_difference"] <= TREE_MAX_DIFFERENCE and proof["holdout_max_difference"] <= TREE_MAX_DIFFERENCE

    loaded = model_store.load(settings, lambda: load_contract_and_clean(None), version)
    assert loaded.version == registered.version and loaded.fast_path == "trees", loaded.fast_path
    features = outcome.x_test[list(outcome.contract.features)]
    np.testing.assert_allclose(loaded.predict_many(features), outcome.holdout_probability, rtol=0, atol=1e-9)
    one_by_one = [loaded.predict_one(row) for row in features.to_dict(orient="records")]
    np.testing.assert_allclose(one_by_one, outcome.holdout_probability, rtol=0, atol=1e-9)

    forced = settings.model_copy(update={"serving": settings.serving.model_copy(update={"fast_path": "sklearn"})})
    slow = model_store.load(forced, lambda: load_contract_and_clean(None), version)
    assert slow.fast_path == "sklearn" and slow.scorer is None
    np.testing.assert_allclose(slow.predict_many(features.head(50)), outcome.holdout_probability[:50], atol=1e-12)

    from fastapi.testclient import TestClient

    from level3_system.serving.app import create_app

    registry.client(settings).set_registered_model_alias(MODEL_NAME, registry.CHAMPION, registered.version)
    with TestClient(create_app(settings)) as client:
        assert client.get("/model").json()["fast_path"] == "trees"
        body = features.head(1).to_dict(orient="records")[0]
        answer = client.post("/predict", json=body).json()
        assert abs(answer["churn_probability"] - outcome.holdout_probability[0]) <= 1e-9, answer
