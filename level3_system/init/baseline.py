"""A promotion floor measured on the data: k-fold ROC AUC of level 2's model on the inferred contract.

The floor must sit a little below what the model scores, so that a regression stops promotion and noise does
not (FORKING.md). The spread over the folds says how large the noise is. The model is the one level 2 and level 3
train (`make_model` with conf/base's `model:` parameters), fed by level 2's own cleaning and feature nodes:
the floor is measured on what the flow will train, not on a copy of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from level2_pipeline.contract import DataContract
from level2_pipeline.params import CleanParams, ModelParams, SplitParams

FOLDS = 5
# floor = mean − SPREADS × sd − MARGIN, rounded down to two decimals, never below CHANCE.
SPREADS = 2
MARGIN = 0.01
CHANCE = 0.5


@dataclass(frozen=True)
class Baseline:
    mean: float
    sd: float
    floor: float
    family: str

    def describe(self) -> str:
        return (
            f"{FOLDS}-fold CV ROC AUC {self.mean:.3f} ± {self.sd:.3f} ({self.family}) → "
            f"mean − {SPREADS} sd − {MARGIN}, rounded down: {self.floor:.2f}"
        )


def floor_of(mean: float, sd: float) -> float:
    """mean − 2 sd − 0.01, rounded down to two decimals (a little below the scores, not at them), ≥ chance."""
    return max(CHANCE, math.floor(round((mean - SPREADS * sd - MARGIN) * 100, 6)) / 100)


def measure(
    raw: pd.DataFrame, contract: DataContract, clean: CleanParams, model: ModelParams, split: SplitParams
) -> Baseline:
    """Cross-validated ROC AUC of the configured model on the raw rows, stratified, seeded by `split`."""
    from level2_pipeline.pipelines.data_processing.nodes import build_features
    from level2_pipeline.pipelines.data_processing.nodes import clean as clean_rows
    from level2_pipeline.pipelines.data_science.nodes import make_model
    from level3_system.experiment.measure import cross_validate

    table = build_features(clean_rows(raw, contract, clean), contract)
    features, target = table.drop(columns=[contract.target]), table[contract.target]
    mean, sd = cross_validate(make_model(contract, model), features, target, FOLDS, split.random_state)
    return Baseline(mean=mean, sd=sd, floor=floor_of(mean, sd), family=str(getattr(model, "family", "model")))
