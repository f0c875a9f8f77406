"""The contract's checks row by row, vectorised with pandas: which rows break the contract, and why.

The gates (`gx.py`) judge a whole table with Great Expectations and stop a flow; batch scoring and retraining on
feedback must instead set the breaking rows aside and go on with the rest. Both evaluate the same checks, derived
once from the contract (`checks.py`): this module implements the row-level expectations among them (type,
nulls — conditional ones too —, allowed values, ranges, uniqueness within the frame); the table-level ones (row
count, distinct values of the target) belong to the gates.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from level2_pipeline.contract import DataContract, DataContractError
from level3_system.validation.checks import DTYPES, OPERATORS, Check, raw_checks

REASON = "reason"
_NUMERIC = {"int": DTYPES["int"], "float": DTYPES["float"]}


def contract_checks(contract: DataContract, *, with_target: bool, with_id: bool = True) -> list[Check]:
    """The raw gate's checks for the columns a row of this kind has (scoring rows have no target)."""
    columns = set(contract.features) | ({contract.target} if with_target else set())
    if with_id and contract.id_column:
        columns.add(contract.id_column)
    return [c for c in raw_checks(contract) if c.kwargs.get("column") in columns]


def require_columns(frame: pd.DataFrame, checks: Iterable[Check]) -> None:
    """A missing column is no row's fault: the whole input is refused, with every missing name."""
    missing = [c.kwargs["column"] for c in checks if c.expectation == "ExpectColumnToExist"]
    missing = [name for name in missing if name not in frame.columns]
    if missing:
        raise DataContractError(f"input is missing required column(s): {', '.join(missing)}")


def _condition(frame: pd.DataFrame, where: tuple[str, str, object]) -> pd.Series:
    column, op, value = where
    return OPERATORS[op](pd.to_numeric(frame[column], errors="coerce"), value).fillna(False).astype(bool)


def _failing(frame: pd.DataFrame, check: Check) -> tuple[pd.Series, str] | None:
    """(mask of failing rows, what to say) for a row-level check; None for a table-level one."""
    name, column = check.expectation, check.kwargs.get("column")
    if column is None or name in ("ExpectColumnToExist", "ExpectColumnDistinctValuesToEqualSet"):
        return None
    values = frame[column]
    present = values.notna()
    if name == "ExpectColumnValuesToNotBeNull":
        scope = _condition(frame, check.where) if check.where else pd.Series(True, index=frame.index)
        when = f" while {' '.join(map(str, check.where))}" if check.where else ""
        return scope & ~present, f"{column}: missing{when}"
    if name == "ExpectColumnValuesToBeInTypeList":
        numeric = [kind for kind, names in _NUMERIC.items() if names == check.kwargs["type_list"]]
        if not numeric:
            return None  # text: any value is text once read; allowed values are checked by InSet
        number = pd.to_numeric(values, errors="coerce")
        bad = present & number.isna()
        if numeric[0] == "int":
            bad |= present & number.notna() & (np.floor(number) != number)
        return bad, f"{column}: not {'an integer' if numeric[0] == 'int' else 'a number'}"
    if name == "ExpectColumnValuesToBeInSet":
        allowed = set(map(str, check.kwargs["value_set"]))
        return present & ~values.astype(str).isin(allowed), f"{column}: not one of the contract's values"
    if name == "ExpectColumnValuesToBeBetween":
        number = pd.to_numeric(values, errors="coerce")
        low, high = check.kwargs.get("min_value"), check.kwargs.get("max_value")
        bad = pd.Series(False, index=frame.index)
        if low is not None:
            bad |= number < low
        if high is not None:
            bad |= number > high
        return bad & number.notna(), f"{column}: outside [{low}, {high}]"
    if name == "ExpectColumnValuesToBeUnique":
        return present & values.duplicated(keep=False), f"{column}: not unique"
    return None


def row_reasons(frame: pd.DataFrame, checks: Iterable[Check]) -> pd.Series:
    """Per row, every check it fails ("; "-joined), or "" when it keeps the contract."""
    reasons = pd.Series("", index=frame.index, dtype=object)
    for check in checks:
        found = _failing(frame, check)
        if found is None:
            continue
        mask, text = found
        if mask.any():
            reasons = reasons.where(~mask, reasons.where(reasons == "", reasons + "; ") + text)
    return reasons


def split_rows(frame: pd.DataFrame, checks: list[Check]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows that keep the contract, rows that break it with a `reason` column)."""
    require_columns(frame, checks)
    reasons = row_reasons(frame, checks)
    broken = reasons != ""
    return frame[~broken], frame[broken].assign(**{REASON: reasons[broken]})
