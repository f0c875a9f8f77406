"""Drift against the version's reference, on real customers: the scenarios of conf/ move what they say they move,
a random sample of customers moves nothing, and the tests are the ones conf/ sets, per column type."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from level3_system.lifecycle.artifacts import PROBABILITY, reference_sample
from level3_system.monitoring.drift import column_kinds, compare
from level3_system.monitoring.traffic import draw
from level3_system.settings import load_settings

SETTINGS = load_settings()
SCENARIOS = SETTINGS.traffic.scenarios
RULES = SETTINGS.monitoring
WINDOW = 1500


@pytest.fixture(scope="module")
def reference(champion: Any) -> pd.DataFrame:
    outcome = champion.outcome
    return reference_sample(outcome.model, outcome.x_train, outcome.contract, RULES.reference_rows)


@pytest.fixture(scope="module")
def customers(raw_frame: pd.DataFrame) -> pd.DataFrame:
    return raw_frame.fillna({"total_charges": 0.0})


def _window(customers: pd.DataFrame, scenario: str, seed: int, champion: Any) -> pd.DataFrame:
    drawn = draw(customers, SCENARIOS[scenario], WINDOW, seed)[champion.contract.features]
    return drawn.assign(**{PROBABILITY: champion.outcome.model.predict_proba(drawn)[:, 1]})


def test_evidently_imports_with_the_locked_pandas() -> None:
    """The pandas cap of ADR 0006 holds: Evidently 0.7.23 cannot import on pandas 3.1."""
    import evidently

    assert evidently.__version__.startswith("0.7"), evidently.__version__


@pytest.mark.parametrize("seed", [1, *(pytest.param(seed, marks=pytest.mark.slow) for seed in (2, 3, 4))])
def test_a_random_sample_of_customers_does_not_drift(
    reference: pd.DataFrame, customers: pd.DataFrame, champion: Any, seed: int
) -> None:
    found = compare(reference, _window(customers, "baseline", seed, champion), champion.contract, RULES)

    assert not found.dataset_drift, f"false alarm (seed {seed}): {found.drifted_features}"
    assert not found.prediction.drifted, f"prediction drift on a random sample: {found.prediction}"


@pytest.mark.parametrize(
    ("scenario", "moved"),
    [
        pytest.param("fibre_month_to_month", {"contract", "internet_service", "monthly_charges"}, id="fibre"),
        pytest.param("price_rise", {"monthly_charges", "total_charges"}, id="price-rise"),
    ],
)
def test_a_shifted_population_drifts_and_names_what_moved(
    reference: pd.DataFrame, customers: pd.DataFrame, champion: Any, scenario: str, moved: set[str]
) -> None:
    found = compare(reference, _window(customers, scenario, 7, champion), champion.contract, RULES)

    assert found.dataset_drift, f"{scenario}: no dataset drift (share {found.drift_share:.2f})"
    assert moved <= set(found.drifted_features), f"{scenario}: {sorted(moved - set(found.drifted_features))} missed"


def test_each_column_is_judged_by_the_test_conf_sets_for_its_type(
    reference: pd.DataFrame, customers: pd.DataFrame, champion: Any
) -> None:
    found = compare(reference, _window(customers, "baseline", 1, champion), champion.contract, RULES)
    numeric, categorical = column_kinds(champion.contract, reference)

    assert "female" in categorical and "tenure" in numeric, "0/1 columns are categories, counts are numbers"
    assert {found.features[c].method for c in numeric} == {RULES.numeric.method}
    assert {found.features[c].method for c in categorical} == {RULES.categorical.method}
    assert found.prediction.method == RULES.prediction.method
