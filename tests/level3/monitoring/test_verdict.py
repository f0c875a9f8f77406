"""The alert rule (pure): no verdict below the minimum window, hysteresis on drift, realized performance."""

from __future__ import annotations

import pandas as pd

from level3_system.monitoring.drift import ColumnDrift, DriftResult
from level3_system.monitoring.verdict import judge, realized_performance
from level3_system.settings import MonitoringSettings

RULES = MonitoringSettings(consecutive_windows=2, max_roc_auc_drop=0.05, min_labeled=4)
HOLDOUT = {"roc_auc": 0.84}


def _drift(drifted: int, of: int = 10) -> DriftResult:
    features = {f"f{i}": ColumnDrift("wasserstein", 0.5 if i < drifted else 0.01, i < drifted) for i in range(of)}
    share = drifted / of
    return DriftResult(features, ColumnDrift("wasserstein", 0.02, False), share, share >= RULES.drift_share)


def test_below_the_minimum_window_there_is_no_verdict() -> None:
    verdict = judge(None, None, HOLDOUT, [], RULES, n_rows=12)

    assert not verdict.alert
    assert verdict.reasons == [f"not enough data: 12 rows in the window, {RULES.min_rows} needed: no verdict"]


def test_one_drifted_window_is_a_finding_two_in_a_row_an_alert() -> None:
    first = judge(_drift(5), None, HOLDOUT, [], RULES, 2000)
    second = judge(_drift(5), None, HOLDOUT, [{"dataset_drift": True}], RULES, 2000)
    after_a_calm_one = judge(_drift(5), None, HOLDOUT, [{"dataset_drift": False}, {"dataset_drift": True}], RULES, 2000)

    assert not first.alert and "an alert needs 2" in " ".join(first.reasons), first.reasons
    assert second.alert and second.consecutive_drifted == 2, second.reasons
    assert not after_a_calm_one.alert, "a calm window in between must reset the count"
    assert "f0, f1, f2, f3, f4" in first.reasons[0], "the drifted features are named"


def test_no_dataset_drift_below_the_share() -> None:
    verdict = judge(_drift(2), None, HOLDOUT, [{"dataset_drift": True}], RULES, 2000)

    assert not verdict.alert and verdict.reasons[0].startswith("no dataset drift: 2 of 10 features drifted")


def test_a_realized_roc_auc_well_below_the_holdout_alerts() -> None:
    window = pd.DataFrame({"probability": [0.9, 0.8, 0.2, 0.1, 0.7, 0.3], "positive": [0, 0, 1, 1, 0, 1]})
    performance = realized_performance(window, RULES.min_labeled)

    verdict = judge(_drift(0), performance, HOLDOUT, [], RULES, 2000)

    assert performance is not None and performance["roc_auc"] == 0.0 and performance["n"] == 6
    assert verdict.alert and "realized ROC AUC 0.0000 on 6 labelled rows" in verdict.reasons[-1], verdict.reasons


def test_too_few_outcomes_give_no_realized_performance() -> None:
    window = pd.DataFrame({"probability": [0.9, 0.1, 0.5], "positive": [1, 0, None]})

    assert realized_performance(window, min_labeled=4) is None
