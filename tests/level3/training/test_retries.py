"""Retries that cannot duplicate, retries only where a second try can help, and the holdout scored once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from level3_support import MODEL_NAME, Store, make_settings

from level2_pipeline.contract import DataContractError
from level2_pipeline.errors import UserFacingError
from level3_system.lifecycle import registry
from level3_system.runtime.retry import is_transient
from level3_system.training.tracking import log_training_run


@pytest.fixture
def settings(champion_outcome: Any, new_store: Callable[[str], Store], request: pytest.FixtureRequest) -> Any:
    return make_settings(champion_outcome.raw_path.parents[1], new_store(request.node.name[:40]))


def test_a_retried_registration_reuses_the_runs_version(
    settings: Any, champion_outcome: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    tracked = log_training_run(settings, champion_outcome, flow_run_id="f", flow_run_name="f")
    # Given a failure after the version is created and before its alias is set
    original = MlflowClient.set_registered_model_alias
    calls = {"n": 0}

    def flaky(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("the registry went away")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", flaky)
    with pytest.raises(ConnectionError):
        registry.register(settings, tracked.model_uri, tracked.run_id, tracked.model_id)
    # When the task retries
    version = registry.register(settings, tracked.model_uri, tracked.run_id, tracked.model_id)
    # Then there is still one version, and it is the challenger
    versions = registry.client(settings).search_model_versions(f"name='{MODEL_NAME}'")
    assert [str(v.version) for v in versions] == ["1"] and version == "1", f"versions after a retry: {versions}"
    assert str(registry.version_by_alias(settings, registry.CHALLENGER).version) == "1"


def test_a_retried_track_task_reuses_the_run_it_completed(settings: Any, champion_outcome: Any) -> None:
    first = log_training_run(settings, champion_outcome, flow_run_id="f", flow_run_name="f", task_run_id="task-1")
    again = log_training_run(settings, champion_outcome, flow_run_id="f", flow_run_name="f", task_run_id="task-1")
    other = log_training_run(settings, champion_outcome, flow_run_id="f", flow_run_name="f", task_run_id="task-2")

    assert again == first, "a retry of the same task run logged a second run"
    assert other.run_id != first.run_id, "another task run must log its own run"


def test_tracking_and_the_model_card_reuse_level2s_holdout_scores(
    settings: Any, champion_outcome: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sklearn.pipeline import Pipeline

    from level3_system.training.model_card import publish

    holdout_rows = len(champion_outcome.x_test)
    scored: list[int] = []
    original = Pipeline.predict_proba

    def counting(self: Any, x: Any, **kwargs: Any) -> Any:
        scored.append(len(x))
        return original(self, x, **kwargs)

    monkeypatch.setattr(Pipeline, "predict_proba", counting)
    tracked = log_training_run(settings, champion_outcome, flow_run_id="f", flow_run_name="f")
    publish(settings, champion_outcome, run_id=tracked.run_id, version="1", champion=False, decision="-")

    assert holdout_rows not in scored, f"the holdout ({holdout_rows} rows) was scored again: calls on {scored} rows"


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        pytest.param(ConnectionError("refused"), True, id="connection"),
        pytest.param(TimeoutError("timed out"), True, id="timeout"),
        pytest.param(FileNotFoundError("data/01_raw/telco_churn.csv"), False, id="missing-file"),
        pytest.param(DataContractError("missing column tenure"), False, id="contract"),
        pytest.param(UserFacingError("bad setting"), False, id="user-error"),
        pytest.param(ValueError("a bug"), False, id="bug"),
    ],
)
def test_only_transient_io_is_retried(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def test_an_unreachable_tracking_server_is_transient() -> None:
    from mlflow.exceptions import MlflowException

    error = MlflowException(
        "API request to http://127.0.0.1:5000/api/2.0/mlflow/runs/create failed: Max retries exceeded"
    )
    assert is_transient(error)
    assert not is_transient(MlflowException("RESOURCE_DOES_NOT_EXIST: no such experiment"))
