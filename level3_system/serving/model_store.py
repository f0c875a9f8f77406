"""The served model and its lifecycle: load the champion once, swap to a new one atomically.

A loaded version is whole: the registered sklearn pipeline, the fastest scorer that reproduces it (fastpath.py),
the data contract and cleaning it was trained with (artifacts.py), and the request models built from that
contract. A request reads `store.current` once and uses that object to the end, so a swap never changes the
model, the schema or the cleaning under a request in flight. Loads are serialized by a lock and happen off the
request path (start-up, `/admin/reload`, the optional polling task).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from level2_pipeline.contract import DataContract
from level2_pipeline.params import CleanParams
from level2_pipeline.pipelines.data_processing.nodes import fill_missing
from level3_system import registry
from level3_system.artifacts import TrainedWith, load_trained_with
from level3_system.serving.schemas import RequestModels
from level3_system.settings import Level3Settings

logger = logging.getLogger(__name__)

FromConf = Callable[[], tuple[DataContract, CleanParams]]


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
    trained_with: TrainedWith
    requests: RequestModels
    promotion: str = ""  # why it is champion: the decision recorded on the version
    trigger: str = "manual"  # why its training ran (manual, schedule, drift)

    @property
    def contract(self) -> DataContract:
        return self.trained_with.contract

    def _cleaned(self, customer: Mapping[str, Any]) -> Mapping[str, Any]:
        """Level 2's cleaning, only when a filled column is missing (filling nothing is the identity)."""
        rules = self.trained_with.clean.fill_missing
        if not rules or all(customer.get(name) is not None for name in rules):
            return customer
        return fill_missing(pd.DataFrame([dict(customer)]), self.trained_with.clean).to_dict(orient="records")[0]

    def predict_one(self, customer: Mapping[str, Any]) -> float:
        customer = self._cleaned(customer)
        if self.scorer is not None:
            return self.scorer.predict_one(customer)
        return float(self.sklearn_model.predict_proba(pd.DataFrame([customer]))[0, 1])

    def predict_many(self, customers: pd.DataFrame | Sequence[Mapping[str, Any]]) -> np.ndarray:
        frame = customers if isinstance(customers, pd.DataFrame) else pd.DataFrame.from_records(list(customers))
        frame = fill_missing(frame, self.trained_with.clean)
        if self.scorer is not None:
            return self.scorer.predict_many(frame)
        return self.sklearn_model.predict_proba(frame)[:, 1]


def load(settings: Level3Settings, from_conf: FromConf, version: Any | None = None) -> LoadedModel:
    """Load a version (the alias's by default): model, what it was trained with, and its fast path if it agrees."""
    version = version or registry.resolve(settings)
    number = str(version.version)
    sklearn_model = registry.load_model(settings, number)
    trained_with = load_trained_with(settings, version.run_id, from_conf, version=number)
    metrics, tags = registry.run_record(settings, version.run_id)
    threshold = settings.serving.threshold or metrics.get("threshold", 0.5)
    scorer, kind = _fast_path(settings, trained_with.contract, sklearn_model, version, metrics)
    return LoadedModel(
        name=settings.registered_model,
        version=number,
        alias=settings.serving.model_alias,
        run_id=version.run_id or "",
        metrics=metrics,
        trained_at=datetime.fromtimestamp(version.creation_timestamp / 1000, tz=UTC).isoformat(),
        threshold=float(threshold),
        sklearn_model=sklearn_model,
        scorer=scorer,
        fast_path=kind,
        trained_with=trained_with,
        requests=RequestModels.of(trained_with.contract, settings.serving.max_batch),
        promotion=str((version.tags or {}).get("promotion", "")),
        trigger=tags.get("trigger", "manual"),
    )


def _fast_path(
    settings: Level3Settings, contract: DataContract, model: Any, version: Any, metrics: dict[str, float]
) -> tuple[Any | None, str]:
    """The fastest scorer that applies and agrees with the registered model on a sample of the contract."""
    from level3_system.serving.fastpath import ARTIFACT_PATH, MAX_DIFFERENCE, LinearScorer, OnnxScorer, contract_sample

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
            onnx = OnnxScorer(registry.download(settings, version.run_id, ARTIFACT_PATH).read_bytes(), contract)
            if metrics.get("fast_path_max_difference", np.inf) <= MAX_DIFFERENCE and agrees(onnx):
                return onnx, "onnx"
            logger.warning("version %s: the ONNX export disagrees with the model", version.version)
        except Exception as exc:  # no export logged (older version, unconvertible model)
            logger.warning("version %s: no ONNX fast path (%s)", version.version, exc)
    if mode != "sklearn":
        logger.warning("version %s: scoring with the sklearn pipeline itself (slow path)", version.version)
    return None, "sklearn"


class ModelStore:
    def __init__(self, settings: Level3Settings, from_conf: FromConf) -> None:
        self._settings = settings
        self._from_conf = from_conf
        self._current: LoadedModel | None = None
        self._lock = threading.Lock()

    @property
    def current(self) -> LoadedModel | None:
        return self._current

    def conf_contract(self) -> DataContract:
        """Today's conf/ contract: what the docs show before any version is loaded."""
        return self._from_conf()[0]

    def reload(self) -> tuple[str | None, LoadedModel]:
        """Load the alias's version if it changed; swap in one assignment. Returns (previous version, model)."""
        with self._lock:
            previous = self._current
            target = registry.resolve(self._settings)
            if previous is not None and previous.version == str(target.version):
                return previous.version, previous
            loaded = load(self._settings, self._from_conf, target)
            if previous is not None and previous.contract != loaded.contract:
                logger.warning("version %s brings another data contract: the request schema changes", loaded.version)
            self._current = loaded
            logger.info(
                "serving %s version %s (%s fast path, contract from the %s)",
                loaded.name,
                loaded.version,
                loaded.fast_path,
                loaded.trained_with.source,
            )
            return (previous.version if previous else None), loaded
