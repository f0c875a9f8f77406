"""Batch scoring in this process: the output contract, rejects with their reasons, lineage, the prediction log, and a
version pinned for the whole run.

The champion of tests/conftest.py (a registry of its own) scores the real customers; the session's Prefect test
server runs the flow.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scoring_support import (
    OUTPUT_COLUMNS,
    SUCCESS_KEYS,
    broken_rows,
    customers_without_target,
    run_score,
    with_scoring,
)

pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.fixture(scope="module")
def customers_csv(raw_frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 7,043 real customers as a CSV without the target (what a nightly export would hold)."""
    path = tmp_path_factory.mktemp("score_input") / "customers.csv"
    customers_without_target(raw_frame).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def scored_customers(champion: Any, customers_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    run = run_score(champion.settings, customers_csv, tmp_path_factory.mktemp("score_out") / "out")
    assert run.completed, f"scoring the real customers failed: {run.summary}"
    return run


def test_the_output_has_the_documented_layout(scored_customers: Any, raw_frame: pd.DataFrame) -> None:
    out = scored_customers.output
    # Then OUTPUT holds predictions/, rejects/ and _SUCCESS, nothing else
    assert sorted(p.name for p in out.iterdir()) == ["_SUCCESS", "predictions", "rejects"]
    predictions = scored_customers.predictions()
    assert list(predictions.columns) == ["customer_id", *OUTPUT_COLUMNS], predictions.columns
    assert len(predictions) == len(raw_frame) == 7043
    assert predictions["customer_id"].is_unique and set(predictions["customer_id"]) == set(raw_frame["customer_id"])
    assert predictions["churn_probability"].between(0, 1).all()
    assert (predictions["churn"] == (predictions["churn_probability"] >= 0.5)).all()
    assert (predictions["model_version"] == "1").all()
    assert str(predictions["scored_at"].dt.tz) == "UTC"
    success = scored_customers.success()
    assert set(success) >= SUCCESS_KEYS, success
    assert (success["rows_in"], success["rows_scored"], success["rows_rejected"]) == (7043, 7043, 0)
    assert (success["model_name"], success["model_version"]) == ("telco-churn", "1")
    assert scored_customers.rejects().empty


def test_scores_are_the_champions_own(scored_customers: Any, champion: Any, raw_frame: pd.DataFrame) -> None:
    # The registered sklearn pipeline on the same rows (level 2's cleaning first, as training did)
    from level2_pipeline.pipelines.data_processing.nodes import fill_missing

    predictions = scored_customers.predictions().set_index("customer_id").loc[raw_frame["customer_id"]]
    features = fill_missing(raw_frame[champion.contract.features], champion.outcome.clean)
    expected = champion.outcome.model.predict_proba(features)[:, 1]
    gap = np.abs(predictions["churn_probability"].to_numpy() - expected).max()
    assert gap <= 1e-6, f"batch scores differ from the registered model by up to {gap:.2e}"


def test_each_row_carries_the_versions_retention_decision(scored_customers: Any, champion: Any) -> None:
    decision = champion.outcome.decision
    predictions = scored_customers.predictions()
    p = predictions["churn_probability"]
    success = scored_customers.success()

    assert success["offer_threshold"] == decision["threshold"] and success["budget"] is None
    assert (predictions["offer"] == (p >= decision["threshold"])).all()
    assert np.allclose(predictions["expected_value"], p * 0.5 * 500 - 50)
    assert success["offers"] == int(predictions["offer"].sum()) > 0
    assert success["expected_value"] == pytest.approx(predictions.loc[predictions["offer"], "expected_value"].sum())


def test_a_budget_gives_at_most_n_offers_to_the_riskiest_across_partitions(
    champion: Any, customers_csv: Path, tmp_path: Path
) -> None:
    # Partitions of 1,000 rows: the 100 best offers must be chosen across all eight, not per partition. (Not
    # logged: the prediction log test counts the module's one logged run.)
    settings = with_scoring(champion.settings, partition_rows=1_000)
    settings = settings.model_copy(
        update={"prediction_log": settings.prediction_log.model_copy(update={"enabled": False})}
    )
    run = run_score(settings, customers_csv, tmp_path / "out", budget=100)
    assert run.completed, run.summary
    predictions = run.predictions()
    offered, passed_over = predictions[predictions["offer"]], predictions[~predictions["offer"]]

    assert len(offered) == 100 and run.success()["offers"] == 100 and run.success()["budget"] == 100
    assert offered["churn_probability"].min() >= passed_over["churn_probability"].max(), (
        "a customer got an offer while a riskier one got none"
    )
    assert offered["expected_value"].min() >= passed_over["expected_value"].max()
    assert run.success()["expected_value"] == pytest.approx(offered["expected_value"].sum())
    assert len(list((run.output / "predictions").glob("part-*.parquet"))) == 8


def test_a_run_is_recorded_in_mlflow_and_the_prediction_log(scored_customers: Any, champion: Any) -> None:
    import sqlalchemy as sa
    from mlflow import MlflowClient

    from level3_system.prediction_log.schema import create_engine
    from level3_system.prediction_log.store import log_url

    mlflow = MlflowClient(champion.settings.resolved_tracking_uri)
    run = mlflow.get_run(scored_customers.summary.mlflow_run_id)
    experiment = mlflow.get_experiment(run.info.experiment_id)
    assert experiment.name == "scoring"
    assert run.data.tags["model_version"] == "1" and run.data.params["input"].endswith("customers.csv")
    assert run.data.metrics["rows_in"] == 7043 and run.data.metrics["rows_rejected"] == 0
    assert {"seconds_load", "seconds_score"} <= set(run.data.metrics), run.data.metrics
    # The scored rows are in the prediction log as batch traffic (7,043 rows: below scoring.log_rows_up_to)
    engine = create_engine(log_url(champion.settings))
    with engine.connect() as connection:
        logged = connection.execute(
            sa.text("SELECT count(*), count(DISTINCT entity_id) FROM predictions WHERE source = 'score'")
        ).one()
    assert scored_customers.summary.logged_rows == 7043
    assert tuple(logged) == (7043, 7043), f"prediction log holds {tuple(logged)} scored rows, not 7043 distinct"


def test_rows_that_break_the_contract_are_rejected_with_their_reason(
    champion: Any, raw_frame: pd.DataFrame, tmp_path: Path
) -> None:
    # Given 200 customers, five of them broken in five ways
    frame, expected = broken_rows(customers_without_target(raw_frame).head(200))
    path = tmp_path / "broken.csv"
    frame.to_csv(path, index=False)
    settings = with_scoring(champion.settings, log_rows_up_to=0)
    # When they are scored
    run = run_score(settings, path, tmp_path / "out")
    # Then the run completes, the five are rejected with what is wrong, the other 195 are scored
    assert run.completed, f"a run with broken rows failed: {run.summary}"
    rejects = run.rejects()
    assert sorted(rejects["customer_id"].astype(int)) == sorted(expected), rejects
    for customer, says in expected.items():
        reason = rejects.loc[rejects["customer_id"].astype(int) == customer, "reason"].item()
        assert says in reason, f"customer {customer}: reason {reason!r} does not say {says!r}"
    assert list(rejects.columns) == [*frame.columns, "reason"]
    predictions = run.predictions()
    assert len(predictions) == 195 and not set(predictions["customer_id"]) & set(expected)
    assert run.success()["rows_rejected"] == 5 and run.success()["rows_scored"] == 195


def test_an_input_missing_a_column_is_refused_whole(champion: Any, raw_frame: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "no_tenure.parquet"
    customers_without_target(raw_frame).drop(columns=["tenure"]).head(50).to_parquet(path)
    run = run_score(champion.settings, path, tmp_path / "out")
    assert not run.completed
    assert "missing required column(s): tenure" in str(run.summary), run.summary
    assert not (tmp_path / "out").exists(), "a refused input left an output behind"


def test_the_version_is_pinned_while_another_is_promoted_mid_run(
    make_two_versions: Callable[[str], Any],
    raw_frame: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from level3_system.scoring import engine

    versions = make_two_versions("score_pinned")
    path = tmp_path / "customers.parquet"
    customers_without_target(raw_frame).to_parquet(path, row_group_size=1000)  # 8 partitions of 1,000 rows
    settings = with_scoring(versions.settings, partition_rows=1000, log_rows_up_to=0)
    original, promoted = engine.score_partition, []

    def promote_after_first(frame: pd.DataFrame, *args: Any) -> pd.DataFrame:
        if not promoted:
            versions.promote_second()  # the champion moves to version 2 while version 1 is scoring
            promoted.append(True)
        return original(frame, *args)

    monkeypatch.setattr(engine, "score_partition", promote_after_first)
    run = run_score(settings, path, tmp_path / "during")
    assert run.completed and promoted, run.summary
    predictions = run.predictions()
    assert set(predictions["model_version"]) == {"1"}, "a promotion mid-run mixed versions in one output"
    assert run.success()["model_version"] == "1"
    # And the next run scores with the new champion
    monkeypatch.setattr(engine, "score_partition", original)
    after = run_score(settings, path, tmp_path / "after")
    assert set(after.predictions()["model_version"]) == {"2"}
    # An explicit version wins over the alias
    pinned = run_score(settings, path, tmp_path / "pinned", version="1")
    assert pinned.success()["model_version"] == "1"


def test_a_rerun_replaces_its_own_output_and_never_a_foreign_folder(
    champion: Any, raw_frame: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "few.csv"
    customers_without_target(raw_frame).head(30).to_csv(path, index=False)
    settings = with_scoring(champion.settings, log_rows_up_to=0)
    out = tmp_path / "out"
    first = run_score(settings, path, out)
    first_scored_at = first.success()["scored_at"]
    second = run_score(settings, path, out)
    assert first.completed and second.completed
    assert second.success()["scored_at"] > first_scored_at, "OUTPUT still holds the first run"
    assert len(second.predictions()) == 30, "the rerun's output holds more than its own rows"
    siblings = [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")]
    assert not siblings, f"staging folders left beside OUTPUT: {siblings}"
    # A folder that is not a scoring output is not touched
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    refused = run_score(settings, path, foreign)
    assert not refused.completed and "is not a scoring output" in str(refused.summary)
    assert (foreign / "notes.txt").read_text() == "keep me" and [p.name for p in foreign.iterdir()] == ["notes.txt"]
