"""The retention decision (level3_system/decision/policy.py, training/decision_report.py): known cases by hand,
then the real Telco model under three economies: the threshold moves the way the money says, and the model's
policy beats offering to everyone and to no one each time."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import LevelRun

from level2_pipeline.errors import ConfigError
from level3_system.decision.policy import Economics, OfferPolicy, choose_threshold, value_per_1000, within_budget
from level3_system.settings import DecisionSettings, load_settings
from level3_system.training.decision_report import decision_report, out_of_fold

BASE = DecisionSettings()  # cost 50, loss 500, success 0.5: break-even 0.2
CHEAP = DecisionSettings(offer_cost=20, churn_loss=900, offer_success_rate=0.35)
DEAR = DecisionSettings(offer_cost=150, churn_loss=400, offer_success_rate=0.6)


def three_groups() -> tuple[np.ndarray, np.ndarray]:
    """100 customers each at p 0.1, 0.3, 0.6 whose churn rates are exactly those."""
    p = np.repeat([0.1, 0.3, 0.6], 100)
    y = np.concatenate([(np.arange(100) < k).astype(int) for k in (10, 30, 60)])
    return y, p


def test_the_threshold_earns_the_most_on_a_known_case() -> None:
    # An offer is worth rate × 0.5 × 500 − 50 per customer: −25, +25, +100 for the three groups. Best: offer to
    # the 0.3 and 0.6 groups, not the 0.1 group; per 1,000 customers (2,500 + 10,000) / 300 × 1,000.
    y, p = three_groups()

    threshold = choose_threshold(y, p, BASE)

    assert threshold == pytest.approx(0.11)  # the lowest of the thresholds that earn the most
    assert value_per_1000(y, p >= threshold, Economics.of(BASE)) == pytest.approx(12_500 / 300 * 1000)
    assert value_per_1000(y, p >= 0.99, Economics.of(BASE)) == 0.0  # offering to no one earns nothing
    assert Economics.of(BASE).break_even == pytest.approx(0.2)
    assert Economics.of(BASE).expected_value(0.3) == pytest.approx(25.0)


def test_dearer_offers_raise_the_threshold_and_cheaper_ones_lower_it() -> None:
    y, p = three_groups()
    dear = DecisionSettings(offer_cost=100)  # the 0.3 group is now worth −25
    cheap = DecisionSettings(offer_cost=10)  # the 0.1 group is now worth +15

    assert 0.3 < choose_threshold(y, p, dear) <= 0.6
    assert choose_threshold(y, p, cheap) == pytest.approx(0.01)


def test_a_fixed_policy_offers_at_its_threshold_and_needs_one() -> None:
    y, p = three_groups()
    assert choose_threshold(y, p, DecisionSettings(policy="fixed", threshold=0.45)) == 0.45

    with pytest.raises(ConfigError, match=r"level3\.decision\.threshold: .*policy fixed needs a threshold") as error:
        load_settings(decision={"policy": "fixed"})
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ({"offer_cost": -1}, "offer_cost"),
        ({"offer_success_rate": 1.5}, "offer_success_rate"),
        ({"polcy": "x"}, "polcy"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_key(override: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"level3\.decision\.{key}") as error:
        load_settings(decision=override)
    assert "\n" not in str(error.value)


def test_the_old_model_card_keys_say_where_they_moved() -> None:
    with pytest.raises(ConfigError, match=r"retention_offer_cost → level3\.decision\.offer_cost"):
        load_settings(model_card={"retention_offer_cost": 20})


def test_a_budget_keeps_the_highest_expected_values_and_never_more() -> None:
    expected = np.array([5.0, 9.0, 1.0, 9.0, 7.0, -3.0])
    offered = np.array([True, True, True, True, True, False])

    kept = within_budget(expected, offered, 3)

    assert kept.tolist() == [False, True, False, True, True, False]
    assert within_budget(expected, offered, 2).tolist() == [False, True, False, True, False, False]  # tie: row order
    assert within_budget(expected, offered, 1).tolist() == [False, True, False, False, False, False]
    assert within_budget(expected, offered, 10).tolist() == offered.tolist()  # under budget: unchanged
    assert within_budget(expected, offered, None).tolist() == offered.tolist()
    assert not within_budget(expected, offered, 0).any()


def test_a_policy_round_trips_as_a_version_stores_it() -> None:
    policy = OfferPolicy("expected_value", 0.18, Economics.of(BASE))
    assert OfferPolicy.from_dict(policy.to_dict()) == policy
    assert policy.to_dict()["break_even"] == pytest.approx(0.2)
    assert policy.offer(np.array([0.17, 0.18, 0.5])).tolist() == [False, True, True]


# --- the real model under three economies ------------------------------------------------------------------


def _unpickled(path: Path) -> object:
    """A pickle, or the newest version of a Kedro versioned one (a folder of timestamped versions)."""
    if path.is_dir():
        path = sorted(p for p in path.rglob("*") if p.is_file())[-1]
    return pickle.loads(path.read_bytes())


def _read(root: Path, name: str) -> object:
    return _unpickled(root / "05_model_input" / "level2" / f"{name}.pkl")


@pytest.fixture(scope="module")
def real(level2_run: LevelRun) -> dict[str, object]:
    """Level 2's model and split on the real data, the holdout's probabilities and the training rows' out of fold."""
    root = level2_run.data_root
    model = _unpickled(level2_run.model_path)
    x_train, y_train = _read(root, "X_train"), _read(root, "y_train")
    x_test, y_test = _read(root, "X_test"), _read(root, "y_test")
    assert isinstance(x_train, pd.DataFrame) and isinstance(x_test, pd.DataFrame)
    return {
        "y_train": y_train,
        "y_test": y_test,
        "p_test": model.predict_proba(x_test)[:, 1],
        "p_oof": out_of_fold(model, x_train, y_train, 5),
    }


def _report(real: dict[str, object], settings: DecisionSettings) -> dict:
    return decision_report(
        real["y_test"], real["p_test"], settings, y_train=real["y_train"], p_out_of_fold=real["p_oof"], resamples=300
    )


def test_on_real_customers_the_policy_beats_offering_to_all_and_to_none(real: dict[str, object]) -> None:
    report = _report(real, BASE)

    value, interval = report["value_per_1000"], report["interval_95"]
    assert {"policy", "threshold", "value_per_1000", "interval_95"} <= set(report)
    assert set(value) == {"model", "offer_all", "offer_none", "random"}
    assert value["model"] > value["offer_all"] and value["model"] > value["offer_none"] == 0
    assert value["model"] > value["random"]
    assert interval["model_minus_offer_all"][0] > 0, "the gain over offering to everyone must be sure, not luck"
    assert interval["model"][0] <= value["model"] <= interval["model"][1]
    # The holdout's rows decided nothing: the chosen threshold is the out-of-fold curve's best.
    curve = report["curve"]
    assert report["threshold"] == curve["threshold"][int(np.argmax(curve["training_out_of_fold"]))]
    assert abs(report["threshold"] - report["break_even"]) < 0.1, "a calibrated model chooses near break-even"
    p_test = np.asarray(real["p_test"])
    assert report["offers_per_1000"] == pytest.approx((p_test >= report["threshold"]).mean() * 1000, abs=0.05)


def test_cheaper_offers_lower_the_threshold_dearer_ones_raise_it_each_beating_both_baselines(
    real: dict[str, object],
) -> None:
    base, cheap, dear = (_report(real, s) for s in (BASE, CHEAP, DEAR))

    assert cheap["threshold"] < base["threshold"] < dear["threshold"]
    assert cheap["offers_per_1000"] > base["offers_per_1000"] > dear["offers_per_1000"]
    for report in (cheap, dear):
        value = report["value_per_1000"]
        assert value["model"] > value["offer_all"], report
        assert value["model"] > value["offer_none"], report
