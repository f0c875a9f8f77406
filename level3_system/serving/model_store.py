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
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from level2_pipeline.contract import DataContract
from level2_pipeline.params import CleanParams
from level2_pipeline.pipelines.data_processing.nodes import fill_missing
from level3_system.decision.policy import OfferPolicy
from level3_system.lifecycle import registry
from level3_system.lifecycle.artifacts import TrainedWith, load_decision, load_trained_with, offer_policy
from level3_system.serving.schemas import RequestModels
from level3_system.settings import Level3Settings

logger = logging.getLogger(__name__)

FromConf = Callable[[], tuple[DataContract, CleanParams]]
RECHECK_SECONDS = 5.0  # a start-up check that could not reach the registry tries again after this


@dataclass(frozen=True)
class LoadedModel:
    name: str
    version: str
    alias: str
    run_id: str
    metrics: dict[str, float]
    trained_at: str
    threshold: float
    sklearn_model: Any | None  # None only while a start-up on the stored proof is being checked (`verified`)
    scorer: Any | None  # LinearScorer, TreeScorer or OnnxScorer, when it agrees with the sklearn model
    fast_path: str  # "linear", "trees", "onnx" or "sklearn"
    trained_with: TrainedWith
    requests: RequestModels
    offers: OfferPolicy  # who gets a retention offer: the version's decision (or serving.threshold)
    decision: dict[str, Any] | None = None  # the version's decision.json (None: a version trained before them)
    promotion: str = ""  # why it is champion: the decision recorded on the version
    trigger: str = "manual"  # why its training ran (manual, schedule, drift)
    verified: bool = True  # False: serving on the proof stored at training, the load-time check still running

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

    def decide(self, probability: float) -> tuple[bool, float]:
        """The retention decision for one probability: offer?, and the offer's expected net value."""
        economics = self.offers.economics
        return probability >= self.offers.threshold, probability * economics.saved - economics.offer_cost

    def predict_many(self, customers: pd.DataFrame | Sequence[Mapping[str, Any]]) -> np.ndarray:
        frame = customers if isinstance(customers, pd.DataFrame) else pd.DataFrame.from_records(list(customers))
        frame = fill_missing(frame, self.trained_with.clean)
        if self.scorer is not None:
            return self.scorer.predict_many(frame)
        return self.sklearn_model.predict_proba(frame)[:, 1]


def load(
    settings: Level3Settings, from_conf: FromConf, version: Any | None = None, *, stored_proof: bool = False
) -> LoadedModel:
    """Load a version (the alias's by default): model, what it was trained with, and its fast path if it agrees.

    `stored_proof`: when the version carries its linear fold with a proof from training, serve on it without
    loading sklearn (not `verified`: `verify` completes the load-time check, off the start-up path)."""
    version = version or registry.resolve(settings)
    number = str(version.version)
    trained_with = load_trained_with(settings, version.run_id, from_conf, version=number)
    metrics, tags = registry.run_record(settings, version.run_id)
    threshold = metrics.get("threshold", 0.5)  # the label's, as every level evaluates (the metrics contract)
    decision = load_decision(settings, version.run_id)
    stored = _stored_linear(settings, version) if stored_proof else None
    if stored is not None:
        sklearn_model, scorer, kind = None, stored, "linear"
    else:
        sklearn_model = registry.load_model(settings, number)
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
        offers=offer_policy(settings, decision, version=number),
        decision=decision,
        promotion=str((version.tags or {}).get("promotion", "")),
        trigger=tags.get("trigger", "manual"),
        verified=stored is None,
    )


def _stored_linear(settings: Level3Settings, version: Any) -> Any | None:
    """The version's linear fold, if training stored one whose proof holds (and the settings allow it)."""
    import json

    from level3_system.serving.fastpath import LINEAR_PATH, MAX_DIFFERENCE, LinearScorer

    if settings.serving.fast_path not in ("auto", "linear"):
        return None
    try:
        proof = json.loads(registry.download(settings, version.run_id, LINEAR_PATH).read_text())
        if float(proof["max_difference"]) <= MAX_DIFFERENCE:
            return LinearScorer.from_dict(proof["weights"])
    except Exception as exc:  # an older version, or another model family: the full load decides
        logger.info("version %s: no stored linear proof (%s)", version.version, " ".join(str(exc).split())[:200])
    return None


def verify(settings: Level3Settings, loaded: LoadedModel) -> LoadedModel:
    """The load-time check of a model served on its stored proof: load the registered sklearn pipeline and
    require the fast path to agree with it on the contract sample. Raises when the artifact does not load or
    disagrees (the caller stops serving that version)."""
    from level3_system.serving.fastpath import MAX_DIFFERENCE, disagreement

    if loaded.verified:
        return loaded
    model = registry.load_model(settings, loaded.version)
    difference = disagreement(model, loaded.scorer, loaded.contract)
    if not difference <= MAX_DIFFERENCE:
        raise ValueError(f"its stored fast path disagrees with its model by {difference:.2e} (> {MAX_DIFFERENCE})")
    return replace(loaded, sklearn_model=model, verified=True)


def _fast_path(
    settings: Level3Settings, contract: DataContract, model: Any, version: Any, metrics: dict[str, float]
) -> tuple[Any | None, str]:
    """The fastest scorer that applies and agrees with the registered model (`fastpath.choose`); the ONNX export
    is the one logged at training, with the difference it had on the holdout; so are the exported trees."""
    import json

    from level3_system.serving.fastpath import ARTIFACT_PATH, choose
    from level3_system.serving.trees import TREES_PATH

    choice = choose(
        model,
        contract,
        settings.serving.fast_path,
        lambda: registry.download(settings, version.run_id, ARTIFACT_PATH).read_bytes(),
        lambda _: metrics.get("fast_path_max_difference", np.inf),
        lambda: json.loads(registry.download(settings, version.run_id, TREES_PATH).read_text()),
    )
    for reason in choice.reasons:
        logger.warning("version %s: %s", version.version, reason)
    return choice.scorer, choice.kind


class ModelStore:
    """The version served. The first load (start-up) serves on the proof stored at training when there is one
    and checks it in the background; a later swap is checked in full before it replaces what serves."""

    def __init__(
        self, settings: Level3Settings, from_conf: FromConf, on_failed_check: Callable[[], None] | None = None
    ) -> None:
        self._settings = settings
        self._from_conf = from_conf
        self._current: LoadedModel | None = None
        self._lock = threading.Lock()
        self._on_failed_check = on_failed_check
        self.refused: str | None = None  # why the version loaded at start-up was withdrawn, if it was

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
            first = previous is None and self.refused is None  # after a withdrawal, only a full check serves
            loaded = load(self._settings, self._from_conf, target, stored_proof=first)
            self.refused = None
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
            if not loaded.verified:
                threading.Thread(target=self._verify, args=(loaded,), name="model-check", daemon=True).start()
            return (previous.version if previous else None), loaded

    def _verify(self, loaded: LoadedModel) -> None:
        """The background check. The registry out of reach is not a verdict: the version keeps serving on its
        proof and the check tries again; a model that does not load or disagrees is withdrawn."""
        from level3_system.runtime.retry import is_transient

        while self._current is loaded:
            try:
                checked = verify(self._settings, loaded)
            except Exception as exc:
                if is_transient(exc):
                    why = " ".join(str(exc).split())[:200]
                    logger.warning(
                        "version %s: check postponed, the registry is out of reach (%s)", loaded.version, why
                    )
                    time.sleep(RECHECK_SECONDS)
                    continue
                self._withdraw(loaded, exc)
                return
            with self._lock:
                if self._current is loaded:
                    self._current = checked
            logger.info("version %s checked: its fast path agrees with the registered model", loaded.version)
            return

    def _withdraw(self, loaded: LoadedModel, exc: Exception) -> None:
        with self._lock:
            if self._current is not loaded:  # already replaced by a swap, which was checked in full
                return
            self._current = None  # no answer from a model that failed its check
            self.refused = f"version {loaded.version} failed its load-time check: {exc}"
        logger.error("version %s withdrawn, the service is unready: %s", loaded.version, exc)
        if self._on_failed_check is not None:
            self._on_failed_check()
