"""Level 2 end to end through Kedro's API (`level2_pipeline.runner.run`) and its command line, in temp data roots."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import METRICS_CONTRACT, MIN_ROC_AUC, PROJECT_ROOT, RAW_ROWS, LevelRun, run_python, stderr_lines, write_raw

from level2_pipeline.contract import DataContract
from level2_pipeline.ingestion import load_config
from level2_pipeline.pipelines import data_processing, data_science
from level2_pipeline.runner import UserFacingError, run


@pytest.fixture(scope="module")
def contract(raw_data_dir: Path) -> DataContract:
    return load_config(data_dir=raw_data_dir).contract


def test_node_names_are_the_shared_step_vocabulary() -> None:
    # style.md: level 1's sections, level 2's nodes and level 3's tasks use the same words
    names = [node.name for node in (data_processing.create_pipeline() + data_science.create_pipeline()).nodes]

    assert names == ["clean", "build_features", "split", "train", "evaluate"], f"node names drifted: {names}"


def test_default_pipeline_runs_every_node() -> None:
    # what `make level2` and `python -m level2_pipeline` run: both pipelines, in dependency order
    from kedro.framework.project import pipelines
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    pipelines.set_requested(["__default__"])  # as KedroSession.run does before it looks a pipeline up

    names = [node.name for node in pipelines["__default__"].nodes]

    assert names == ["clean", "build_features", "split", "train", "evaluate"], f"__default__ runs {names}"


# --- the successful run: conftest.level2_run runs data_processing, then data_science, once per session ---------


@pytest.mark.slow
def test_model_input_table_is_complete(level2_run: LevelRun, contract: DataContract) -> None:
    table = pd.read_parquet(level2_run.data_root / "05_model_input" / "model_input_table.parquet")

    assert len(table) == RAW_ROWS, f"{len(table)} rows in the model input table, expected {RAW_ROWS}"
    nulls = table.isna().sum()
    assert not nulls.any(), f"nulls left after cleaning: {nulls[nulls > 0].to_dict()}"
    assert list(table.columns) == [contract.id_column, *contract.features, contract.target]
    assert set(table[contract.target].unique()) == {0, 1}


@pytest.mark.slow
def test_metrics_follow_the_contract_and_beat_the_floor(level2_run: LevelRun) -> None:
    metrics = level2_run.metrics()

    missing = [key for key in METRICS_CONTRACT if key not in metrics]
    assert not missing, f"level 2 metrics.json lacks contract key(s) {missing}"
    assert metrics["roc_auc"] >= MIN_ROC_AUC, f"holdout ROC AUC {metrics['roc_auc']:.4f} < {MIN_ROC_AUC}"
    assert metrics["n_train"] + metrics["n_test"] == RAW_ROWS, "train and test do not add up to the raw rows"


@pytest.mark.slow
def test_model_is_saved_as_a_version(level2_run: LevelRun, raw_frame: pd.DataFrame) -> None:
    versions = sorted(p for p in level2_run.model_path.iterdir() if p.is_dir())
    assert len(versions) == 1, f"expected one model version after one run, found {[v.name for v in versions]}"
    saved = versions[0] / "model.pkl"
    assert saved.is_file(), f"the version folder holds no model.pkl: {list(versions[0].iterdir())}"

    with saved.open("rb") as handle:
        model = pickle.load(handle)  # our own artifact, written by this session
    probability = model.predict_proba(raw_frame.head(20))[:, 1]

    assert np.all((probability >= 0) & (probability <= 1)), "the saved model does not return probabilities"


# --- errors a user can fix: one message, nothing overwritten --------------------------------------------------


def test_missing_raw_file_is_a_user_facing_error(tmp_path: Path) -> None:
    with pytest.raises(UserFacingError) as caught:
        run(data_dir=tmp_path)

    message = str(caught.value)
    assert "01_raw/telco_churn.csv" in message and "make data" in message, f"unhelpful message: {message}"


@pytest.mark.slow
def test_missing_columns_are_listed_and_earlier_metrics_kept(
    level2_run: LevelRun, raw_frame: pd.DataFrame, tmp_path: Path
) -> None:
    # given: metrics from an earlier run, and a raw file without two contract columns
    metrics = tmp_path / level2_run.metrics_path.relative_to(level2_run.data_root)
    metrics.parent.mkdir(parents=True)
    shutil.copyfile(level2_run.metrics_path, metrics)
    earlier = metrics.read_bytes()
    write_raw(raw_frame.drop(columns=["tenure", "contract"]), tmp_path)

    # when
    with pytest.raises(UserFacingError) as caught:
        run(data_dir=tmp_path)

    # then
    assert "tenure" in str(caught.value) and "contract" in str(caught.value), f"not all named: {caught.value}"
    assert metrics.read_bytes() == earlier, "a failed run changed the earlier metrics.json"
    assert not (tmp_path / "06_models").exists(), "a failed run saved a model"


def test_invalid_parameter_is_refused_before_any_work(tmp_path: Path) -> None:
    # an empty data root: a parameter error must come before the missing raw file is noticed
    with pytest.raises(UserFacingError) as caught:
        run(data_dir=tmp_path, runtime_params={"split": {"test_size": 1.5}})

    # one line: where the value came from, the key, what was expected and what was found
    assert str(caught.value) == "runtime parameter (--params) split.test_size: expected less than 1, found 1.5"


@pytest.mark.slow
def test_cli_missing_raw_file_exits_with_one_line(tmp_path: Path) -> None:
    completed = run_python(["-m", "level2_pipeline", "--data-dir", str(tmp_path)], cwd=tmp_path)

    assert completed.returncode != 0, "python -m level2_pipeline exited 0 without a raw file"
    assert "Traceback" not in completed.stderr, completed.stderr
    lines = stderr_lines(completed)
    assert len(lines) == 1, f"expected one line on stderr:\n{completed.stderr}"
    assert "telco_churn.csv" in lines[0] and "make data" in lines[0], f"unhelpful message: {lines[0]}"
