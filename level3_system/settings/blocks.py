"""The blocks of the level-3 settings (`level3:` in conf/<env>/level3.yml), each a strict, frozen model.

A typo in a key or a value out of range fails before any work, with one line naming the file or variable
(`level3_system.settings.load_settings`).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InvarianceCheck(_Strict):
    column: str
    max_mean_delta: float = Field(ge=0)
    max_delta: float = Field(ge=0)


class DirectionalCheck(_Strict):
    column: str
    from_value: str
    to_value: str
    min_share: float = Field(ge=0, le=1)


class RecentWindowRule(_Strict):
    """The newest outcomes, held out of a retraining: both models are scored on them too."""

    min_rows: int = Field(default=200, ge=1)  # fewer outcomes: the comparison is skipped (and said so)
    tolerance: float = Field(default=0.01, ge=0, le=1)  # challenger ROC AUC ≥ champion's - tolerance, on them


class PromotionRules(_Strict):
    min_roc_auc: float = Field(ge=0, le=1)
    champion_tolerance: float = Field(ge=0, le=1)
    # A challenger's net value per 1,000 customers (today's economics, same holdout) may fall at most this share
    # of the champion's below it.
    value_tolerance: float = Field(default=0.05, ge=0, le=1)
    invariance: InvarianceCheck | None = None
    directional: DirectionalCheck | None = None
    recent_window: RecentWindowRule = RecentWindowRule()


class ServingSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    model_alias: str = "champion"
    # Required on /predict* and /admin/* when set (header X-API-Key). Set it through CHURN_SERVING__API_KEY.
    api_key: str | None = None
    # Beyond loopback without an API key the service refuses to start unless this says so (a trusted network).
    allow_public_without_key: bool = False
    max_batch: int = Field(default=10_000, ge=1)
    max_body_bytes: int = Field(default=8_000_000, ge=1024)
    # Poll the registry and swap to a new champion every N seconds; 0 turns polling off (use /admin/reload).
    reload_interval_seconds: float = Field(default=0, ge=0)
    # None: offers at the decision threshold the version was trained with (its decision.json); a number overrides it.
    threshold: float | None = Field(default=None, gt=0, lt=1)
    # auto: the linear fold, else the tree fold (LightGBM, HistGradientBoosting), else ONNX, else sklearn itself.
    fast_path: Literal["auto", "linear", "trees", "onnx", "sklearn"] = "auto"


class DecisionSettings(_Strict):
    """Who gets a retention offer, in money (level3_system/decision/): read by training, serving, scoring and
    monitoring. An offer costs `offer_cost`; a churner who gets one stays with probability `offer_success_rate`,
    which saves `churn_loss`; an offer to a customer who would have stayed only costs."""

    policy: Literal["expected_value", "fixed"] = "expected_value"
    offer_cost: float = Field(default=50.0, ge=0)
    churn_loss: float = Field(default=500.0, gt=0)
    offer_success_rate: float = Field(default=0.5, gt=0, le=1)
    # policy fixed: offer at p >= threshold; policy expected_value: chosen by training, out of the holdout.
    threshold: float | None = Field(default=None, gt=0, lt=1, validate_default=True)
    budget: int | None = Field(default=None, ge=0)  # make score: at most this many offers a run (BUDGET=n)
    cv_folds: int = Field(default=5, ge=2, le=20)  # out-of-fold probabilities of the training rows choose it

    @field_validator("threshold")
    @classmethod
    def _fixed_needs_one(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None and info.data.get("policy") == "fixed":
            raise ValueError("policy fixed needs a threshold between 0 and 1 (or policy: expected_value)")
        return value


class SegmentSpec(_Strict):
    """A segment of the model card: a holdout column, its values as they are, or in bands.

    bins: left-closed edges [e0, e1, ...] giving the bands [e0, e1), [e1, e2), ... and ≥ the last edge;
    labels: one name per band (len(bins) of them).
    """

    column: str
    bins: list[float] | None = None
    labels: list[str] | None = None

    @model_validator(mode="after")
    def _bands(self) -> SegmentSpec:
        if self.bins is not None and (len(self.bins) < 1 or sorted(set(self.bins)) != list(self.bins)):
            raise ValueError(f"segment {self.column}: bins must be increasing edges, got {self.bins}")
        if self.labels is not None and (self.bins is None or len(self.labels) != len(self.bins)):
            raise ValueError(f"segment {self.column}: labels need bins, one label per band ({len(self.bins or [])})")
        return self


class ModelCardSettings(_Strict):
    """What the model card (level3_system/training/model_card.py) says beyond the numbers, and its intervals."""

    intended_use: str = "Rank current customers by churn risk to target retention offers; not for individual decisions."
    limitations: list[str] = []
    segments: list[SegmentSpec] = []
    # The value assumptions are the `decision` block's (one place): the card reports what training decided.
    bootstrap_resamples: int = Field(default=1000, ge=10)
    bootstrap_seed: int = 0

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: object) -> object:
        moved = {
            "retention_offer_cost": "offer_cost",
            "churn_loss": "churn_loss",
            "offer_success_rate": "offer_success_rate",
        }
        found = [key for key in moved if isinstance(data, dict) and key in data]
        if found:
            where = ", ".join(f"{key} → level3.decision.{moved[key]}" for key in found)
            raise ValueError(f"the value assumptions moved to the decision block: {where}")
        return data


class PredictionLogSettings(_Strict):
    """Where scored rows and outcomes are kept (level3_system/prediction_log/)."""

    enabled: bool = True
    # null: an embedded SQLite file, <data_dir>/09_monitoring/prediction_log.sqlite. PostgreSQL:
    # postgresql+psycopg2://user:password@host:5432/db (set CHURN_PREDICTION_LOG__URL, not this file, for secrets).
    url: str | None = None
    queue_rows: int = Field(default=100_000, ge=1)  # rows buffered while the database is slow; beyond: dropped
    batch_rows: int = Field(default=1_000, ge=1)  # rows per insert
    flush_seconds: float = Field(default=0.5, gt=0)  # the longest a row waits in the queue when traffic is light
    close_timeout_seconds: float = Field(default=10.0, ge=0)  # at shutdown, time to write what is queued


class DriftTest(_Strict):
    """A statistical test as Evidently names it (`wasserstein`, `jensenshannon`, `psi`, `ks`, ...) and its threshold:
    a distance drifts at or above it, a p-value test below it."""

    method: str
    threshold: float = Field(gt=0)


class MonitoringSettings(_Strict):
    """What the monitor flow compares and when it raises an alert (level3_system/monitoring/)."""

    window_rows: int = Field(default=2_000, ge=1)  # the newest N rows of the served version ...
    window_hours: float | None = Field(default=None, gt=0)  # ... and/or those of the last H hours
    min_rows: int = Field(default=300, ge=1)  # below: "not enough data", no verdict
    min_labeled: int = Field(default=200, ge=1)  # outcomes needed for the realized performance
    reference_rows: int = Field(default=5_000, ge=100)  # training rows logged with each version as its reference
    # Tests per column type, fixed: Evidently's defaults change with the reference's size.
    numeric: DriftTest = DriftTest(method="wasserstein", threshold=0.1)
    categorical: DriftTest = DriftTest(method="jensenshannon", threshold=0.1)
    prediction: DriftTest = DriftTest(method="wasserstein", threshold=0.1)
    drift_share: float = Field(default=0.3, gt=0, le=1)  # dataset drift: at least this share of features drifted
    max_roc_auc_drop: float = Field(default=0.05, ge=0, le=1)  # realized ROC AUC below holdout's by more: alert
    consecutive_windows: int = Field(default=2, ge=1)  # drifted windows in a row before an alert (hysteresis)
    reports_kept: int = Field(default=200, ge=1)  # timestamped copies of latest.json kept in the reports folder
    experiment: str = "monitoring"  # the MLflow experiment of the monitor runs


class Reweight(_Strict):
    """Rows matching every `column: value` of `when` are drawn `factor` times more often."""

    when: dict[str, str | int | float]
    factor: float = Field(gt=0)


class Tilt(_Strict):
    """Rows are drawn with weight ∝ exp(per_unit × value) of a numeric column."""

    column: str
    per_unit: float


class TrafficScenario(_Strict):
    description: str = ""
    reweight: list[Reweight] = []
    tilt: Tilt | None = None


class TrafficSettings(_Strict):
    """`make traffic`: real customers replayed to the running service (level3_system/monitoring/traffic.py)."""

    rate: float = Field(default=100.0, gt=0)  # requests per second
    requests: int = Field(default=1_500, ge=1)
    clients: int = Field(default=4, ge=1)
    feedback_delay_seconds: float = Field(default=2.0, ge=0)
    seed: int | None = None  # null: a new draw each run
    scenarios: dict[str, TrafficScenario] = {"baseline": TrafficScenario(description="a random sample of customers")}


class ContinuousTrainingSettings(_Strict):
    """The loop (level3_system/operations/deployments.py): when training runs by itself, and what it learns from."""

    cron: str = "0 3 * * *"  # the scheduled training (UTC)
    monitor_interval_seconds: float = Field(default=600, gt=0)  # the monitor deployment's interval
    quiet_period_seconds: float = Field(default=30, ge=10)  # alerts closer together than this start one training
    event: str = "churn.monitor.alert"  # what the monitor emits on an alert; the training deployment listens
    use_feedback: bool = True  # scheduled and drift-triggered trainings add the labelled rows of the log
    recent_window_rows: int = Field(default=500, ge=0)  # the newest outcomes, held out of training for the decision
    max_rejected_share: float = Field(default=0.2, ge=0, le=1)  # more feedback breaking the contract: stop


class PlatformSettings(_Strict):
    """`make platform`: a persistent Prefect server, the deployments' runner and the service, on 127.0.0.1."""

    prefect_port: int = Field(default=4200, ge=1, le=65535)
    mlflow_ui: bool = True  # the MLflow UI of the embedded store too (a server's has its own)
    mlflow_port: int = Field(default=5000, ge=1, le=65535)
    reload_seconds: float = Field(default=5, gt=0)  # the service polls the registry for a new champion this often
    runner_poll_seconds: int = Field(default=2, ge=1)  # how often the runner picks up runs to start


class ScoringSettings(_Strict):
    """`make score`: batch scoring (level3_system/scoring/), in this process or on Dask."""

    scheduler_address: str | None = None  # a Dask scheduler (tcp://host:8786); null: a local cluster
    workers: int = Field(default=2, ge=1)  # the local cluster's worker processes
    threads_per_worker: int = Field(default=1, ge=1)
    memory_limit: str = "768MiB"  # per worker, in Dask's units; Dask spills and pauses before it
    partition_rows: int = Field(default=100_000, ge=1_000)  # the rows one task checks and scores at a time
    in_process_below_rows: int = Field(default=200_000, ge=0)  # smaller inputs: no cluster at all
    log_rows_up_to: int = Field(default=200_000, ge=0)  # in-process runs up to this size go to the prediction log
    experiment: str = "scoring"  # the MLflow experiment of the scoring runs

    @field_validator("memory_limit")
    @classmethod
    def _a_size(cls, value: str) -> str:
        if not re.fullmatch(r"auto|\d+(\.\d+)?\s*([kKMGT]i?B|B)?", value):
            raise ValueError("a size per worker such as 768MiB or 2GB (or auto)")
        return value

    @field_validator("scheduler_address")
    @classmethod
    def _an_address(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"(tcp|tls)://\S+:\d+", value):
            raise ValueError("a Dask scheduler's address such as tcp://127.0.0.1:8786 (or null for a local cluster)")
        return value


class ModelSelectionSettings(_Strict):
    """`make experiment` (level3_system/experiment/): the families compared, how, and the rule that recommends one."""

    families: list[Literal["logistic_regression", "hist_gradient_boosting", "lightgbm"]] = Field(min_length=1)
    cv_folds: int = Field(default=5, ge=2, le=20)
    within_roc_auc: float = Field(default=0.005, ge=0, le=1)  # the fastest family this close to the best CV ROC AUC
    latency_calls: int = Field(default=2000, ge=10)  # single-row calls timed per family (median)
    batch_rows: int = Field(default=10_000, ge=100)
    experiment: str | None = None  # the MLflow experiment of the runs; None: "<level3.experiment>-model-selection"
