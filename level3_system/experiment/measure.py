"""What one model family costs and earns, measured on the levels' own split and preprocessing contract.

Every family is built by level 2's `make_model` (the estimator the levels would train if conf/ switched to it),
so the comparison is between the models a team would actually ship, not between notebook variants. For each:
cross-validated ROC AUC on the training split (mean ± sd over stratified folds), fit time, the holdout metrics of
level 2's `classification_metrics`, and the serving cost through the best fast path the service would accept for
it (the linear or the tree fold, ONNX if it agrees with the model within the service's tolerance, else the
sklearn pipeline): single-row latency, batch throughput, and the size of what would be served.
"""

from __future__ import annotations

import pickle
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from level2_pipeline.contract import DataContract
from level2_pipeline.params import ModelParams


@dataclass
class FamilyResult:
    family: str
    cv_roc_auc: float
    cv_roc_auc_sd: float
    fit_seconds: float
    holdout: dict[str, float]
    fast_path: str  # "linear", "trees", "onnx" or "sklearn": what the service would score it with
    fast_path_note: str  # why that one (e.g. the ONNX export's largest difference)
    one_row_ms: float  # median single-row latency through the fast path
    batch_rows_s: float
    model_bytes: int  # the pickled pipeline (what the registry stores)
    served_bytes: int  # what scoring loads: the fold's weights, the ONNX graph, or the pipeline

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


def cross_validate(model: Any, x: pd.DataFrame, y: pd.Series, folds: int, seed: int) -> tuple[float, float]:
    """ROC AUC over stratified, shuffled folds seeded by the split: (mean, sample sd). `make init` measures its
    promotion floor with it too."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = cross_val_score(model, x, y, cv=splits, scoring="roc_auc")
    return float(scores.mean()), float(scores.std(ddof=1))


def _fast_path(model: Any, contract: DataContract, holdout: pd.DataFrame) -> tuple[str, str, Any, int]:
    """The scorer the service would use (`fastpath.choose`, its ONNX export made here and held to the holdout as
    at training): its kind, why, the scorer, and the bytes it would load."""
    import json

    from level3_system.serving.fastpath import choose, export_onnx

    choice = choose(
        model,
        contract,
        "auto",
        lambda: export_onnx(model, contract),
        lambda onnx: float(np.abs(onnx.predict_many(holdout) - _p(model, holdout)).max()),
    )
    if choice.kind == "linear":
        return "linear", "exact fold of the pipeline", choice.scorer, len(json.dumps(choice.scorer.to_dict()))
    if choice.kind == "trees":
        note = (
            f"exact tree fold (max |Δp| {choice.scorer.max_difference(holdout, _p(model, holdout)):.1g} on the holdout)"
        )
        return "trees", note, choice.scorer, len(json.dumps(choice.scorer.to_dict()))
    if choice.kind == "onnx":
        return "onnx", "ONNX agrees with the model", choice.scorer, choice.onnx_bytes
    passed_over = [r for r in choice.reasons if "fold of this" not in r and "slow path" not in r]
    note = "; ".join(passed_over)
    if choice.onnx is not None:  # disagreeing ONNX: what it would cost if a looser tolerance were justified
        row = holdout[list(contract.features)].iloc[0].to_dict()
        note += f"; it would score a row in {_median_ms(lambda: choice.onnx.predict_one(row), 200):.3f} ms"
    return "sklearn", note, None, 0


def _p(model: Any, frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict_proba(frame))[:, 1]


def _median_ms(call: Any, calls: int) -> float:
    for _ in range(min(50, calls)):
        call()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000)


def measure(
    family: str,
    params: ModelParams,
    contract: DataContract,
    split: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series],
    *,
    folds: int,
    seed: int,
    threshold: float,
    latency_calls: int,
    batch_rows: int,
) -> tuple[FamilyResult, Any]:
    """One family, measured; returns the result and the fitted pipeline."""
    from level2_pipeline.pipelines.data_science.nodes import classification_metrics, make_model

    x_train, x_test, y_train, y_test = split
    params = params.model_copy(update={"family": family})
    cv_mean, cv_sd = cross_validate(make_model(contract, params), x_train, y_train, folds, seed)
    started = time.perf_counter()
    model = make_model(contract, params).fit(x_train, y_train)
    fit_seconds = time.perf_counter() - started
    holdout = classification_metrics(y_test, _p(model, x_test), threshold)
    kind, note, scorer, served_bytes = _fast_path(model, contract, x_test)
    features = x_test[list(contract.features)]
    row = features.iloc[0].to_dict()
    batch = features.sample(batch_rows, replace=True, random_state=seed).reset_index(drop=True)
    if scorer is not None:
        one_row = _median_ms(lambda: scorer.predict_one(row), latency_calls)
        started = time.perf_counter()
        scorer.predict_many(batch)
    else:
        frame = pd.DataFrame([row])
        one_row = _median_ms(lambda: model.predict_proba(frame), max(10, latency_calls // 20))
        started = time.perf_counter()
        model.predict_proba(batch)
    batch_rows_s = batch_rows / (time.perf_counter() - started)
    model_bytes = len(pickle.dumps(model))
    result = FamilyResult(
        family=family,
        cv_roc_auc=cv_mean,
        cv_roc_auc_sd=cv_sd,
        fit_seconds=fit_seconds,
        holdout={k: float(v) for k, v in holdout.items()},
        fast_path=kind,
        fast_path_note=note,
        one_row_ms=one_row,
        batch_rows_s=batch_rows_s,
        model_bytes=model_bytes,
        served_bytes=served_bytes or model_bytes,
    )
    return result, model


def recommend(results: list[FamilyResult], within_roc_auc: float) -> tuple[str, str]:
    """The rule of conf/ (`model_selection.within_roc_auc`): the fastest family (single-row latency) whose CV ROC
    AUC is within the margin of the best. Returns the family and one sentence saying why."""
    best = max(results, key=lambda r: r.cv_roc_auc)
    eligible = [r for r in results if r.cv_roc_auc >= best.cv_roc_auc - within_roc_auc]
    chosen = min(eligible, key=lambda r: r.one_row_ms)
    if chosen is best:
        why = (
            f"{chosen.family} has the best CV ROC AUC ({chosen.cv_roc_auc:.4f}) and is also the fastest of those "
            f"within {within_roc_auc} of it ({chosen.one_row_ms:.3f} ms a row)"
        )
    else:
        why = (
            f"{chosen.family} is within {within_roc_auc} of the best CV ROC AUC ({chosen.cv_roc_auc:.4f} against "
            f"{best.family}'s {best.cv_roc_auc:.4f}) and scores a row {_times(best.one_row_ms / chosen.one_row_ms)} "
            f"faster ({chosen.one_row_ms:.3f} ms against {best.one_row_ms:.3f} ms)"
        )
    return chosen.family, why


def _times(ratio: float) -> str:
    return f"{ratio:.1f}×" if ratio < 10 else f"{ratio:,.0f}×"
