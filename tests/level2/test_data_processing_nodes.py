"""Unit tests of the data_processing nodes (`clean`, `build_features`) on tiny inline frames."""

from __future__ import annotations

import pandas as pd
import pytest

from level2_pipeline.contract import DataContract, DataContractError
from level2_pipeline.params import CleanParams
from level2_pipeline.pipelines.data_processing.nodes import build_features, clean

FILL_ZERO = CleanParams(fill_missing={"total_charges": 0.0})


# --- clean ---------------------------------------------------------------------------------------------------


def test_clean_fills_total_charges_of_new_customers(tiny_raw: pd.DataFrame, tiny_contract: DataContract) -> None:
    # given: a tenure-0 customer without total_charges
    new_customer = tiny_raw["tenure"] == 0
    assert tiny_raw.loc[new_customer, "total_charges"].isna().all()

    # when
    cleaned = clean(tiny_raw, tiny_contract, FILL_ZERO)

    # then
    assert cleaned.loc[new_customer, "total_charges"].tolist() == [0.0], "the tenure-0 total was not filled"
    pd.testing.assert_series_equal(
        cleaned.loc[~new_customer, "total_charges"], tiny_raw.loc[~new_customer, "total_charges"]
    )


def test_clean_fill_value_comes_from_params(tiny_raw: pd.DataFrame, tiny_contract: DataContract) -> None:
    cleaned = clean(tiny_raw, tiny_contract, CleanParams(fill_missing={"total_charges": -1.0}))

    assert cleaned.loc[tiny_raw["tenure"] == 0, "total_charges"].tolist() == [-1.0], "fill value is not the param's"


def test_clean_without_fill_rules_leaves_gaps(tiny_raw: pd.DataFrame, tiny_contract: DataContract) -> None:
    cleaned = clean(tiny_raw, tiny_contract, CleanParams())

    assert cleaned["total_charges"].isna().sum() == 1, "clean filled a gap no rule asked for"


def test_clean_does_not_mutate_its_input(tiny_raw: pd.DataFrame, tiny_contract: DataContract) -> None:
    before = tiny_raw.copy(deep=True)

    clean(tiny_raw, tiny_contract, FILL_ZERO)

    pd.testing.assert_frame_equal(tiny_raw, before, obj="clean's input")


def test_clean_lists_every_missing_column_at_once(tiny_raw: pd.DataFrame, tiny_contract: DataContract) -> None:
    raw = tiny_raw.drop(columns=["tenure", "contract", "churn"])

    with pytest.raises(DataContractError) as caught:
        clean(raw, tiny_contract, FILL_ZERO)

    message = str(caught.value)
    assert "\n" not in message, f"the error is not one line: {message!r}"
    for column in ("tenure", "contract", "churn"):
        assert column in message, f"missing column {column!r} not named in: {message}"


def test_clean_rejects_a_raw_file_without_the_id_column(tiny_raw: pd.DataFrame, tiny_contract: DataContract) -> None:
    with pytest.raises(DataContractError, match="customer_id"):
        clean(tiny_raw.drop(columns=["customer_id"]), tiny_contract, FILL_ZERO)


# --- build_features ------------------------------------------------------------------------------------------


def test_build_features_keeps_id_and_contract_features_in_order(
    tiny_raw: pd.DataFrame, tiny_contract: DataContract
) -> None:
    # given: cleaned data with a column the contract does not know (region)
    cleaned = clean(tiny_raw, tiny_contract, FILL_ZERO)

    # when
    table = build_features(cleaned, tiny_contract)

    # then
    expected = [tiny_contract.id_column, *tiny_contract.features, tiny_contract.target]
    assert list(table.columns) == expected, "not id + contract features (contract order) + target"
    assert "region" not in table.columns


def test_build_features_encodes_the_target_as_int_0_1(tiny_raw: pd.DataFrame, tiny_contract: DataContract) -> None:
    table = build_features(clean(tiny_raw, tiny_contract, FILL_ZERO), tiny_contract)

    target = table[tiny_contract.target]
    assert target.dtype == "int64", f"target dtype is {target.dtype}, not int64"
    expected = (tiny_raw[tiny_contract.target] == tiny_contract.positive_class).astype("int64")
    assert target.tolist() == expected.tolist() == [1, 0, 0], "positive class is not 1, others not 0"


def test_build_features_does_not_mutate_its_input(tiny_raw: pd.DataFrame, tiny_contract: DataContract) -> None:
    cleaned = clean(tiny_raw, tiny_contract, FILL_ZERO)
    before = cleaned.copy(deep=True)

    build_features(cleaned, tiny_contract)

    pd.testing.assert_frame_equal(cleaned, before, obj="build_features' input")


def test_build_features_without_target_column_fails(tiny_raw: pd.DataFrame, tiny_contract: DataContract) -> None:
    with pytest.raises(KeyError, match="churn"):
        build_features(tiny_raw.drop(columns=["churn"]), tiny_contract)
