"""The data contract turned into gate checks (validation/checks.py): plain data, no Great Expectations import."""

from __future__ import annotations

import pytest

from level2_pipeline.contract import DataContract
from level3_system.validation.checks import DTYPES, Check, model_input_checks, negate, raw_checks


def find(checks: list[Check], expectation: str, column: str | None = None) -> list[Check]:
    return [c for c in checks if c.expectation == expectation and c.kwargs.get("column") == column]


def one(checks: list[Check], expectation: str, column: str | None = None) -> Check:
    found = find(checks, expectation, column)
    assert len(found) == 1, f"expected one {expectation}({column or ''}), found {[c.label for c in found]}"
    return found[0]


# --- raw gate -----------------------------------------------------------------------------------------------


def test_raw_checks_cover_every_contract_column(contract: DataContract) -> None:
    checks = raw_checks(contract)

    for name, column in contract.columns.items():
        one(checks, "ExpectColumnToExist", name)
        typed = one(checks, "ExpectColumnValuesToBeInTypeList", name)
        assert typed.kwargs["type_list"] == DTYPES[column.dtype], f"{name}: wrong accepted dtypes"
        if column.categories is not None:
            allowed = one(checks, "ExpectColumnValuesToBeInSet", name).kwargs["value_set"]
            assert allowed == column.categories, f"{name}: allowed values differ from the contract"
        if column.min is not None or column.max is not None:
            bounds = one(checks, "ExpectColumnValuesToBeBetween", name).kwargs
            assert (bounds["min_value"], bounds["max_value"]) == (column.min, column.max), f"{name}: range differs"


def test_raw_checks_require_values_except_the_known_gap(contract: DataContract) -> None:
    checks = raw_checks(contract)

    gap = one(checks, "ExpectColumnValuesToNotBeNull", "total_charges")
    assert gap.where == ("tenure", "!=", 0), "total_charges must be required exactly where tenure != 0"
    assert gap.label == "ExpectColumnValuesToNotBeNull(total_charges) where tenure != 0"
    for name in contract.columns:
        if name != "total_charges":
            required = one(checks, "ExpectColumnValuesToNotBeNull", name)
            assert required.where is None, f"{name} may be null in some rows, but the contract says never"


def test_raw_checks_guard_the_table(contract: DataContract) -> None:
    checks = raw_checks(contract)

    rows = one(checks, "ExpectTableRowCountToBeBetween").kwargs
    assert (rows["min_value"], rows["max_value"]) == (1000, 1_000_000), "row-count bounds differ from the contract"
    one(checks, "ExpectColumnValuesToBeUnique", "customer_id")
    classes = one(checks, "ExpectColumnDistinctValuesToEqualSet", "churn").kwargs["value_set"]
    assert classes == ["No", "Yes"], "the raw gate must require both target classes"


# --- model input gate ----------------------------------------------------------------------------------------


def test_model_input_checks_expect_exactly_the_model_columns(contract: DataContract) -> None:
    checks = model_input_checks(contract)

    columns = one(checks, "ExpectTableColumnsToMatchSet").kwargs
    assert columns == {"column_set": ["customer_id", *contract.features, "churn"], "exact_match": True}
    rows = one(checks, "ExpectTableRowCountToBeBetween").kwargs
    assert (rows["min_value"], rows["max_value"]) == (1000, 1_000_000)
    one(checks, "ExpectColumnValuesToBeUnique", "customer_id")


def test_model_input_checks_allow_no_nulls_after_cleaning(contract: DataContract) -> None:
    checks = model_input_checks(contract)

    conditional = [c.label for c in checks if c.where is not None]
    assert not conditional, f"the model input table must be complete, yet some checks are conditional: {conditional}"
    for name in ["customer_id", *contract.features, "churn"]:
        one(checks, "ExpectColumnValuesToNotBeNull", name)


def test_model_input_checks_bound_the_positive_rate(contract: DataContract) -> None:
    checks = model_input_checks(contract)

    assert one(checks, "ExpectColumnValuesToBeInSet", "churn").kwargs["value_set"] == [0, 1]
    assert one(checks, "ExpectColumnValuesToBeInTypeList", "churn").kwargs["type_list"] == DTYPES["int"]
    rate = one(checks, "ExpectColumnMeanToBeBetween", "churn").kwargs
    assert (rate["min_value"], rate["max_value"]) == (0.05, 0.60), "positive-rate bounds differ from the contract"


# --- the contract is the only source -------------------------------------------------------------------------


def test_a_column_added_to_the_contract_gets_its_checks(contract: DataContract) -> None:
    columns = {
        **contract.model_dump()["columns"],
        "region": {"role": "categorical", "dtype": "str", "categories": ["north", "south"]},
    }
    extended = DataContract.model_validate({**contract.model_dump(), "columns": columns})

    raw = raw_checks(extended)
    model_input = model_input_checks(extended)

    assert one(raw, "ExpectColumnValuesToBeInSet", "region").kwargs["value_set"] == ["north", "south"]
    assert "region" in one(model_input, "ExpectTableColumnsToMatchSet").kwargs["column_set"]


def test_a_nullable_column_gets_no_null_check(contract: DataContract) -> None:
    columns = {**contract.model_dump()["columns"], "notes": {"role": "numeric", "dtype": "float", "nullable": True}}
    extended = DataContract.model_validate({**contract.model_dump(), "columns": columns})

    assert not find(raw_checks(extended), "ExpectColumnValuesToNotBeNull", "notes")


# --- conditions ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("tenure == 0", ("tenure", "!=", 0)),
        ("tenure==0", ("tenure", "!=", 0)),
        ("monthly_charges < 0.5", ("monthly_charges", ">=", 0.5)),
        ("tenure >= 12", ("tenure", "<", 12)),
        ("contract == 'Two year'", ("contract", "!=", "Two year")),
    ],
)
def test_negate_gives_the_rows_where_a_value_is_required(condition: str, expected: tuple) -> None:
    assert negate(condition) == expected


@pytest.mark.parametrize("condition", ["tenure is zero", "== 0", "tenure ~ 0", ""])
def test_negate_refuses_a_condition_it_cannot_parse(condition: str) -> None:
    with pytest.raises(ValueError, match="cannot parse condition"):
        negate(condition)
