"""The served version, as monitoring sees it, and its window of the prediction log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from level2_pipeline.config import load_contract_and_clean
from level2_pipeline.contract import DataContract
from level2_pipeline.errors import UserFacingError
from level3_system.decision.policy import OfferPolicy
from level3_system.lifecycle import registry
from level3_system.lifecycle.artifacts import load_decision, load_trained_with, offer_policy
from level3_system.prediction_log.schema import create_engine, ensure_schema
from level3_system.prediction_log.store import log_url, read_window
from level3_system.settings import Level3Settings


class NoLogError(UserFacingError):
    """There is no prediction log to read (nothing was served yet, or the database cannot be reached)."""


@dataclass(frozen=True)
class Served:
    name: str
    version: str
    run_id: str | None
    contract: DataContract
    offers: OfferPolicy  # the retention decision it serves with
    holdout_metrics: dict[str, float] = field(default_factory=dict)
    decision: dict[str, Any] | None = None  # its decision.json: the holdout's value estimate and interval

    @property
    def holdout_roc_auc(self) -> float | None:
        return self.holdout_metrics.get("roc_auc")


def served_version(settings: Level3Settings) -> Served:
    """The version behind the serving alias, with the contract it carries and its holdout metrics."""
    version = registry.resolve(settings)
    number = str(version.version)
    trained_with = load_trained_with(
        settings, version.run_id, lambda: load_contract_and_clean(settings.kedro_env), version=number
    )
    metrics = registry.run_metrics(settings, version.run_id)
    decision = load_decision(settings, version.run_id)
    offers = offer_policy(settings, decision, version=number)
    return Served(settings.registered_model, number, version.run_id, trained_with.contract, offers, metrics, decision)


def check_log(settings: Level3Settings, *, create: bool = False) -> str:
    """The log's URL, if there is a log to read; NoLogError with what to do otherwise. `create`: an embedded
    log that does not exist yet is created empty (the monitor of a fresh clone reads an empty window)."""
    url = log_url(settings)
    missing = url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file()
    if missing and create:
        engine = create_engine(url)
        try:
            ensure_schema(engine)
        finally:
            engine.dispose()
    elif missing:
        raise NoLogError(
            f"no prediction log at {url.removeprefix('sqlite:///')}: serve traffic first "
            "(make serve, then make traffic or POST /predict)"
        )
    return url


def read_served_window(settings: Level3Settings, served: Served) -> pd.DataFrame:
    """The newest `window_rows` rows the served version scored (within `window_hours` when set)."""
    engine = create_engine(check_log(settings))
    try:
        ensure_schema(engine)
        rules = settings.monitoring
        since = None if rules.window_hours is None else datetime.now(UTC) - timedelta(hours=rules.window_hours)
        return read_window(engine, served.name, served.version, rows=rules.window_rows, since=since)
    except Exception as exc:
        if type(exc).__module__.startswith("sqlalchemy"):
            raise NoLogError(f"the prediction log cannot be read ({' '.join(str(exc).split())[:200]})") from exc
        raise
    finally:
        engine.dispose()
