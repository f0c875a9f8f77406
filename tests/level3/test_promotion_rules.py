"""The promotion rule and the behaviour checks (level3_system.lifecycle.promotion) as plain functions: no store,
no server."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import yaml
from level3_support import RULES
from sklearn.pipeline import Pipeline
from support import CONF_BASE

from level2_pipeline.contract import DataContract
from level2_pipeline.params import ModelParams, SplitParams
from level2_pipeline.pipelines.data_science import nodes as science
from level3_system.lifecycle.promotion import (
    CheckResult,
    ValueComparison,
    behaviour_checks,
    decide,
    directional_check,
    invariance_check,
)
from level3_system.settings import InvarianceCheck, PromotionRules

PASSED = CheckResult("invariance(female)", True, "mean |Δp| 0.003")
FAILED = CheckResult("directional(contract)", False, "lowers p for 40.0%")


@dataclass(frozen=True)
class Holdout:
    model: Pipeline
    x_test: pd.DataFrame


@pytest.fixture(scope="module")
def holdout(model_input_table: pd.DataFrame, contract: DataContract) -> Holdout:
    """Level 2's model trained by its node functions with conf/base's parameters, and its holdout."""
    params = yaml.safe_load((CONF_BASE / "parameters_data_science.yml").read_text())
    x_train, x_test, y_train, _ = science.split(model_input_table, contract, SplitParams(**params["split"]))
    model = science.train(x_train, y_train, contract, ModelParams(**params["model"]))
    return Holdout(model, x_test)


class GenderSensitiveModel:
    """Scores churn from `female` alone: the dependence the invariance check exists to catch."""

    def predict_proba(self, data: pd.DataFrame) -> np.ndarray:
        probability = 0.2 + 0.5 * data["female"].to_numpy(dtype=float)
        return np.column_stack([1 - probability, probability])


# --- decide ----------------------------------------------------------------------------------------------


def test_first_model_above_the_floor_is_promoted() -> None:
    decision = decide(0.84, None, [PASSED], RULES)

    assert decision.promote, decision.text
    assert decision.text.startswith("promoted to champion")
    assert "no champion yet" in decision.reasons


@pytest.mark.parametrize(("auc", "promoted"), [(0.80, True), (0.7999, False)])
def test_floor_is_inclusive(auc: float, promoted: bool) -> None:
    decision = decide(auc, None, [], RULES)

    assert decision.promote is promoted, decision.text


def test_model_below_the_floor_stays_challenger() -> None:
    decision = decide(0.75, None, [PASSED], RULES)

    assert not decision.promote
    assert decision.text.startswith("stays challenger")
    assert "holdout ROC AUC 0.7500 < floor 0.8" in decision.reasons


def test_tolerance_boundary() -> None:
    """A challenger equal to the champion minus the tolerance is promoted; the next float below is not."""
    champion = 0.842
    bar = champion - RULES.champion_tolerance

    at_bar = decide(bar, champion, [PASSED], RULES, champion_version="3")
    below = decide(float(np.nextafter(bar, 0)), champion, [PASSED], RULES, champion_version="3")

    assert at_bar.promote, at_bar.text
    assert not below.promote, below.text
    assert any(reason.startswith("vs champion v3 ROC AUC 0.8420") for reason in below.reasons), below.reasons


def test_worse_than_champion_beyond_tolerance_stays_challenger() -> None:
    decision = decide(0.827, 0.842, [PASSED], RULES, champion_version="1")

    assert not decision.promote, decision.text


def test_failed_behaviour_check_blocks_promotion_whatever_the_score() -> None:
    decision = decide(0.95, 0.80, [PASSED, FAILED], RULES, champion_version="1")

    assert not decision.promote, decision.text
    assert str(FAILED) in decision.reasons
    assert str(FAILED) == "directional(contract) FAILED: lowers p for 40.0%"


def test_every_reason_is_kept() -> None:
    decision = decide(0.84, 0.83, [PASSED, FAILED], RULES, champion_version="2")

    assert len(decision.reasons) == 4, "floor, each check and the champion comparison: one reason each"
    assert decision.checks == [PASSED, FAILED]
    assert decision.champion_version == "2"


def test_a_challenger_losing_more_than_the_tolerance_in_money_stays_challenger() -> None:
    # Same ROC AUC; the champion earns 30,000 per 1,000 customers; the tolerance is 5 %: the bar is 28,500.
    at_bar = decide(0.84, 0.84, [PASSED], RULES, "1", value=ValueComparison(28_500, 30_000, 0.2))
    below = decide(0.84, 0.84, [PASSED], RULES, "1", value=ValueComparison(28_499, 30_000, 0.2))
    better = decide(0.84, 0.84, [PASSED], RULES, "1", value=ValueComparison(31_000, 30_000, 0.2))

    assert RULES.value_tolerance == 0.05
    assert at_bar.promote and better.promote
    assert not below.promote
    assert "net value per 1,000" in below.reasons[-1] and "28,499 < 28,500" in below.reasons[-1], below.reasons
    assert "its threshold 0.20" in below.reasons[-1]


# --- behaviour checks on level 2's model -------------------------------------------------------------------


def test_trained_model_passes_the_shipped_behaviour_checks(holdout: Holdout) -> None:
    checks = behaviour_checks(holdout.model, holdout.x_test, RULES)

    assert [c.name for c in checks] == ["invariance(female)", "directional(contract)"]
    assert all(c.passed for c in checks), [str(c) for c in checks]


def test_invariance_with_zero_tolerance_fails(holdout: Holdout) -> None:
    """The real model moves a little with `female`: a rule that allows no movement at all refuses it."""
    no_movement = InvarianceCheck(column="female", max_mean_delta=0, max_delta=0)

    check = invariance_check(holdout.model, holdout.x_test, no_movement)

    assert not check.passed, str(check)


def test_two_year_contract_lowers_risk(holdout: Holdout) -> None:
    assert RULES.directional is not None
    check = directional_check(holdout.model, holdout.x_test, RULES.directional)

    assert check.passed, str(check)
    assert "lowers p for 100.0%" in check.detail, "every customer should be less at risk on a two-year contract"


def test_model_that_uses_gender_fails_invariance(holdout: Holdout) -> None:
    assert RULES.invariance is not None
    check = invariance_check(GenderSensitiveModel(), holdout.x_test, RULES.invariance)

    assert not check.passed, str(check)
    assert "mean |Δp| 0.5000" in check.detail, check.detail


def test_model_that_ignores_the_contract_fails_directional(holdout: Holdout) -> None:
    assert RULES.directional is not None
    check = directional_check(GenderSensitiveModel(), holdout.x_test, RULES.directional)

    assert not check.passed, str(check)


def test_invariance_needs_two_values(holdout: Holdout) -> None:
    assert RULES.invariance is not None
    only_men = holdout.x_test.assign(female=0)

    check = invariance_check(holdout.model, only_men, RULES.invariance)

    assert not check.passed
    assert check.detail == "needs two values in the holdout"


def test_checks_leave_the_holdout_unchanged(holdout: Holdout) -> None:
    before = holdout.x_test.copy()

    behaviour_checks(holdout.model, holdout.x_test, RULES)

    pd.testing.assert_frame_equal(holdout.x_test, before, obj="holdout after the behaviour checks")


def test_no_rules_no_checks(holdout: Holdout) -> None:
    rules = PromotionRules(min_roc_auc=0.8, champion_tolerance=0.005)

    assert behaviour_checks(holdout.model, holdout.x_test, rules) == []
