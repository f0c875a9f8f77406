"""What a scheduled or drift-triggered training learns from the log: the labelled rows that keep the contract.

Each prediction whose outcome arrived is a row of the raw format (the customer as logged, the outcome as the
target). Rows that break the contract are set aside and counted (`validation/rows.py`: the raw gate's checks, row
by row); if more than `max_rejected_share` of them do, the training stops before anything is trained (the feed
is broken, not the world). The rest go through level 2's own `clean` and `build_features`. The newest
`recent_window_rows` are held out of training: both the challenger and the champion are scored on them too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from level2_pipeline.contract import DataContract
from level2_pipeline.errors import UserFacingError
from level2_pipeline.params import CleanParams
from level2_pipeline.pipelines.data_processing.nodes import build_features, clean
from level3_system.settings import Level3Settings
from level3_system.validation.rows import contract_checks, split_rows


class FeedbackRefused(UserFacingError):
    """Too much of the feedback breaks the contract: training on the rest would hide a broken feed."""


@dataclass
class Feedback:
    train: pd.DataFrame  # model-input rows (id, features, 0/1 target) added to the training split
    recent: pd.DataFrame  # the newest, held out of training
    rows: int = 0
    rejected: int = 0
    first_observed: str | None = None
    last_observed: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)  # why rows were set aside, and how many

    def lineage(self) -> dict[str, str]:
        """What the MLflow run records about the feedback it learned from."""
        return {
            "feedback.rows": str(self.rows),
            "feedback.trained_on": str(len(self.train)),
            "feedback.recent_window": str(len(self.recent)),
            "feedback.rejected": str(self.rejected),
            "feedback.first_observed": self.first_observed or "",
            "feedback.last_observed": self.last_observed or "",
        }


def empty(contract: DataContract) -> Feedback:
    columns = [*([contract.id_column] if contract.id_column else []), *contract.features, contract.target]
    frame = pd.DataFrame(columns=columns)
    return Feedback(frame, frame.copy())


def _as_raw(labelled: pd.DataFrame, contract: DataContract, first_id: int) -> pd.DataFrame:
    """The logged customers in the raw format: their features, the outcome as the target, ids of their own (one
    customer may be scored and labelled many times: the log's ids are not unique)."""
    frame = labelled.reindex(columns=contract.features).copy()
    frame[contract.target] = labelled["outcome"].astype(str).to_numpy()
    if contract.id_column:
        frame.insert(0, contract.id_column, range(first_id, first_id + len(frame)))
    return frame


def collect(
    settings: Level3Settings, contract: DataContract, clean_params: CleanParams, first_id: int, labelled: pd.DataFrame
) -> Feedback:
    """The log's labelled rows (`labelled`, oldest outcome first) as training and recent-window rows."""
    if labelled.empty:
        return empty(contract)
    rules = settings.continuous_training
    raw = _as_raw(labelled, contract, first_id)
    valid, rejected = split_rows(raw, contract_checks(contract, with_target=True))
    share = len(rejected) / len(raw)
    reasons = rejected["reason"].value_counts().to_dict() if len(rejected) else {}
    if share > rules.max_rejected_share:
        top = "; ".join(f"{reason} ({count})" for reason, count in list(reasons.items())[:3])
        raise FeedbackRefused(
            f"{len(rejected)} of {len(raw)} labelled rows ({share:.0%}) break the data contract, more than "
            f"continuous_training.max_rejected_share ({rules.max_rejected_share:.0%}): {top}"
        )
    table = build_features(clean(valid, contract, clean_params), contract)
    recent_rows = min(rules.recent_window_rows, len(table))
    observed = labelled.loc[valid.index, "observed_at"] if "observed_at" in labelled else pd.Series(dtype=object)
    return Feedback(
        train=table.iloc[: len(table) - recent_rows],
        recent=table.iloc[len(table) - recent_rows :],
        rows=len(raw),
        rejected=len(rejected),
        first_observed=str(observed.min()) if len(observed) else None,
        last_observed=str(observed.max()) if len(observed) else None,
        reasons={str(k): int(v) for k, v in reasons.items()},
    )


def read_labelled(settings: Level3Settings) -> pd.DataFrame:
    """The labelled rows of the registered model's log (any version), oldest outcome first; empty without a log."""
    from pathlib import Path

    from level3_system.prediction_log.schema import create_engine
    from level3_system.prediction_log.store import labelled_rows, log_url

    url = log_url(settings)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return pd.DataFrame()
    engine = create_engine(url)
    try:
        return labelled_rows(engine, model_name=settings.registered_model)
    finally:
        engine.dispose()


def augmented(x_train: pd.DataFrame, y_train: pd.Series, feedback: Feedback, contract: DataContract) -> tuple[Any, Any]:
    """Level 2's training split with the feedback rows appended (same columns, the target apart)."""
    extra = feedback.train
    x = pd.concat([x_train, extra.drop(columns=[contract.target])[x_train.columns]], ignore_index=True)
    y = pd.concat([y_train.reset_index(drop=True), extra[contract.target].astype(y_train.dtype)], ignore_index=True)
    return x, y.rename(y_train.name)
