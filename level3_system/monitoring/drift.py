"""Drift of a window of traffic against the served version's own reference, with Evidently (docs/adr/0006).

The statistical test of every column is set explicitly, per column type, from `conf/` (`monitoring.numeric`,
`.categorical`, `.prediction`): Evidently's defaults change with the reference's size (K-S / chi² under 1,000 rows,
Wasserstein / Jensen-Shannon above), so a small test fixture and production would not be judged alike. The
defaults are distances (Wasserstein normed by the reference's spread for numbers, Jensen-Shannon for categories),
which do not turn every column "drifted" as a window grows the way p-value tests do. A 0/1 column is judged as a
category. Evidently is imported here only (~3 s, ~3,100 modules): never by the service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from level2_pipeline.contract import DataContract
from level3_system.lifecycle.artifacts import PROBABILITY
from level3_system.settings import MonitoringSettings


@dataclass(frozen=True)
class ColumnDrift:
    method: str
    score: float
    drifted: bool

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "score": self.score, "drifted": self.drifted}


@dataclass
class DriftResult:
    features: dict[str, ColumnDrift]
    prediction: ColumnDrift
    drift_share: float
    dataset_drift: bool
    snapshot: Any = field(default=None, repr=False)  # Evidently's, for the HTML report

    @property
    def drifted_features(self) -> list[str]:
        """The drifted features, highest score first (with distances, the default tests: the most moved first)."""
        drifted = [(name, column) for name, column in self.features.items() if column.drifted]
        return [name for name, _ in sorted(drifted, key=lambda item: -item[1].score)]


def column_kinds(contract: DataContract, reference: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(numeric, categorical) for drift: the contract's roles, with 0/1 numeric columns judged as categories."""
    numeric, categorical = [], []
    for name in contract.features:
        column = contract.columns[name]
        binary = column.role == "numeric" and reference[name].dropna().nunique() <= 2
        (categorical if column.role == "categorical" or binary else numeric).append(name)
    return numeric, categorical


def _prepared(frame: pd.DataFrame, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
    """The same dtypes on both sides (JSON from the log and Parquet from MLflow differ): floats and strings."""
    columns = [*numeric, *categorical, PROBABILITY]
    out = frame[columns].copy()
    numbers = [*numeric, PROBABILITY]
    out[numbers] = out[numbers].astype("float64")
    for name in categorical:
        out[name] = out[name].astype(str).astype(object)
    return out


def compare(
    reference: pd.DataFrame, current: pd.DataFrame, contract: DataContract, rules: MonitoringSettings
) -> DriftResult:
    """Per-feature drift, prediction drift, and dataset drift (a share of features at or above `drift_share`)."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    numeric, categorical = column_kinds(contract, reference)
    definition = DataDefinition(numerical_columns=[*numeric, PROBABILITY], categorical_columns=categorical)
    # The features in the preset (its dataset-drift share is ours); the prediction beside it, on its own test.
    preset = DataDriftPreset(
        columns=list(contract.features),
        num_method=rules.numeric.method,
        num_threshold=rules.numeric.threshold,
        cat_method=rules.categorical.method,
        cat_threshold=rules.categorical.threshold,
        drift_share=rules.drift_share,
    )
    prediction = ValueDrift(column=PROBABILITY, method=rules.prediction.method, threshold=rules.prediction.threshold)
    snapshot = Report([preset, prediction], include_tests=True).run(
        Dataset.from_pandas(_prepared(current, numeric, categorical), data_definition=definition),
        Dataset.from_pandas(_prepared(reference, numeric, categorical), data_definition=definition),
    )
    columns = _columns(snapshot.dict())
    features = {name: columns[name] for name in contract.features}
    share = sum(c.drifted for c in features.values()) / len(features)
    return DriftResult(features, columns[PROBABILITY], share, share >= rules.drift_share, snapshot)


def _columns(report: dict[str, Any]) -> dict[str, ColumnDrift]:
    """Method and score per column from the metrics, the drifted flag from the tests (a failed test is drift)."""
    scores = {
        metric["config"]["column"]: (str(metric["config"]["method"]), float(metric["value"]))
        for metric in report["metrics"]
        if metric["config"]["type"].endswith(":ValueDrift")
    }
    drifted = {
        test["metric_config"]["params"]["column"]: str(test["status"]).upper().endswith("FAIL")
        for test in report["tests"]
        if test["metric_config"]["params"]["type"].endswith(":ValueDrift")
    }
    return {name: ColumnDrift(method, score, drifted[name]) for name, (method, score) in scores.items()}
