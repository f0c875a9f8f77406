"""The monitor's verdict: realized performance where outcomes arrived, and the alert rule (pure functions).

The rule lives in conf/ (`monitoring:`): a window is drifted when at least `drift_share` of the features drift; an
alert needs `consecutive_windows` drifted windows in a row of the same version (hysteresis: one odd window is
not a reason to retrain), or a realized ROC AUC more than `max_roc_auc_drop` below the version's holdout figure
on at least `min_labeled` outcomes, or a realized net value per 1,000 customers (the version's offers, valued
under its economics) below the lower bound of the holdout's 95 % interval. Below `min_rows` there is no verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from level3_system.decision.policy import OfferPolicy, value_per_1000
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


def realized_value(
    window: pd.DataFrame, offers: OfferPolicy, decision: dict[str, Any] | None, min_labeled: int
) -> dict[str, Any] | None:
    """What the version's offers earned on the window's labelled rows, per 1,000 customers, beside the holdout's
    estimate and interval (its decision.json); None below `min_labeled` outcomes."""
    if "positive" not in window:
        return None
    labelled = window[window["positive"].notna()]
    if len(labelled) < min_labeled:
        return None
    y = labelled["positive"].astype(bool).to_numpy(dtype=int)
    offered = offers.offer(labelled["probability"].to_numpy(dtype=float))
    holdout = (decision or {}).get("value_per_1000") or {}
    return {
        "value_per_1000": round(value_per_1000(y, offered, offers.economics), 2),
        "offer_all_per_1000": round(value_per_1000(y, np.ones(len(y), dtype=bool), offers.economics), 2),
        "offers_per_1000": round(float(offered.mean() * 1000), 1),
        "threshold": offers.threshold,
        "n": len(labelled),
        "holdout_value_per_1000": holdout.get("model"),
        "holdout_interval_95": ((decision or {}).get("interval_95") or {}).get("model"),
    }


def _value_reason(value: dict[str, Any] | None, rules: MonitoringSettings) -> tuple[bool, str]:
    if value is None:
        return False, f"realized value: fewer than {rules.min_labeled} labelled rows"
    earned = f"realized net value {value['value_per_1000']:,.0f} per 1,000 on {value['n']} labelled rows"
    interval = value["holdout_interval_95"]
    if interval is None:
        return False, f"{earned} (the version carries no holdout estimate to compare with)"
    low, high = interval
    below = value["value_per_1000"] < low
    where = "below" if below else ("within" if value["value_per_1000"] <= high else "above")
    return below, (
        f"{earned}, {where} the holdout's {value['holdout_value_per_1000']:,.0f} [{low:,.0f}, {high:,.0f}]"
        + (": alert" if below else "")
    )


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
    value: dict[str, Any] | None = None,
) -> Verdict:
    """`previous`: earlier results of the same version, newest first (their `dataset_drift`); `value`: what
    `realized_value` found."""
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
    value_alert, reason = _value_reason(value, rules)
    reasons.append(reason)
    return Verdict(bool(drift_alert or performance_alert or value_alert), reasons, consecutive)
