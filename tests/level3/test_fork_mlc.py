"""Level 3 forks: a second real data set runs end to end from a conf/ environment alone (level3_system/FORKING.md).

`conf/mlc/` describes `modeldata::mlc_churn` (5,000 rows, 19 other features, target `churn` "no"/"yes"): its data
contract, source, fill rules, raw file name and level-3 settings. With `kedro_env="mlc"` and nothing else Telco
changed, the flow fetches it, passes both gates, trains, registers and promotes a champion, and the service built
on that registry speaks the mlc contract. Its own data root, MLflow store and the session's Prefect test server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from level3_support import FlowRun, Store

from level2_pipeline.config import load_contract, load_parameters
from level2_pipeline.contract import DataContract
from level2_pipeline.ingestion import sha256_of
from level3_system.settings import Level3Settings

pytestmark = pytest.mark.slow

ENV = "mlc"
MODEL = "mlc-churn"  # conf/mlc/level3.yml
RAW_ROWS = 5000
# The logistic model's holdout ROC AUC on mlc_churn is ≈ 0.817; conf/mlc/level3.yml's floor is below it.
MIN_ROC_AUC = 0.80


@pytest.fixture(scope="module")
def mlc_contract() -> DataContract:
    return load_contract(ENV)


@pytest.fixture(scope="module")
def mlc_store(new_store: Callable[[str], Store]) -> Store:
    return new_store(ENV)


@pytest.fixture(scope="module")
def mlc_settings(tmp_path_factory: pytest.TempPathFactory, mlc_store: Store) -> Level3Settings:
    """Only the environment and the places are given: the rest comes from conf/mlc/level3.yml.

    The data root starts empty, so the flow's ingest task fetches the source configured in conf/mlc.
    """
    return Level3Settings(
        kedro_env=ENV,
        data_dir=tmp_path_factory.mktemp("data_mlc"),
        tracking_uri=mlc_store.tracking_uri,
        artifact_location=mlc_store.artifact_location,
        prefect_home=tmp_path_factory.mktemp("prefect_mlc"),
        retries=0,
    )


@pytest.fixture(scope="module")
def mlc_run(mlc_settings: Level3Settings, mlc_store: Store, run_flow: Callable[..., FlowRun]) -> FlowRun:
    from mlflow import MlflowClient

    run = run_flow(mlc_settings, mlc_store)
    assert run.state.is_completed(), f"the flow on conf/mlc did not complete: {run.describe()}"
    aliases = MlflowClient(mlc_store.tracking_uri).get_registered_model(MODEL).aliases
    return FlowRun(run.state, run.summary, mlc_settings, mlc_store, {a: str(v) for a, v in aliases.items()})


@pytest.fixture(scope="module")
def mlc_client(mlc_run: FlowRun) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from level3_system.serving.app import create_app

    with TestClient(create_app(mlc_run.settings)) as client:
        yield client


def test_the_environment_alone_selects_the_fork(mlc_settings: Level3Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """`kedro_env` (argument or CHURN_KEDRO_ENV) brings conf/mlc's registry names and promotion rules along."""
    monkeypatch.setenv("CHURN_KEDRO_ENV", ENV)
    from_variable = Level3Settings()

    for settings in (mlc_settings, from_variable):
        assert (settings.registered_model, settings.experiment) == (MODEL, MODEL), "conf/mlc/level3.yml not read"
        assert settings.promotion == mlc_settings.promotion
    assert mlc_settings.promotion.invariance is not None and mlc_settings.promotion.invariance.column == "area_code"


def test_the_mlc_contract_replaces_telcos(mlc_contract: DataContract) -> None:
    parameters = load_parameters(ENV)

    assert mlc_contract.name == "mlc_churn" and mlc_contract.positive_class == "yes"
    assert len(mlc_contract.features) == 19 and "tenure" not in mlc_contract.columns, "base's contract leaked in"
    assert not parameters["clean"]["fill_missing"], "base's total_charges fill rule leaked into conf/mlc"


def test_flow_fetches_validates_trains_registers_and_promotes(mlc_run: FlowRun) -> None:
    summary = mlc_run.summary
    raw = mlc_run.settings.data_root / "01_raw" / "mlc_churn.csv"

    assert raw.is_file(), "the raw file is not where conf/mlc/catalog.yml puts it"
    assert sha256_of(raw) == load_parameters(ENV)["ingestion"]["sha256"], "the fetched file is not the recorded one"
    gates = [(report["gate"], report["success"], report["failures"]) for report in summary.validation]
    assert gates == [("raw", True, []), ("model_input", True, [])], f"both gates must pass on mlc_churn: {gates}"
    assert summary.metrics["n_train"] + summary.metrics["n_test"] == RAW_ROWS
    assert summary.metrics["roc_auc"] > MIN_ROC_AUC, f"holdout ROC AUC {summary.metrics['roc_auc']:.4f}"
    assert summary.metrics["roc_auc"] >= mlc_run.settings.promotion.min_roc_auc
    assert (summary.status, summary.registered_model, summary.model_version) == ("champion", MODEL, "1"), (
        mlc_run.describe()
    )
    assert mlc_run.aliases == {"champion": "1"}, f"aliases of {MODEL}: {mlc_run.aliases}"
    assert all("passed" in reason for reason in summary.decision[1:3]), summary.decision


def test_registered_model_takes_the_mlc_features(mlc_run: FlowRun, mlc_contract: DataContract) -> None:
    import mlflow

    mlc_run.store.activate()
    info = mlflow.models.get_model_info(f"models:/{MODEL}@champion")
    assert info.signature is not None
    assert info.signature.inputs.input_names() == mlc_contract.features
    description = mlc_run.store.client().get_registered_model(MODEL).description or ""
    assert "telco" not in description.lower(), f"the registry describes {MODEL} as Telco: {description!r}"


def test_service_speaks_the_mlc_contract(mlc_client: Any, mlc_contract: DataContract) -> None:
    schema = mlc_client.app.openapi()
    customer = schema["components"]["schemas"]["Customer"]

    assert list(customer["properties"]) == [mlc_contract.id_column, *mlc_contract.features], (
        "the request schema is not the mlc contract's (its optional id, then its features)"
    )
    assert "mlc" in schema["info"]["title"].lower(), f"API title: {schema['info']['title']!r}"
    model = mlc_client.get("/model").json()
    assert (model["name"], model["version"], model["fast_path"]) == (MODEL, "1", "linear"), model


def test_service_scores_the_schema_example(mlc_client: Any, mlc_run: FlowRun) -> None:
    example = mlc_client.app.openapi()["components"]["schemas"]["Customer"]["examples"][0]

    response = mlc_client.post("/predict", json=example)

    assert response.status_code == 200, response.text
    body = response.json()
    assert 0.0 < body["churn_probability"] < 1.0 and body["model_version"] == "1", body
    assert body["threshold"] == mlc_run.summary.metrics["threshold"]


def test_service_rejects_malformed_and_telco_requests(mlc_client: Any) -> None:
    example = mlc_client.app.openapi()["components"]["schemas"]["Customer"]["examples"][0]
    malformed = {**example, "international_plan": "maybe", "total_day_calls": -1}
    malformed.pop("state")
    telco = {**example, "tenure": 1}  # a Telco field is unknown here

    for body, fields in ((malformed, {"international_plan", "total_day_calls", "state"}), (telco, {"tenure"})):
        response = mlc_client.post("/predict", json=body)
        assert response.status_code == 422, response.text
        assert {f["field"] for f in response.json()["fields"]} == fields, response.json()


def test_batch_scoring_speaks_the_mlc_contract(mlc_run: FlowRun, mlc_contract: DataContract, tmp_path: Any) -> None:
    """`make score` in the fork: the mlc contract's columns and checks, its registry, the output's fixed names."""
    import pandas as pd
    from scoring_support import run_score

    raw = pd.read_csv(mlc_run.settings.data_root / "01_raw" / "mlc_churn.csv").drop(columns=[mlc_contract.target])
    raw.loc[raw.index[7], "international_plan"] = "maybe"  # one row outside the mlc contract
    source = tmp_path / "mlc_customers.csv"
    raw.to_csv(source, index=False)

    run = run_score(mlc_run.settings, source, tmp_path / "out")

    assert run.completed, f"scoring mlc customers failed: {run.summary}"
    success = run.success()
    assert (success["model_name"], success["model_version"]) == (MODEL, "1"), success
    assert (success["rows_in"], success["rows_scored"], success["rows_rejected"]) == (RAW_ROWS, RAW_ROWS - 1, 1)
    predictions = run.predictions()
    assert list(predictions.columns) == [
        mlc_contract.id_column,
        "churn_probability",
        "churn",
        "offer",
        "expected_value",
        "model_version",
        "scored_at",
    ], predictions.columns
    assert predictions["churn_probability"].between(0, 1).all()
    rejects = run.rejects()
    # rejects keep the rows as read (a CSV's as text: the offending value exactly as it came)
    assert rejects[mlc_contract.id_column].tolist() == [str(raw.iloc[7][mlc_contract.id_column])]
    assert "international_plan" in rejects["reason"].iloc[0], rejects["reason"].iloc[0]
