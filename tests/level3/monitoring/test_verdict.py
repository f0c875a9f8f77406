"""The alert rule (pure): no verdict below the minimum window, hysteresis on drift, realized performance."""

from __future__ import annotations

import pandas as pd

from level3_system.decision.policy import Economics, OfferPolicy
from level3_system.monitoring.drift import ColumnDrift, DriftResult
from level3_system.monitoring.verdict import judge, realized_performance, realized_value
from level3_system.settings import DecisionSettings, MonitoringSettings

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
    assert verdict.alert and "realized ROC AUC 0.0000 on 6 labelled rows" in verdict.reasons[-2], verdict.reasons


def test_too_few_outcomes_give_no_realized_performance() -> None:
    window = pd.DataFrame({"probability": [0.9, 0.1, 0.5], "positive": [1, 0, None]})

    assert realized_performance(window, min_labeled=4) is None


# --- realized value: the version's offers, valued under its economics ---------------------------------------

OFFERS = OfferPolicy("expected_value", 0.5, Economics.of(DecisionSettings()))  # an offer saves 250, costs 50
DECISION = {"value_per_1000": {"model": 30_000.0}, "interval_95": {"model": [25_000.0, 35_000.0]}}


def test_realized_value_is_what_the_offers_earned_per_1000() -> None:
    # Offers to rows 0-3 (p ≥ 0.5): two churned (+200 each), two stayed (−50 each); rows 4-5 get none.
    window = pd.DataFrame({"probability": [0.9, 0.8, 0.7, 0.6, 0.2, 0.1], "positive": [1, 1, 0, 0, 1, None]})

    value = realized_value(window, OFFERS, DECISION, min_labeled=4)

    assert value is not None and value["n"] == 5
    assert value["value_per_1000"] == 300 / 5 * 1000  # (200 + 200 − 50 − 50) over 5 labelled rows
    assert value["offer_all_per_1000"] == (3 * 200 - 2 * 50) / 5 * 1000
    assert value["offers_per_1000"] == 800.0 and value["threshold"] == 0.5
    assert (value["holdout_value_per_1000"], value["holdout_interval_95"]) == (30_000.0, [25_000.0, 35_000.0])
    assert realized_value(window, OFFERS, DECISION, min_labeled=6) is None


def test_value_below_the_holdouts_interval_alerts_within_it_does_not() -> None:
    # Offers to customers who all stay: every offer is lost money.
    wasted = pd.DataFrame({"probability": [0.9, 0.8, 0.7, 0.6], "positive": [0, 0, 0, 0]})
    # One churner saved (+200) and one wasted offer (−50) per five customers: 30,000 per 1,000.
    earning = pd.DataFrame({"probability": [0.9, 0.8, 0.2, 0.1, 0.3] * 2, "positive": [1, 0, 0, 0, 0] * 2})

    low = judge(_drift(0), None, HOLDOUT, [], RULES, 2000, realized_value(wasted, OFFERS, DECISION, 4))
    fine = judge(_drift(0), None, HOLDOUT, [], RULES, 2000, realized_value(earning, OFFERS, DECISION, 4))

    assert low.alert and low.reasons[-1].startswith("realized net value -50,000 per 1,000 on 4 labelled rows")
    assert "below the holdout's 30,000 [25,000, 35,000]: alert" in low.reasons[-1]
    assert not fine.alert and "within the holdout's" in fine.reasons[-1], fine.reasons
