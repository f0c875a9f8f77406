"""The served model and its lifecycle: load the champion once, swap to a new one atomically.

At load, the registered sklearn pipeline is paired with the fastest scorer that reproduces it (fastpath.py).

A request reads `store.current` once and uses that object to the end, so a swap never changes the model
under a request in flight. Loads are serialized by a lock and happen off the request path (start-up,
`/admin/reload`, the optional polling task).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from level2_pipeline.contract import DataContract
from level3_system.settings import Level3Settings

logger = logging.getLogger(__name__)


class NoModelError(RuntimeError):
    """The registry has no version under the configured alias."""


@dataclass(frozen=True)
class LoadedModel:
    name: str
    version: str
    alias: str
    run_id: str
    metrics: dict[str, float]
    trained_at: str
    threshold: float
    sklearn_model: Any
    scorer: Any | None  # LinearScorer or OnnxScorer, when it agrees with the sklearn model
    fast_path: str  # "linear", "onnx" or "sklearn"
    fill_missing: dict[str, Any]

    def _filled(self, customer: Mapping[str, Any]) -> Mapping[str, Any]:
        if not self.fill_missing or all(customer.get(k) is not None for k in self.fill_missing):
            return customer
        return {k: (self.fill_missing[k] if v is None and k in self.fill_missing else v) for k, v in customer.items()}

    def predict_one(self, customer: Mapping[str, Any]) -> float:
        customer = self._filled(customer)
        if self.scorer is not None:
            return self.scorer.predict_one(customer)
        return float(self.sklearn_model.predict_proba(pd.DataFrame([customer]))[0, 1])

    def predict_many(self, customers: pd.DataFrame | Sequence[Mapping[str, Any]]) -> np.ndarray:
        frame = customers if isinstance(customers, pd.DataFrame) else pd.DataFrame.from_records(list(customers))
        if self.fill_missing:
            frame = frame.fillna(self.fill_missing)
        if self.scorer is not None:
            return self.scorer.predict_many(frame)
        return self.sklearn_model.predict_proba(frame)[:, 1]


def _client(settings: Level3Settings) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(settings.resolved_tracking_uri)


def resolve(settings: Level3Settings) -> Any:
    """The model version behind the alias, or NoModelError with what to do."""
    from mlflow.exceptions import MlflowException

    name, alias = settings.registered_model, settings.serving.model_alias
    try:
        return _client(settings).get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        raise NoModelError(f"no model registered as {name}@{alias}: run `make level3` first") from exc


def load(settings: Level3Settings, contract: DataContract, fill_missing: dict[str, Any]) -> LoadedModel:
    """Load the version behind the alias: the registered sklearn model, and its ONNX export if it agrees."""
    import mlflow

    mlflow.set_tracking_uri(settings.resolved_tracking_uri)
    version = resolve(settings)
    client = _client(settings)
    name = settings.registered_model
    sklearn_model = mlflow.sklearn.load_model(f"models:/{name}/{version.version}")
    metrics = dict(client.get_run(version.run_id).data.metrics) if version.run_id else {}
    threshold = settings.serving.threshold or metrics.get("threshold", 0.5)
    scorer, kind = _fast_path(settings, contract, sklearn_model, version, metrics)
    trained_at = datetime.fromtimestamp(version.creation_timestamp / 1000, tz=UTC).isoformat()
    return LoadedModel(
        name=name,
        version=str(version.version),
        alias=settings.serving.model_alias,
        run_id=version.run_id or "",
        metrics={k: float(v) for k, v in metrics.items()},
        trained_at=trained_at,
        threshold=float(threshold),
        sklearn_model=sklearn_model,
        scorer=scorer,
        fast_path=kind,
        fill_missing=fill_missing,
    )


def _fast_path(
    settings: Level3Settings, contract: DataContract, model: Any, version: Any, metrics: dict[str, float]
) -> tuple[Any | None, str]:
    """The fastest scorer that applies and agrees with the registered model on a sample of the contract."""
    import mlflow

    from level3_system.fastpath import ARTIFACT_PATH, MAX_DIFFERENCE, LinearScorer, OnnxScorer, contract_sample

    mode = settings.serving.fast_path
    sample = contract_sample(contract)
    reference = model.predict_proba(sample)[:, 1]

    def agrees(scorer: Any) -> bool:
        return float(np.abs(scorer.predict_many(sample) - reference).max()) <= MAX_DIFFERENCE

    if mode in ("auto", "linear"):
        linear = LinearScorer.from_pipeline(model)
        if linear is not None and agrees(linear):
            return linear, "linear"
        logger.warning("version %s: no exact linear fold of this pipeline", version.version)
    if mode in ("auto", "onnx"):
        try:
            onnx_file = mlflow.artifacts.download_artifacts(
                run_id=version.run_id, artifact_path=ARTIFACT_PATH, tracking_uri=settings.resolved_tracking_uri
            )
            onnx = OnnxScorer(Path(onnx_file).read_bytes(), contract)
            if metrics.get("fast_path_max_difference", np.inf) <= MAX_DIFFERENCE and agrees(onnx):
                return onnx, "onnx"
            logger.warning("version %s: the ONNX export disagrees with the model", version.version)
        except Exception as exc:  # no export logged (older version, unconvertible model)
            logger.warning("version %s: no ONNX fast path (%s)", version.version, exc)
    if mode != "sklearn":
        logger.warning("version %s: scoring with the sklearn pipeline itself (slow path)", version.version)
    return None, "sklearn"


class ModelStore:
    def __init__(self, settings: Level3Settings, contract: DataContract, fill_missing: dict[str, Any]) -> None:
        self._settings = settings
        self._contract = contract
        self._fill_missing = fill_missing
        self._current: LoadedModel | None = None
        self._lock = threading.Lock()

    @property
    def current(self) -> LoadedModel | None:
        return self._current

    def reload(self) -> tuple[str | None, LoadedModel]:
        """Load the alias's version if it changed; swap in one assignment. Returns (previous version, model)."""
        with self._lock:
            previous = self._current
            target = resolve(self._settings)
            if previous is not None and previous.version == str(target.version):
                return previous.version, previous
            loaded = load(self._settings, self._contract, self._fill_missing)
            self._current = loaded
            logger.info("serving %s version %s (%s)", loaded.name, loaded.version, loaded.fast_path)
            return (previous.version if previous else None), loaded
