"""Corrupted data stops the flow before training: no model, no MLflow run, no new version, champion unchanged.

Each case writes a corrupted raw file into a fresh data root (no .meta.json record: level 3 ingests non-strictly
and lets the gate decide) and runs the flow against the store of `first_run`, which holds a champion.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from corruptions import Corruption, by_name
from level3_support import FlowRun, make_settings
from support import RAW_RELATIVE

pytestmark = pytest.mark.slow

CASES = by_name(
    "missing_column",
    "tenure_as_text",
    "unknown_category",
    "negative_monthly_charges",
    "empty_file",
    "duplicated_customers",
    "all_one_class",
    "rare_churn",  # passes the raw gate; the model input gate stops it
)


@pytest.mark.parametrize("corruption", CASES, ids=lambda c: c.name)
def test_corrupted_data_stops_before_training(
    corruption: Corruption,
    first_run: FlowRun,
    raw_frame: pd.DataFrame,
    tmp_path: Path,
    run_flow: Callable[..., FlowRun],
) -> None:
    store = first_run.store
    before = (store.versions(), store.aliases(), store.run_ids())
    assert "champion" in before[1], "the store should hold a champion before the corrupted run"
    root = tmp_path / "data"
    corruption.write(raw_frame, root / RAW_RELATIVE)

    run = run_flow(make_settings(root, store), store)

    assert run.state.is_failed(), f"{corruption.name}: the flow did not fail: {run.describe()}"
    assert run.summary.status == "stopped", run.describe()
    assert corruption.failure in run.message, f"{corruption.name}: message does not name {corruption.failure!r}"
    gates = [(report["gate"], report["success"]) for report in run.summary.validation]
    assert gates[-1] == (corruption.gate, False), f"{corruption.name}: expected the {corruption.gate} gate to stop it"
    assert store.versions() == before[0], "a model version was registered from corrupted data"
    assert store.aliases() == before[1], "the registry's aliases changed"
    assert store.run_ids() == before[2], "an MLflow run was logged for corrupted data"
    assert not (root / "06_models" / "level3").exists(), "a level-3 model was trained on corrupted data"
    written = json.loads((root / "08_reporting" / "level3" / "train_summary.json").read_text())
    assert written["status"] == "stopped", "train_summary.json does not record the stop"
