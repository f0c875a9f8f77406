"""The level-3 `train` flow end to end on the real data: gates, level 2's pipelines, MLflow, registry, promotion.

`first_run` (conftest.py) trains into an empty store; `second_run` retrains on the same data into the same store.
What the registry looked like right after each run is kept on the run (`aliases`), so the tests hold in any order.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from level3_support import MODEL_NAME, FlowRun
from support import METRICS_CONTRACT, RAW_RELATIVE, RAW_ROWS, LevelRun

from level2_pipeline.contract import DataContract

pytestmark = pytest.mark.slow

PLOTS = {"roc_curve.png", "precision_recall.png", "calibration.png", "confusion_matrix.png", "value_by_threshold.png"}


@pytest.fixture(scope="module")
def second_run(first_run: FlowRun, new_data_root: Callable[[str], Path], run_flow: Callable[..., FlowRun]) -> FlowRun:
    """The same data (the same raw bytes), the same store: a retrain. Its own data root, so that its reports do not
    overwrite the first run's, which other modules (the model card's tests) read in the same worker."""
    return run_flow(first_run.settings.model_copy(update={"data_dir": new_data_root("second_run")}), first_run.store)


def level3_path(run: FlowRun, *parts: str) -> Path:
    return run.settings.data_root.joinpath(*parts)


# --- the first run --------------------------------------------------------------------------------------------


def test_first_run_becomes_the_champion(first_run: FlowRun) -> None:
    summary = first_run.summary

    assert summary.status == "champion", first_run.describe()
    assert summary.model_version == "1"
    assert first_run.aliases == {"champion": "1"}, "after promotion only `champion` should point at version 1"
    gates = [(report["gate"], report["success"]) for report in summary.validation]
    assert gates == [("raw", True), ("model_input", True)], f"both gates must pass on valid data: {gates}"


def test_first_run_metrics_equal_level2s(first_run: FlowRun, level2_run: LevelRun) -> None:
    """Level 3 composes level 2's pipelines: on the same raw file it must report the same numbers."""
    expected, actual = level2_run.metrics(), first_run.summary.metrics

    assert set(actual) == set(expected), f"metric names differ: {set(actual) ^ set(expected)}"
    differ = {k: (expected[k], actual[k]) for k in expected if abs(expected[k] - actual[k]) > 1e-9}
    assert not differ, f"level 3 metrics differ from level 2's (level 2, level 3): {differ}"


def test_metrics_json_follows_the_metrics_contract(first_run: FlowRun) -> None:
    path = level3_path(first_run, "08_reporting", "level3", "metrics.json")

    metrics = json.loads(path.read_text())

    missing = [key for key in METRICS_CONTRACT if key not in metrics]
    assert not missing, f"{path} misses {missing}"
    assert metrics == pytest.approx(first_run.summary.metrics, abs=1e-12), "metrics.json ≠ the flow's summary"
    assert metrics["n_train"] + metrics["n_test"] == RAW_ROWS, "train and test do not add up to the raw file"


def test_reports_hold_data_docs_and_the_summary(first_run: FlowRun) -> None:
    reports = first_run.settings.reports
    assert reports == level3_path(first_run, "08_reporting", "level3"), "reports left the run's data root"

    assert (reports / "data_docs" / "index.html").is_file(), "no data docs were built"
    written = json.loads((reports / "train_summary.json").read_text())
    assert (written["status"], written["model_version"]) == ("champion", "1"), "the summary names another version"
    assert written["validation"][0]["gate"] == "raw"


def test_decision_json_is_written_and_stored_with_the_version(first_run: FlowRun, tmp_path: Path) -> None:
    """decision.json (a contract): in the reports, in the version's run (serving reads it there), as metrics."""
    reports = json.loads((first_run.settings.reports / "decision.json").read_text())
    client = first_run.store.client()
    run_id = first_run.summary.run_id
    stored = json.loads(Path(client.download_artifacts(run_id, "decision/decision.json", str(tmp_path))).read_text())

    assert reports["model_version"] == first_run.summary.model_version and reports["status"] == "champion"
    assert {k: v for k, v in reports.items() if k not in ("model_version", "status")} == stored
    assert stored["policy"] == "expected_value" and 0 < stored["threshold"] < 1
    assert set(stored["value_per_1000"]) == {"model", "offer_all", "offer_none", "random"}
    assert stored["value_per_1000"]["model"] > max(stored["value_per_1000"]["offer_all"], 0)
    assert set(stored["interval_95"]) >= {"model", "offer_all", "random", "model_minus_offer_all"}
    assert "training rows" in stored["chosen_on"], "the threshold must be chosen out of the holdout"
    metrics = client.get_run(run_id).data.metrics
    assert metrics["decision_threshold"] == stored["threshold"]
    assert metrics["value_per_1000"] == stored["value_per_1000"]["model"]
    assert first_run.summary.offers["threshold"] == stored["threshold"]


# --- what MLflow keeps --------------------------------------------------------------------------------------


def test_mlflow_run_records_parameters_and_metrics(first_run: FlowRun) -> None:
    run = first_run.store.client().get_run(first_run.summary.run_id)

    params = run.data.params
    expected = {"model.C": "1.0", "model.max_iter": "1000", "split.test_size": "0.2", "evaluate.threshold": "0.5"}
    for key, value in expected.items():
        assert params.get(key) == value, f"param {key}: {params.get(key)!r}, expected {value!r}; logged {params}"
    for key, value in first_run.summary.metrics.items():
        assert run.data.metrics[key] == pytest.approx(value, abs=1e-12), f"MLflow metric {key} ≠ summary"


def test_mlflow_run_records_lineage(first_run: FlowRun) -> None:
    run = first_run.store.client().get_run(first_run.summary.run_id)
    raw_file = level3_path(first_run, *RAW_RELATIVE.parts)
    sha256 = hashlib.sha256(raw_file.read_bytes()).hexdigest()

    tags = run.data.tags
    assert tags["data.sha256"] == sha256, "data.sha256 is not the SHA-256 of the raw file trained on"
    assert tags["data.path"] == str(raw_file)
    assert re.fullmatch(r"[0-9a-f]{40}", tags["git_commit"]), f"git_commit is {tags['git_commit']!r}"
    assert tags["prefect.flow_run_id"] == str(first_run.state.state_details.flow_run_id)
    assert tags["level"] == "level3"
    datasets = [d.dataset for d in run.inputs.dataset_inputs]
    assert [d.digest for d in datasets] == [sha256[:16]], "the training dataset input is missing or not this file"


def test_mlflow_run_holds_plots_and_validation_reports(first_run: FlowRun, tmp_path: Path) -> None:
    client = first_run.store.client()
    run_id = first_run.summary.run_id

    plots = {a.path.removeprefix("plots/"): a.file_size for a in client.list_artifacts(run_id, "plots")}
    assert set(plots) == PLOTS, f"plots logged: {sorted(plots)}"
    assert all(size > 1000 for size in plots.values()), f"a plot is (nearly) empty: {plots}"
    reports = {a.path for a in client.list_artifacts(run_id, "validation")}
    assert reports == {"validation/raw.json", "validation/model_input.json"}
    raw_report = json.loads(Path(client.download_artifacts(run_id, "validation/raw.json", str(tmp_path))).read_text())
    assert raw_report["success"] is True and raw_report["failures"] == []


def test_registered_version_is_the_runs_model_with_a_signature(first_run: FlowRun, contract: DataContract) -> None:
    import mlflow

    version = first_run.store.client().get_model_version(MODEL_NAME, "1")
    assert version.run_id == first_run.summary.run_id, "version 1 does not come from the first run"
    assert "promoted to champion" in version.tags.get("promotion", ""), f"promotion tag: {version.tags}"

    first_run.store.activate()
    info = mlflow.models.get_model_info(f"models:/{MODEL_NAME}/1")
    assert info.signature is not None, "the logged model has no signature"
    inputs = info.signature.inputs.input_names()
    assert set(contract.features) <= set(inputs), f"signature lacks features: {set(contract.features) - set(inputs)}"


def test_champion_loads_by_alias_and_predicts_probabilities(first_run: FlowRun) -> None:
    """What serving does: `models:/telco-churn@champion` through pyfunc, scoring like the training run did."""
    import mlflow

    x_test = pd.read_pickle(level3_path(first_run, "05_model_input", "level3", "X_test.pkl"))
    expected = pd.read_csv(level3_path(first_run, "07_model_output", "level3", "test_predictions.csv"))

    first_run.store.activate()
    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    probability = np.asarray(model.predict(x_test))

    assert probability.shape == (len(x_test), 2), f"expected (rows, 2) class probabilities, got {probability.shape}"
    assert np.allclose(probability.sum(axis=1), 1.0), "class probabilities do not sum to 1"
    np.testing.assert_allclose(
        probability[:, 1], expected["churn_probability"], atol=1e-9, err_msg="champion ≠ the training run's model"
    )


# --- the second run -----------------------------------------------------------------------------------------


def test_retrain_on_the_same_data_takes_over_as_champion(first_run: FlowRun, second_run: FlowRun) -> None:
    """Equal holdout AUC is within the tolerance: the newer model is promoted, and only one champion remains."""
    summary = second_run.summary

    assert summary.status == "champion", second_run.describe()
    assert summary.model_version == "2"
    assert summary.metrics["roc_auc"] == pytest.approx(first_run.summary.metrics["roc_auc"], abs=1e-12)
    assert any(reason.startswith("vs champion v1") for reason in summary.decision), summary.decision
    assert second_run.aliases == {"champion": "2"}, "challenger alias must be gone and champion on version 2"
    client = second_run.store.client()
    holders = [v for v in second_run.store.versions() if "champion" in client.get_model_version(MODEL_NAME, v).aliases]
    assert holders == ["2"], f"versions aliased champion: {holders}"
