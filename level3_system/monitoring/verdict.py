"""The monitor's verdict: realized performance where outcomes arrived, and the alert rule (pure functions).

The rule lives in conf/ (`monitoring:`): a window is drifted when at least `drift_share` of the features drift; an
alert needs `consecutive_windows` drifted windows in a row of the same version (hysteresis: one odd window is
not a reason to retrain), or a realized ROC AUC more than `max_roc_auc_drop` below the version's holdout figure
on at least `min_labeled` outcomes. Below `min_rows` there is no verdict at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from level3_system.monitoring.drift import DriftResult
from level3_system.settings import MonitoringSettings

FEATURES_NAMED = 8


def realized_performance(window: pd.DataFrame, min_labeled: int) -> dict[str, float] | None:
    """ROC AUC, PR AUC and Brier score on the window's rows whose outcome arrived; None below `min_labeled` or
    with one class only (no ranking to measure)."""
    if "positive" not in window:
        return None
    labelled = window[window["positive"].notna()]
    y = labelled["positive"].astype(bool).to_numpy(dtype=int)
    if len(labelled) < min_labeled or len(np.unique(y)) < 2:
        return None
    p = labelled["probability"].to_numpy(dtype=float)
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "n": len(labelled),
    }


@dataclass(frozen=True)
class Verdict:
    alert: bool
    reasons: list[str]
    consecutive_drifted: int


def _named(names: list[str]) -> str:
    shown = ", ".join(names[:FEATURES_NAMED])
    return shown + (f" and {len(names) - FEATURES_NAMED} more" if len(names) > FEATURES_NAMED else "")


def judge(
    drift: DriftResult | None,
    performance: dict[str, float] | None,
    holdout: dict[str, float],
    previous: list[dict[str, Any]],
    rules: MonitoringSettings,
    n_rows: int,
) -> Verdict:
    """`previous`: earlier results of the same version, newest first (their `dataset_drift`)."""
    if drift is None:
        return Verdict(False, [f"not enough data: {n_rows} rows in the window, {rules.min_rows} needed: no verdict"], 0)
    reasons: list[str] = []
    n_features, drifted = len(drift.features), drift.drifted_features
    share = f"{len(drifted)} of {n_features} features drifted ({drift.drift_share:.0%}"
    if drift.dataset_drift:
        reasons.append(f"dataset drift: {share} ≥ {rules.drift_share:.0%}): {_named(drifted)}")
    else:
        tail = f": {_named(drifted)}" if drifted else ""
        reasons.append(f"no dataset drift: {share} < {rules.drift_share:.0%}){tail}")
    p = drift.prediction
    reasons.append(f"prediction drift {'yes' if p.drifted else 'no'}: {p.method} {p.score:.3g}")
    consecutive = 0
    if drift.dataset_drift:
        consecutive = 1
        for earlier in previous:
            if earlier.get("dataset_drift") is not True:
                break
            consecutive += 1
    drift_alert = drift.dataset_drift and consecutive >= rules.consecutive_windows
    if drift.dataset_drift:
        needed = rules.consecutive_windows
        reasons.append(
            f"drifted in {consecutive} consecutive window(s) of this version: "
            + ("alert" if drift_alert else f"an alert needs {needed}")
        )
    performance_alert = False
    if performance is None:
        reasons.append(f"realized performance: fewer than {rules.min_labeled} labelled rows of both classes")
    else:
        expected = holdout.get("roc_auc")
        drop = (expected - performance["roc_auc"]) if expected is not None else None
        performance_alert = drop is not None and drop > rules.max_roc_auc_drop
        against = f", holdout {expected:.4f}: drop {drop:+.4f} (tolerated {rules.max_roc_auc_drop})" if drop else ""
        reasons.append(
            f"realized ROC AUC {performance['roc_auc']:.4f} on {performance['n']} labelled rows{against}"
            + (": alert" if performance_alert else "")
        )
    return Verdict(bool(drift_alert or performance_alert), reasons, consecutive)
