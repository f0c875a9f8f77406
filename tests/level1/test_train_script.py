"""Level 1: `level1_code/train.py` run as users run it, a subprocess whose working directory holds data/."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from support import METRICS_CONTRACT, MIN_ROC_AUC, RAW_RELATIVE, LevelRun, run_level1, stderr_lines, write_raw

pytestmark = pytest.mark.slow  # every test here runs the script, or reads its session run

RAW_SHOWN = "data/01_raw/telco_churn.csv"  # how the script names its input (relative to its working directory)


def test_script_exits_zero(level1_completed: subprocess.CompletedProcess[str]) -> None:
    assert level1_completed.returncode == 0, f"train.py failed:\n{level1_completed.stderr}"


def test_metrics_follow_the_contract_and_beat_the_floor(level1_run: LevelRun) -> None:
    metrics = level1_run.metrics()

    missing = [key for key in METRICS_CONTRACT if key not in metrics]
    assert not missing, f"level 1 metrics.json lacks contract key(s) {missing}"
    assert metrics["roc_auc"] >= MIN_ROC_AUC, f"holdout ROC AUC {metrics['roc_auc']:.4f} < {MIN_ROC_AUC}"
    assert (metrics["n_train"], metrics["n_test"]) == (5634, 1409), "not the stratified 80/20 split of 7,043 rows"


def test_model_is_saved_and_scores_raw_rows(level1_run: LevelRun, raw_frame: pd.DataFrame) -> None:
    assert level1_run.model_path.is_file(), f"no model at {level1_run.model_path}"

    model = joblib.load(level1_run.model_path)
    probability = model.predict_proba(raw_frame.head(20))[:, 1]

    assert np.all((probability >= 0) & (probability <= 1)), "the saved model does not return probabilities"


def test_test_predictions_cover_the_holdout_once(level1_run: LevelRun) -> None:
    predictions = level1_run.predictions()

    assert list(predictions.columns) == ["customer_id", "y_true", "churn_probability"]
    assert len(predictions) == level1_run.metrics()["n_test"], "one prediction per test row expected"
    assert predictions["customer_id"].is_unique, "a customer appears twice in the test predictions"


@pytest.fixture
def previous_outputs(level1_run: LevelRun, tmp_path: Path) -> dict[Path, bytes]:
    """A working directory where an earlier run saved its metrics and model: {path: bytes}."""
    saved = {}
    for produced in (level1_run.metrics_path, level1_run.model_path):
        copy = tmp_path / produced.relative_to(level1_run.data_root.parent)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(produced, copy)
        saved[copy] = copy.read_bytes()
    return saved


def assert_untouched(saved: dict[Path, bytes]) -> None:
    for path, content in saved.items():
        assert path.read_bytes() == content, f"a failed run changed the earlier {path.name}"


def assert_one_line_error(completed: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert completed.returncode != 0, "train.py exited 0 on bad input"
    assert "Traceback" not in completed.stderr, f"a traceback instead of a message:\n{completed.stderr}"
    lines = stderr_lines(completed)
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{completed.stderr}"
    for text in expected:
        assert text in lines[0], f"the error does not mention {text!r}: {lines[0]}"
    return lines[0]


def test_missing_raw_file_fails_with_one_line(tmp_path: Path, previous_outputs: dict[Path, bytes]) -> None:
    # given: a working directory with earlier outputs but no raw file
    assert not (tmp_path / "data" / RAW_RELATIVE).exists()

    # when
    completed = run_level1(tmp_path)

    # then
    assert_one_line_error(completed, RAW_SHOWN, "make data")
    assert_untouched(previous_outputs)


def test_missing_columns_are_all_listed(
    tmp_path: Path, raw_frame: pd.DataFrame, previous_outputs: dict[Path, bytes]
) -> None:
    write_raw(raw_frame.drop(columns=["tenure", "contract"]), tmp_path / "data")

    completed = run_level1(tmp_path)

    assert_one_line_error(completed, "tenure", "contract")
    assert_untouched(previous_outputs)


def test_missing_id_column_fails_with_one_line(tmp_path: Path, raw_frame: pd.DataFrame) -> None:
    write_raw(raw_frame.drop(columns=["customer_id"]), tmp_path / "data")

    completed = run_level1(tmp_path)

    assert_one_line_error(completed, "customer_id")


def test_unknown_category_at_predict_time_still_trains(
    tmp_path: Path, raw_frame: pd.DataFrame, level1_run: LevelRun
) -> None:
    # given: a contract value never seen in training, on a few rows of the test split (the split depends only on
    # the row order and the target, so these rows stay in the test split)
    test_ids = level1_run.predictions()["customer_id"].head(5)
    raw = raw_frame.copy()
    raw.loc[raw["customer_id"].isin(test_ids), "contract"] = "Three year"
    write_raw(raw, tmp_path / "data")

    # when
    completed = run_level1(tmp_path)

    # then
    assert completed.returncode == 0, f"an unknown category broke training:\n{completed.stderr}"
    predictions = pd.read_csv(tmp_path / "data" / "07_model_output" / "level1" / "test_predictions.csv")
    scored = predictions[predictions["customer_id"].isin(test_ids)]
    assert len(scored) == len(test_ids), "rows with the unknown category were not scored"
    assert scored["churn_probability"].between(0, 1).all(), "unknown category did not give probabilities"
