"""The offers of a whole scoring run, settled once every partition is written: counted, and cut to a budget.

Each partition decides its own offers (p ≥ the version's offer threshold), but a budget ("at most n offers") is a
ranking of the whole run: the n highest expected values win, whichever partition they sit in (for one economy the
highest expected value is the highest risk). So after the partitions are written, their two decision columns are
read back (cheap: two columns of Parquet), the run-wide top n is found, and only partitions that lose offers are
rewritten. Ties on the expected value go to the earlier partition and row, so a rerun gives the same offers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from level3_system.decision.policy import within_budget

OFFER = "offer"
EXPECTED_VALUE = "expected_value"


@dataclass(frozen=True)
class Offers:
    offers: int
    expected_value: float  # the offers' total expected net value
    withdrawn: int  # offers the budget took back


def settle(predictions: Path, budget: int | None) -> Offers:
    """Count the run's offers and, over a budget, keep only the best `budget` of them (rewriting partitions)."""
    parts = sorted(predictions.glob("part-*.parquet"))
    offered: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for part in parts:
        columns = pd.read_parquet(part, columns=[OFFER, EXPECTED_VALUE])
        offered.append(columns[OFFER].to_numpy(dtype=bool))
        values.append(columns[EXPECTED_VALUE].to_numpy(dtype=float))
    if not parts:
        return Offers(0, 0.0, 0)
    all_offered, all_values = np.concatenate(offered), np.concatenate(values)
    kept = within_budget(all_values, all_offered, budget)  # concatenation order is partition, then row
    withdrawn = int(all_offered.sum() - kept.sum())
    if withdrawn:
        start = 0
        for part, before in zip(parts, offered, strict=True):
            after = kept[start : start + len(before)]
            start += len(before)
            if (after != before).any():
                frame = pd.read_parquet(part)
                frame[OFFER] = after
                frame.to_parquet(part, index=False)
    return Offers(int(kept.sum()), round(float(all_values[kept].sum()), 2), withdrawn)
