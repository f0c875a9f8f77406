"""The contract's checks row by row (validation/rows.py): the rows that break it are named with every reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from level2_pipeline.contract import DataContract, DataContractError
from level3_system.validation.rows import contract_checks, row_reasons, split_rows


def test_the_real_file_keeps_the_contract(raw_frame: pd.DataFrame, contract: DataContract) -> None:
    valid, rejected = split_rows(raw_frame, contract_checks(contract, with_target=True))

    assert rejected.empty, rejected["reason"].value_counts().head().to_dict()
    assert len(valid) == len(raw_frame)


def test_each_broken_row_says_why(raw_frame: pd.DataFrame, contract: DataContract) -> None:
    frame = raw_frame.head(6).copy()
    frame["contract"] = frame["contract"].astype(object)
    frame.loc[frame.index[0], "contract"] = "Three year"
    frame.loc[frame.index[1], "monthly_charges"] = -5.0
    frame["tenure"] = frame["tenure"].astype(object)
    frame.loc[frame.index[2], "tenure"] = "twelve"
    frame.loc[frame.index[3], "tenure"] = 2.5
    frame.loc[frame.index[4], ["tenure", "total_charges"]] = [12, np.nan]  # missing only allowed at tenure 0

    reasons = row_reasons(frame, contract_checks(contract, with_target=True)).tolist()

    assert reasons[0] == "contract: not one of the contract's values"
    assert reasons[1] == "monthly_charges: outside [0.0, 500.0]"
    assert reasons[2] == "tenure: not an integer"
    assert reasons[3] == "tenure: not an integer"
    assert reasons[4] == "total_charges: missing while tenure != 0"
    assert reasons[5] == "", "an untouched row was rejected"


def test_scoring_rows_need_no_target_but_every_feature(raw_frame: pd.DataFrame, contract: DataContract) -> None:
    checks = contract_checks(contract, with_target=False)
    valid, _ = split_rows(raw_frame.drop(columns=["churn"]), checks)
    assert len(valid) == len(raw_frame)

    with pytest.raises(DataContractError, match="tenure, contract"):
        split_rows(raw_frame.drop(columns=["tenure", "contract"]), checks)
