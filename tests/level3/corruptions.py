"""Ways a raw churn file goes wrong, each with the check that must name it.

Shared by the gate tests (test_validation_gates.py) and the flow tests (test_gated_flow.py), so the gate and
the flow are held to the same catalogue. `failure` is the check's label exactly as a `GateReport` and the
flow's failure message print it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Corruption:
    name: str
    change: Callable[[pd.DataFrame], pd.DataFrame] | None  # None: a 0-byte file
    failure: str
    gate: str = "raw"  # the gate that must refuse it

    def frame(self, raw: pd.DataFrame) -> pd.DataFrame:
        assert self.change is not None, f"{self.name} is a file without a frame"
        return self.change(raw.copy())

    def write(self, raw: pd.DataFrame, target: Path) -> Path:
        """Write the corrupted raw file to `target` (a data root's 01_raw/telco_churn.csv)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.change is None:
            target.write_bytes(b"")
        else:
            self.frame(raw).to_csv(target, index=False)
        return target


def _set(column: str, rows: slice, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = frame[column].astype(object)
        frame.loc[frame.index[rows], column] = value
        return frame

    return change


def _tenure_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    frame["tenure"] = frame["tenure"].astype(str) + " months"
    return frame


def _negative_charges(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[frame.index[:2], "monthly_charges"] = -frame["monthly_charges"].iloc[:2]
    return frame


def _unbilled_customer(frame: pd.DataFrame) -> pd.DataFrame:
    """A customer with months of tenure but no total: not the known tenure-0 gap, a broken extract."""
    first_billed = frame.index[frame["tenure"] > 0][0]
    frame.loc[first_billed, "total_charges"] = np.nan
    return frame


def _rare_churn(frame: pd.DataFrame) -> pd.DataFrame:
    """Both classes present (the raw gate passes) but 1.4 % positives: outside the contract's positive rate."""
    churners = frame.index[frame["churn"] == "Yes"]
    frame.loc[churners[100:], "churn"] = "No"
    return frame


RAW_GATE = [
    Corruption("missing_column", lambda f: f.drop(columns=["contract"]), "ExpectColumnToExist(contract)"),
    Corruption("tenure_as_text", _tenure_as_text, "ExpectColumnValuesToBeInTypeList(tenure)"),
    Corruption(
        "unknown_category", _set("contract", slice(0, 3), "Three year"), "ExpectColumnValuesToBeInSet(contract)"
    ),
    Corruption("negative_monthly_charges", _negative_charges, "ExpectColumnValuesToBeBetween(monthly_charges)"),
    Corruption("empty_file", None, "file has a header and rows"),
    Corruption("header_only", lambda f: f.head(0), "ExpectTableRowCountToBeBetween()"),
    Corruption(
        "duplicated_customers",
        lambda f: pd.concat([f, f.head(10)], ignore_index=True),
        "ExpectColumnValuesToBeUnique(customer_id)",
    ),
    Corruption("all_one_class", _set("churn", slice(None), "No"), "ExpectColumnDistinctValuesToEqualSet(churn)"),
    Corruption(
        "unbilled_customer", _unbilled_customer, "ExpectColumnValuesToNotBeNull(total_charges) where tenure != 0"
    ),
]
RARE_CHURN = Corruption("rare_churn", _rare_churn, "ExpectColumnMeanToBeBetween(churn)", gate="model_input")
ALL = [*RAW_GATE, RARE_CHURN]


def by_name(*names: str) -> list[Corruption]:
    found = {c.name: c for c in ALL}
    return [found[name] for name in names]
