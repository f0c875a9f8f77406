"""The statistics of the model card, as pure functions of the holdout's labels and probabilities.

Metrics with percentile bootstrap intervals (vectorised: a resample is a row of counts per holdout customer, fixed
seed), a reliability table, and the metrics per segment. `model_card.py` assembles them into the card, with the
decision training made (`decision_report.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from level3_system.settings import SegmentSpec

CONFIDENCE = 0.95
CALIBRATION_BINS = 10


# --- metrics on weighted samples (a bootstrap resample is a row of counts per holdout customer) ----------------


def _grouped(y: np.ndarray, p: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative weight per distinct probability, highest probability first: (B, G) each."""
    order = np.argsort(-p, kind="stable")
    p_sorted = p[order]
    starts = np.flatnonzero(np.r_[True, p_sorted[1:] != p_sorted[:-1]])
    w = weights[:, order].astype(float)
    positive = np.add.reduceat(w * y[order], starts, axis=1)
    negative = np.add.reduceat(w * (1 - y[order]), starts, axis=1)
    return positive, negative


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def weighted_metrics(y: np.ndarray, p: np.ndarray, weights: np.ndarray, threshold: float) -> dict[str, np.ndarray]:
    """ROC AUC, PR AUC (average precision, as scikit-learn), Brier, recall and precision at `threshold`.

    `weights` is (B, n): one row per resample, the number of times each customer was drawn (ones: the holdout
    itself). Ties between probabilities count half, as in scikit-learn. Undefined values (a resample without a
    churner) are NaN.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    weights = np.atleast_2d(weights)
    positive, negative = _grouped(y, p, weights)
    total_pos, total_neg = positive.sum(axis=1), negative.sum(axis=1)
    # ROC AUC: for each positive, the negatives ranked below it (+ half the ties).
    negatives_below = total_neg[:, None] - np.cumsum(negative, axis=1)
    roc_auc = _divide((positive * (negatives_below + 0.5 * negative)).sum(axis=1), total_pos * total_neg)
    # Average precision: precision at each distinct threshold, weighted by the recall it adds.
    tp, fp = np.cumsum(positive, axis=1), np.cumsum(negative, axis=1)
    precision_at = _divide(tp, tp + fp)
    pr_auc = _divide((positive * np.nan_to_num(precision_at)).sum(axis=1), total_pos)
    n = weights.sum(axis=1)
    brier = _divide((weights * (p - y) ** 2).sum(axis=1), n)
    flagged = weights * (p >= threshold)
    true_positive = (flagged * y).sum(axis=1)
    return {
        "roc_auc": roc_auc,
        "pr_auc": pr_auc,
        "brier": brier,
        f"recall@{threshold:g}": _divide(true_positive, total_pos),
        f"precision@{threshold:g}": _divide(true_positive, flagged.sum(axis=1)),
    }


def bootstrap_weights(n: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n) counts: how often each of n customers is drawn in each resample (with replacement)."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(resamples, n))
    offsets = np.arange(resamples)[:, None] * n
    return np.bincount((draws + offsets).ravel(), minlength=resamples * n).reshape(resamples, n)


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float


def bootstrap_metrics(
    y: np.ndarray, p: np.ndarray, thresholds: list[float], *, resamples: int, seed: int
) -> dict[str, Estimate]:
    """Each metric on the holdout with its percentile bootstrap interval (CONFIDENCE), deterministic in `seed`."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    weights = bootstrap_weights(len(y), resamples, seed)
    ones = np.ones((1, len(y)))
    tail = 100 * (1 - CONFIDENCE) / 2
    found: dict[str, Estimate] = {}
    for threshold in thresholds:
        point = weighted_metrics(y, p, ones, threshold)
        spread = weighted_metrics(y, p, weights, threshold)
        for name, values in spread.items():
            if name in found:
                continue
            defined = values[~np.isnan(values)]  # a resample without a churner (or a flag) has no value
            low, high = np.percentile(defined, [tail, 100 - tail]) if defined.size else (np.nan, np.nan)
            found[name] = Estimate(float(point[name][0]), float(low), float(high))
    return found


# --- calibration and segments ------------------------------------------------------------------------------


def reliability_table(y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Equal-width probability bins: customers, mean predicted probability, observed churn rate."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    index = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        inside = index == b
        count = int(inside.sum())
        rows.append(
            {
                "bin": f"[{b / bins:.1f}, {(b + 1) / bins:.1f}{']' if b == bins - 1 else ')'}",
                "n": count,
                "mean_predicted": float(p[inside].mean()) if count else np.nan,
                "observed_rate": float(y[inside].mean()) if count else np.nan,
            }
        )
    return pd.DataFrame(rows)


def segment_labels(values: pd.Series, spec: SegmentSpec) -> pd.Series:
    """The segment of each customer: the value itself, or its band when `bins` (left-closed edges) are given.

    Bands are [e0, e1), [e1, e2), ..., and ≥ the last edge; values below the first edge get no band.
    """
    if not spec.bins:
        return values.astype(str)
    edges = [*spec.bins, np.inf]
    names = spec.labels or [f"{lo:g}–{hi:g}" for lo, hi in zip(spec.bins[:-1], spec.bins[1:], strict=True)] + [
        f"≥{spec.bins[-1]:g}"
    ]
    return pd.cut(values.astype(float), bins=edges, right=False, labels=names).astype(object).astype(str)


def segment_table(
    x: pd.DataFrame, y: np.ndarray, p: np.ndarray, spec: SegmentSpec, threshold: float
) -> pd.DataFrame | None:
    """Per segment: customers, churn rate, mean predicted, ROC AUC, Brier, recall and precision at `threshold`.

    None when the holdout has no such column (a configuration naming a column the data set does not have).
    """
    if spec.column not in x.columns:
        return None
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    labels = segment_labels(x[spec.column].reset_index(drop=True), spec).to_numpy()
    order = spec.labels if spec.bins and spec.labels else None
    names = [n for n in (order or sorted(set(labels))) if n in set(labels) and n != "nan"]
    rows = []
    for name in names:
        inside = labels == name
        metrics = weighted_metrics(y[inside], p[inside], np.ones((1, int(inside.sum()))), threshold)
        rows.append(
            {
                "segment": name,
                "n": int(inside.sum()),
                "churn_rate": float(y[inside].mean()),
                "mean_predicted": float(p[inside].mean()),
                "roc_auc": float(metrics["roc_auc"][0]),
                "brier": float(metrics["brier"][0]),
                "recall": float(metrics[f"recall@{threshold:g}"][0]),
                "precision": float(metrics[f"precision@{threshold:g}"][0]),
            }
        )
    return pd.DataFrame(rows)
