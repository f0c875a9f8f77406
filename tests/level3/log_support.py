"""Helpers of the monitoring and loop tests: a prediction log filled with real customers, as the service would have."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from level2_pipeline.params import CleanParams
from level2_pipeline.pipelines.data_processing.nodes import fill_missing
from level3_system.prediction_log.schema import create_engine, ensure_schema, feedback, predictions
from level3_system.settings import Level3Settings, MonitoringSettings, PredictionLogSettings

# Small windows so the tests stay fast; the statistics are the shipped ones (conf/base/level3.yml).
RULES = MonitoringSettings(window_rows=1500, min_rows=300, min_labeled=200, consecutive_windows=2)


def monitored(settings: Level3Settings, root: Path, rules: MonitoringSettings = RULES) -> Level3Settings:
    """The settings with a log and a reports folder of their own."""
    url = f"sqlite:///{(root / 'log.sqlite').as_posix()}"
    return settings.model_copy(
        update={"prediction_log": PredictionLogSettings(url=url), "reports_dir": root / "reports", "monitoring": rules}
    )


def fill_log(
    settings: Level3Settings,
    customers: pd.DataFrame,
    model: Any,
    contract: Any,
    *,
    version: str = "1",
    labelled: bool = True,
    start: datetime | None = None,
) -> list[str]:
    """Log `customers` as scored by `model` (as `version`), with their real outcomes as feedback."""
    engine = create_engine(str(settings.prediction_log.url))
    ensure_schema(engine)
    features = fill_missing(customers[contract.features], CleanParams(fill_missing={"total_charges": 0.0}))
    probability = model.predict_proba(features)[:, 1]
    start = start or datetime.now(UTC) - timedelta(minutes=30)
    ids = [uuid.uuid4().hex for _ in range(len(customers))]
    records = features.to_dict(orient="records")
    rows = [
        {
            "request_id": ids[i],
            "scored_at": start + timedelta(milliseconds=10 * i),
            "model_name": settings.registered_model,
            "model_version": version,
            "source": "predict",
            "entity_id": None,
            "features": records[i],
            "probability": float(probability[i]),
            "label": bool(probability[i] >= 0.5),
            "latency_ms": 0.1,
        }
        for i in range(len(customers))
    ]
    outcomes = customers[contract.target].astype(str).tolist()
    with engine.begin() as connection:
        connection.execute(predictions.insert(), rows)
        if labelled:
            now = datetime.now(UTC)
            connection.execute(
                feedback.insert(),
                [
                    {
                        "request_id": ids[i],
                        "outcome": outcomes[i],
                        "positive": outcomes[i] == contract.positive_class,
                        "observed_at": now,
                        "recorded_at": now,
                    }
                    for i in range(len(ids))
                ],
            )
    engine.dispose()
    return ids
