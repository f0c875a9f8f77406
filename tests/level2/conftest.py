"""Tiny inline fixtures for the level-2 unit tests: a five-column contract and frames that follow it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from level2_pipeline.contract import DataContract


@pytest.fixture
def tiny_contract() -> DataContract:
    """An id, a target, two numeric features and one categorical feature: the shape of the real contract."""
    return DataContract.model_validate(
        {
            "name": "tiny",
            "rows": {"min": 1, "max": 100},
            "positive_rate": {"min": 0.0, "max": 1.0},
            "target": "churn",
            "positive_class": "Yes",
            "columns": {
                "customer_id": {"role": "id", "dtype": "int", "unique": True},
                "tenure": {"role": "numeric", "dtype": "int", "min": 0},
                "contract": {"role": "categorical", "dtype": "str", "categories": ["Month-to-month", "Two year"]},
                "total_charges": {"role": "numeric", "dtype": "float", "nullable_when": "tenure == 0"},
                "churn": {"role": "target", "dtype": "str", "categories": ["No", "Yes"]},
            },
        }
    )


@pytest.fixture
def tiny_raw() -> pd.DataFrame:
    """Three raw rows; the new customer (tenure 0) has no total yet; `region` is not in the contract."""
    return pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "region": ["north", "south", "east"],
            "tenure": [0, 12, 40],
            "contract": ["Month-to-month", "Month-to-month", "Two year"],
            "total_charges": [np.nan, 840.5, 3200.0],
            "churn": ["Yes", "No", "No"],
        }
    )


@pytest.fixture
def tiny_table() -> pd.DataFrame:
    """A 20-row model input table with 5 positives: month-to-month customers churn, two-year ones stay."""
    rows = 20
    contract = ["Month-to-month" if i % 4 == 0 or i % 4 == 1 else "Two year" for i in range(rows)]
    churn = [1 if i % 4 == 0 else 0 for i in range(rows)]
    return pd.DataFrame(
        {
            "customer_id": range(101, 101 + rows),
            "tenure": [(i * 7) % 60 for i in range(rows)],
            "contract": contract,
            "total_charges": [30.0 * ((i * 7) % 60) for i in range(rows)],
            "churn": churn,
        }
    )
