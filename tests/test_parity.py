"""Cross-level parity: every level trains the same model on the same raw file, so results match to 1e-9.

The participants are `support.LEVEL_RUN_FIXTURES`: the first (level 1) is the reference, every other level is
compared with it. Level 3 joins by adding its session fixture's name to that list.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import CONF_BASE, LEVEL1_SCRIPT, LEVEL_RUN_FIXTURES, METRICS_CONTRACT, LevelRun

from level2_pipeline.contract import DataContract

TOLERANCE = 1e-9
REFERENCE, *COMPARED = LEVEL_RUN_FIXTURES


@pytest.fixture(scope="module")
def reference(request: pytest.FixtureRequest) -> LevelRun:
    return request.getfixturevalue(REFERENCE)


@pytest.fixture(params=COMPARED)
def level(request: pytest.FixtureRequest) -> LevelRun:
    return request.getfixturevalue(request.param)


@pytest.mark.slow
def test_levels_produce_the_same_metrics(reference: LevelRun, level: LevelRun) -> None:
    expected, actual = reference.metrics(), level.metrics()

    absent = [key for key in expected if key not in actual]
    assert not absent, f"{level.name} does not report {absent}, which {reference.name} does"
    assert set(METRICS_CONTRACT) <= set(expected), f"{reference.name} misses contract keys"
    differ = {key: (expected[key], actual[key]) for key in expected if abs(expected[key] - actual[key]) > TOLERANCE}
    assert not differ, f"{level.name} differs from {reference.name} ({reference.name}, {level.name}): {differ}"


@pytest.mark.slow
def test_levels_score_the_same_test_rows_alike(reference: LevelRun, level: LevelRun) -> None:
    expected, actual = reference.predictions(), level.predictions()
    for name, frame in ((reference.name, expected), (level.name, actual)):
        assert frame["customer_id"].is_unique, f"{name}: a customer appears twice in test_predictions.csv"

    both = expected.merge(actual, on="customer_id", how="outer", suffixes=("_ref", "_level"), indicator=True)

    unmatched = both.loc[both["_merge"] != "both", ["customer_id", "_merge"]]
    assert unmatched.empty, f"test splits differ ({reference.name}: left_only, {level.name}: right_only):\n{unmatched}"
    assert (both["y_true_ref"] == both["y_true_level"]).all(), "the same customer has two different labels"
    gap = (both["churn_probability_ref"] - both["churn_probability_level"]).abs()
    worst = both.loc[gap.idxmax(), "customer_id"]
    assert gap.max() <= TOLERANCE, f"{level.name} probability differs by {gap.max():.3g} (customer {worst})"


# --- level 1's constants are the configuration, written out --------------------------------------------------


def module_constants(script: Path) -> dict[str, Any]:
    """The module-level UPPER_CASE assignments of literals in `script`, read without running it."""
    constants = {}
    for statement in ast.parse(script.read_text()).body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name) and target.id.isupper():
                try:
                    constants[target.id] = ast.literal_eval(statement.value)
                except ValueError:  # a computed value such as `X = df.drop(...)`: not a constant
                    continue
    return constants


def conf_base(name: str) -> dict[str, Any]:
    return yaml.safe_load((CONF_BASE / name).read_text())


@pytest.fixture(scope="module")
def level1_constants() -> dict[str, Any]:
    return module_constants(LEVEL1_SCRIPT)


def test_level1_parameters_equal_conf(level1_constants: dict[str, Any]) -> None:
    science = conf_base("parameters_data_science.yml")
    processing = conf_base("parameters_data_processing.yml")
    expected = {
        "TEST_SIZE": science["split"]["test_size"],
        "RANDOM_STATE": science["split"]["random_state"],
        "C": science["model"]["C"],
        "MAX_ITER": science["model"]["max_iter"],
        "THRESHOLD": science["evaluate"]["threshold"],
        "FILL_MISSING": processing["clean"]["fill_missing"],
    }

    actual = {name: level1_constants.get(name, "<not defined>") for name in expected}

    assert actual == expected, "level1_code/train.py's constants drifted from conf/base/parameters_*.yml"
    # level 1 always stratifies its split (stratify=y): conf must say the same
    assert science["split"].get("stratify", True) is True, "conf turns stratification off; level 1 cannot follow"


def test_level1_columns_equal_the_data_contract(level1_constants: dict[str, Any]) -> None:
    contract = DataContract.model_validate(conf_base("data_contract.yml")["data_contract"])
    expected = {
        "NUMERIC_FEATURES": contract.numeric_features,
        "CATEGORICAL_FEATURES": contract.categorical_features,
        "TARGET": contract.target,
        "POSITIVE_CLASS": contract.positive_class,
        "ID_COLUMN": contract.id_column,
    }

    actual = {name: level1_constants.get(name, "<not defined>") for name in expected}

    for name in expected:
        assert actual[name] == expected[name], f"{name} in level 1 ≠ data contract (order matters): {actual[name]}"
