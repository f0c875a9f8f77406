"""What `make init` infers on a small table with known gaps, and that the written conf/ keeps its own promises.

`customers()` has a gap explained by a number (`usage` where `tenure == 0`), one explained by a text column,
and random gaps in a number and a category: each must become the nullability and the fill rule the contract
accepts, and the raw rows and the cleaned table must pass the contract's own row checks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml
from init_support import customers

from level2_pipeline.config import conf_root, load_contract_and_clean
from level2_pipeline.pipelines.data_processing.nodes import build_features, clean
from level3_system.init.infer import infer, round_out
from level3_system.init.write import scalar
from level3_system.settings import Level3Settings
from level3_system.validation.checks import model_input_checks
from level3_system.validation.rows import contract_checks, row_reasons


@pytest.fixture
def written(env_name: str, settings: Level3Settings, write_csv: Callable[..., Path]) -> tuple[str, pd.DataFrame]:
    from level3_system.init.command import init

    frame = customers()
    assert init(settings, str(write_csv(frame)), "churn", env=env_name) == 0
    return env_name, frame


def test_gaps_become_nullability_and_fill_rules(written: tuple[str, pd.DataFrame]) -> None:
    env, frame = written
    contract, rules = load_contract_and_clean(env)
    columns = contract.columns

    assert (columns["usage"].nullable_when, columns["usage"].nullable) == ("tenure == 0", False)
    assert (columns["discount"].nullable, columns["discount"].nullable_when) == (True, None), (
        "a text condition cannot be a nullable_when (the row checks compare numbers)"
    )
    assert columns["age"].nullable and columns["region"].nullable and "missing" in (columns["region"].categories or [])
    assert rules.fill_missing == {"usage": 0.0, "discount": 0.0, "age": frame["age"].median(), "region": "missing"}


def test_base_rules_are_dropped_by_null(written: tuple[str, pd.DataFrame]) -> None:
    """Environments merge key by key: conf/base's Telco rule is written as null, and null drops it."""
    env, _ = written
    raw = yaml.safe_load((conf_root() / env / "parameters_data_processing.yml").read_text())

    assert raw["clean"]["fill_missing"]["total_charges"] is None
    assert "total_charges" not in load_contract_and_clean(env)[1].fill_missing


def test_the_data_keeps_the_inferred_contract_before_and_after_cleaning(written: tuple[str, pd.DataFrame]) -> None:
    env, frame = written
    contract, rules = load_contract_and_clean(env)

    raw_reasons = row_reasons(frame, contract_checks(contract, with_target=True))
    table = build_features(clean(frame, contract, rules), contract)
    table_reasons = row_reasons(table, model_input_checks(contract))

    assert (raw_reasons == "").all(), f"raw rows break the inferred contract: {raw_reasons[raw_reasons != ''][:3]}"
    assert (table_reasons == "").all(), f"cleaned rows break it: {table_reasons[table_reasons != ''][:3]}"


def test_examples_come_from_one_complete_row() -> None:
    frame = customers()
    inference = infer(frame, "churn", name="examples")
    features = [c for c in frame.columns if c not in ("customer_id", "churn")]
    row = frame[features].dropna().iloc[0]

    assert {c: inference.contract["columns"][c]["example"] for c in features} == row.to_dict()


def test_one_gap_is_counted_as_one() -> None:
    frame = customers()
    frame.loc[frame["age"].isna(), "age"] = frame["age"].median()
    frame.loc[5, "age"] = None
    inference = infer(frame, "churn", name="one gap")

    assert inference.fill["age"].why.startswith("1 gap no other column explains"), inference.fill["age"].why
    assert any(line.startswith("age:") and "; 1 gap, filled with" in line for line in inference.described)


@pytest.mark.parametrize(
    ("value", "up", "rounded"), [(364.5, True, 370), (0.0707, False, 0.07), (-12.3, False, -13), (8684.8, True, 8700)]
)
def test_bounds_round_outwards_to_two_significant_digits(value: float, up: bool, rounded: float) -> None:
    assert round_out(value, up=up) == rounded


@pytest.mark.parametrize("value", ["yes", "No", "1", "null", "Bank transfer (automatic)", "a: b", "x, y", "", 1e-05])
def test_yaml_scalars_read_back_as_written(value: object) -> None:
    assert yaml.safe_load(f"key: {scalar(value)}")["key"] == value
    assert yaml.safe_load(f"key: [{scalar(value)}]")["key"] == [value]
