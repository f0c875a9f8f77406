"""One partition of customers, checked and scored: what every worker runs, the same whatever the engine.

A `BatchScorer` is what a loaded version lends to batch scoring: its fast path (checked against the registered
model at load, as the service does), the contract and cleaning it was trained with, its threshold. It is small
and picklable, so Dask ships it to its workers once. A partition's rows that break the contract (the raw gate's
checks, row by row) go to the rejects with their reason; the others are cleaned by level 2's `fill_missing` and
scored, and each scored row gets the version's retention decision (offer, its expected value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from level2_pipeline.contract import DataContract
from level2_pipeline.params import CleanParams
from level2_pipeline.pipelines.data_processing.nodes import fill_missing
from level3_system.decision.policy import OfferPolicy
from level3_system.validation.checks import Check
from level3_system.validation.rows import contract_checks, row_reasons

PROBABILITY = "churn_probability"  # the positive class's probability, whatever the target is called in a fork
LABEL = "churn"
VERSION = "model_version"
SCORED_AT = "scored_at"


@dataclass(frozen=True)
class BatchScorer:
    name: str
    version: str
    threshold: float
    contract: DataContract
    clean: CleanParams
    scorer: Any  # LinearScorer or OnnxScorer (picklable), or None: the sklearn model below
    sklearn_model: Any
    fast_path: str
    checks: tuple[Check, ...]
    offers: OfferPolicy  # the version's retention decision (as the service applies it)

    @classmethod
    def of(cls, loaded: Any) -> BatchScorer:
        """From a `serving.model_store.LoadedModel` (the version as the service loads it)."""
        contract = loaded.contract
        return cls(
            name=loaded.name,
            version=loaded.version,
            threshold=loaded.threshold,
            contract=contract,
            clean=loaded.trained_with.clean,
            scorer=loaded.scorer,
            sklearn_model=loaded.sklearn_model if loaded.scorer is None else None,
            fast_path=loaded.fast_path,
            checks=tuple(contract_checks(contract, with_target=False)),
            offers=loaded.offers,
        )

    def probabilities(self, frame: pd.DataFrame) -> np.ndarray:
        cleaned = fill_missing(frame[self.contract.features], self.clean)
        if self.scorer is not None:
            return self.scorer.predict_many(cleaned)
        return self.sklearn_model.predict_proba(cleaned)[:, 1]

    def score(self, frame: pd.DataFrame) -> tuple[np.ndarray, pd.Series]:
        """Per row: the probability (NaN for a rejected row) and the reason (empty for a scored row: the broken
        checks, "; "-joined, for a rejected one)."""
        reasons = row_reasons(frame, self.checks)
        good = (reasons == "").to_numpy()
        probability = np.full(len(frame), np.nan)
        if good.any():
            probability[good] = self.probabilities(self.features_of(frame[good]))
        return probability, reasons

    def features_of(self, valid: pd.DataFrame) -> pd.DataFrame:
        """Valid rows' features, numbers as numbers: a CSV is read as text, and the checks have passed, so each
        parses."""
        features = valid[self.contract.features]
        text = [c for c in self.contract.numeric_features if not pd.api.types.is_numeric_dtype(features[c].dtype)]
        return features.assign(**{c: pd.to_numeric(features[c]) for c in text}) if text else features

    def ids(self, frame: pd.DataFrame, good: np.ndarray) -> pd.Series:
        """The id column in the contract's type (a CSV's ids are read as text); rejected rows' ids may not parse,
        so theirs are left empty (the rejects keep the input's own value)."""
        column = self.contract.id_column
        assert column is not None
        values, kind = frame[column], self.contract.columns[column].dtype
        return values if id_is_typed(values.dtype, kind) else typed_ids(values.where(good), kind)


def id_is_typed(dtype: object, kind: str) -> bool:
    return kind not in ("int", "float") or pd.api.types.is_numeric_dtype(dtype)


def typed_ids(values: pd.Series, kind: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers.astype("Int64") if kind == "int" else numbers.astype("float64")
