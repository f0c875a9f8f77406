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
        "MODEL_FAMILY": science["model"]["family"],
        "C": science["model"]["C"],
        "MAX_ITER": science["model"]["max_iter"],
        **{f"TREE_{key.upper()}": value for key, value in science["model"]["trees"].items()},
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


@pytest.mark.slow
@pytest.mark.parametrize("family", ["hist_gradient_boosting", "lightgbm"])
def test_switching_the_model_family_keeps_the_levels_equal(
    family: str, raw_csv: Path, tmp_path: Path, level1_constants: dict[str, Any]
) -> None:
    """The switch a team makes after `make experiment`: the family in conf/ and level 1's MODEL_FAMILY, changed
    together. Both levels then train the same trees and score the holdout alike."""
    from support import place_raw, run_level1

    from level2_pipeline.runner import run

    assert level1_constants["MODEL_FAMILY"] in LEVEL1_SCRIPT.read_text(), "MODEL_FAMILY is not where expected"
    script = tmp_path / "level1" / "level1_code" / "train.py"
    script.parent.mkdir(parents=True)
    default = f'MODEL_FAMILY = "{level1_constants["MODEL_FAMILY"]}"'
    script.write_text(LEVEL1_SCRIPT.read_text().replace(default, f'MODEL_FAMILY = "{family}"', 1))
    place_raw(raw_csv, tmp_path / "level1" / "data")
    completed = run_level1(tmp_path / "level1", script)
    assert completed.returncode == 0, completed.stderr[-2000:]
    level2 = tmp_path / "level2"
    place_raw(raw_csv, level2)
    outputs = run(["data_processing", "data_science"], data_dir=level2, runtime_params={"model": {"family": family}})
    import json

    ours = json.loads((tmp_path / "level1" / "data" / "08_reporting" / "level1" / "metrics.json").read_text())
    theirs = outputs.load("metrics")
    differ = {k: (ours[k], theirs[k]) for k in ours if abs(ours[k] - theirs[k]) > TOLERANCE}
    assert not differ, f"{family}: level 1 and level 2 differ: {differ}"
    assert 0.80 < theirs["roc_auc"] < 0.90, theirs
