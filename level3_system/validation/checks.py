"""The data contract, turned into checks.

`conf/base/data_contract.yml` (parsed by level 2's `DataContract`) is the only description of the data. This
module derives from it the checks of the two validation gates, as plain data: expectation names of Great
Expectations 1.x and their arguments. Keeping the derivation tool-neutral makes it testable without importing
GX (4 s) and keeps `gx.py` a thin adapter. The serving schema is derived from the same contract.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import Any

from level2_pipeline.contract import Column, DataContract

# Accepted pandas dtype names per contract dtype. Ints are accepted for floats: a float column whose values
# happen to be whole numbers is read as int64 from CSV.
DTYPES: dict[str, list[str]] = {
    "int": ["int64", "int32", "int16", "int8", "Int64", "Int32"],
    "float": ["float64", "float32", "Float64", "int64", "int32", "Int64"],
    "str": ["object", "str", "string"],
}

# The comparison of a condition (`nullable_when: tenure == 0`), for the code that evaluates one in Python.
OPERATORS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_CONDITION = re.compile(r"^\s*(\w+)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$")
_NEGATED = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


@dataclass(frozen=True)
class Check:
    """One expectation: a GX expectation class name, its arguments, and an optional row condition."""

    expectation: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    # (column, operator, value): only rows matching it are checked.
    where: tuple[str, str, Any] | None = None

    @property
    def label(self) -> str:
        column = self.kwargs.get("column")
        where = f" where {' '.join(map(str, self.where))}" if self.where else ""
        return f"{self.expectation}({column or ''}){where}"


def negate(condition: str) -> tuple[str, str, Any]:
    """`tenure == 0` -> ("tenure", "!=", 0): the rows where a value is required."""
    match = _CONDITION.match(condition)
    if match is None:
        raise ValueError(f"cannot parse condition {condition!r}: use '<column> <op> <value>'")
    column, operator, raw_value = match.groups()
    try:
        value: Any = float(raw_value) if "." in raw_value else int(raw_value)
    except ValueError:
        value = raw_value.strip("'\"")
    return column, _NEGATED[operator], value


def _column_checks(name: str, column: Column, *, dtype: str, nullable: bool) -> list[Check]:
    checks = [
        Check("ExpectColumnToExist", {"column": name}),
        Check("ExpectColumnValuesToBeInTypeList", {"column": name, "type_list": DTYPES[dtype]}),
    ]
    if not nullable:
        checks.append(Check("ExpectColumnValuesToNotBeNull", {"column": name}))
    elif column.nullable_when:
        checks.append(Check("ExpectColumnValuesToNotBeNull", {"column": name}, where=negate(column.nullable_when)))
    if column.categories is not None:
        checks.append(Check("ExpectColumnValuesToBeInSet", {"column": name, "value_set": column.categories}))
    if column.min is not None or column.max is not None:
        checks.append(
            Check("ExpectColumnValuesToBeBetween", {"column": name, "min_value": column.min, "max_value": column.max})
        )
    if column.unique:
        checks.append(Check("ExpectColumnValuesToBeUnique", {"column": name}))
    return checks


def raw_checks(contract: DataContract) -> list[Check]:
    """The gate on the raw file: what the source must deliver, known gaps included."""
    checks = [
        Check(
            "ExpectTableRowCountToBeBetween", {"min_value": int(contract.rows.min), "max_value": int(contract.rows.max)}
        )
    ]
    for name, column in contract.columns.items():
        nullable = column.nullable or column.nullable_when is not None
        checks += _column_checks(name, column, dtype=column.dtype, nullable=nullable)
    target = contract.columns[contract.target]
    if target.categories is not None:
        # Both classes must be present: a one-class file cannot train a classifier.
        checks.append(
            Check("ExpectColumnDistinctValuesToEqualSet", {"column": contract.target, "value_set": target.categories})
        )
    return checks


def model_input_checks(contract: DataContract) -> list[Check]:
    """The gate on the model input table: exactly the expected columns, nothing missing after cleaning."""
    id_columns = [contract.id_column] if contract.id_column else []
    columns = [*id_columns, *contract.features, contract.target]
    checks = [
        Check(
            "ExpectTableRowCountToBeBetween", {"min_value": int(contract.rows.min), "max_value": int(contract.rows.max)}
        ),
        Check("ExpectTableColumnsToMatchSet", {"column_set": columns, "exact_match": True}),
    ]
    for name in columns:
        column = contract.columns[name]
        if name == contract.target:
            checks += [
                Check("ExpectColumnValuesToBeInTypeList", {"column": name, "type_list": DTYPES["int"]}),
                Check("ExpectColumnValuesToNotBeNull", {"column": name}),
                Check("ExpectColumnValuesToBeInSet", {"column": name, "value_set": [0, 1]}),
                Check(
                    "ExpectColumnMeanToBeBetween",
                    {"column": name, "min_value": contract.positive_rate.min, "max_value": contract.positive_rate.max},
                ),
            ]
        else:
            # The cleaning rule is checked here: a column nullable in the raw file has no nulls left.
            checks += _column_checks(name, column, dtype=column.dtype, nullable=False)
    return checks
