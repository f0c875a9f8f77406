"""A tree family goes through level 3 like the logistic regression: logged, registered, loaded by the service
(which says which fast path it took), scoring as the registered pipeline does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from level3_support import Store, log_and_register, make_settings, train


@pytest.mark.slow
def test_a_lightgbm_model_is_logged_registered_and_served(
    new_data_root: Callable[[str], Path], new_store: Callable[[str], Store]
) -> None:
    from level2_pipeline.config import load_contract_and_clean
    from level3_system import registry
    from level3_system.serving import model_store

    settings = make_settings(
        new_data_root("lightgbm"), new_store("lightgbm"), kedro_params={"model": {"family": "lightgbm"}}
    )
    outcome = train(settings)
    assert type(outcome.model.steps[-1][1]).__name__ == "LGBMClassifier"

    registered = log_and_register(settings, outcome, apply=False)  # skops must be told to trust the booster

    version = registry.get_version(settings, registered.version)
    loaded = model_store.load(settings, lambda: load_contract_and_clean(None), version)
    assert loaded.version == registered.version and loaded.fast_path == "sklearn", loaded.fast_path
    features = outcome.x_test[list(outcome.contract.features)]
    np.testing.assert_allclose(loaded.predict_many(features), outcome.holdout_probability, atol=1e-12)
