"""The promotion policy: behaviour checks and the champion/challenger rule, as pure functions (no registry I/O).

A new version is `challenger`. It becomes `champion` when its holdout ROC AUC clears the floor, it passes the
behaviour checks, and it is not worse than the current champion on the same holdout (within a tolerance): in ROC
AUC, and in the net value per 1,000 customers its offers earn under today's economics (the champion offering at
the threshold it serves with). The
registry calls that carry the decision out are in `registry.py`; the flow's `promote` task joins the two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from level3_system.decision.policy import Economics, value_per_1000
from level3_system.settings import DirectionalCheck, InvarianceCheck, PromotionRules


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.name} {'passed' if self.passed else 'FAILED'}: {self.detail}"


@dataclass(frozen=True)
class Decision:
    promote: bool
    reasons: list[str]
    champion_version: str | None = None
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def text(self) -> str:
        verdict = "promoted to champion" if self.promote else "stays challenger"
        return f"{verdict}: " + "; ".join(self.reasons)


def probability(model: Any, data: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict_proba(data))[:, 1]


def invariance_check(model: Any, holdout: pd.DataFrame, rule: InvarianceCheck) -> CheckResult:
    """Flipping a field that should not matter (0/1, or between its two most common values) barely moves p."""
    values = holdout[rule.column].value_counts().index[:2].tolist()
    if len(values) < 2:
        return CheckResult(f"invariance({rule.column})", False, "needs two values in the holdout")
    flipped = holdout.copy()
    flipped[rule.column] = (
        holdout[rule.column].map({values[0]: values[1], values[1]: values[0]}).fillna(holdout[rule.column])
    )
    delta = np.abs(probability(model, flipped) - probability(model, holdout))
    passed = bool(delta.mean() <= rule.max_mean_delta and delta.max() <= rule.max_delta)
    detail = f"mean |Δp| {delta.mean():.4f} (≤ {rule.max_mean_delta}), max |Δp| {delta.max():.4f} (≤ {rule.max_delta})"
    return CheckResult(f"invariance({rule.column})", passed, detail)


def directional_check(model: Any, holdout: pd.DataFrame, rule: DirectionalCheck) -> CheckResult:
    """Changing a field one way must lower the risk for (nearly) every customer, all else equal."""
    before = holdout.copy()
    before[rule.column] = rule.from_value
    after = holdout.copy()
    after[rule.column] = rule.to_value
    share = float((probability(model, after) < probability(model, before)).mean())
    detail = f"{rule.column} {rule.from_value!r}→{rule.to_value!r} lowers p for {share:.1%} (≥ {rule.min_share:.0%})"
    return CheckResult(f"directional({rule.column})", share >= rule.min_share, detail)


def behaviour_checks(model: Any, holdout: pd.DataFrame, rules: PromotionRules) -> list[CheckResult]:
    checks = []
    if rules.invariance is not None:
        checks.append(invariance_check(model, holdout, rules.invariance))
    if rules.directional is not None:
        checks.append(directional_check(model, holdout, rules.directional))
    return checks


@dataclass(frozen=True)
class RecentComparison:
    """Both models on the newest outcomes (held out of training): how many, and each one's ROC AUC."""

    rows: int
    candidate_auc: float | None = None
    champion_auc: float | None = None


@dataclass(frozen=True)
class ValueComparison:
    """Both models' net value per 1,000 holdout customers under today's economics, each at its own threshold."""

    candidate: float
    champion: float
    champion_threshold: float


def _value_reason(value: ValueComparison, rules: PromotionRules, version: str | None) -> tuple[bool, str]:
    bar = value.champion - rules.value_tolerance * abs(value.champion)
    holds = value.candidate >= bar
    return holds, (
        f"vs champion v{version} net value per 1,000 (today's economics, its threshold "
        f"{value.champion_threshold:.2f}) {value.champion:,.0f} on the same holdout: {value.candidate:,.0f} "
        f"{'≥' if holds else '<'} {bar:,.0f} (tolerance {rules.value_tolerance:.0%})"
    )


def decide(
    candidate_auc: float,
    champion_auc: float | None,
    checks: list[CheckResult],
    rules: PromotionRules,
    champion_version: str | None = None,
    recent: RecentComparison | None = None,
    value: ValueComparison | None = None,
) -> Decision:
    """The promotion rule: every reason is kept, passed or failed. With a recent window of enough outcomes, the
    challenger must also hold up against the champion on it."""
    reasons: list[str] = []
    promote = True
    floor_ok = candidate_auc >= rules.min_roc_auc
    promote &= floor_ok
    reasons.append(f"holdout ROC AUC {candidate_auc:.4f} {'≥' if floor_ok else '<'} floor {rules.min_roc_auc}")
    for check in checks:
        promote &= check.passed
        reasons.append(str(check))
    if champion_auc is None:
        reasons.append("no champion yet")
    else:
        bar = champion_auc - rules.champion_tolerance
        beats = candidate_auc >= bar
        promote &= beats
        reasons.append(
            f"vs champion v{champion_version} ROC AUC {champion_auc:.4f} on the same holdout: "
            f"{candidate_auc:.4f} {'≥' if beats else '<'} {bar:.4f} (tolerance {rules.champion_tolerance})"
        )
        if value is not None:
            holds, reason = _value_reason(value, rules, champion_version)
            promote &= holds
            reasons.append(reason)
    if recent is not None:
        rule = rules.recent_window
        if recent.rows < rule.min_rows or recent.candidate_auc is None:
            reasons.append(f"recent window: {recent.rows} outcomes, fewer than {rule.min_rows}: not compared")
        elif recent.champion_auc is None:
            reasons.append(f"recent window ({recent.rows} newest outcomes): ROC AUC {recent.candidate_auc:.4f}")
        else:
            bar = recent.champion_auc - rule.tolerance
            holds = recent.candidate_auc >= bar
            promote &= holds
            reasons.append(
                f"recent window ({recent.rows} newest outcomes, held out of training): ROC AUC "
                f"{recent.candidate_auc:.4f} {'≥' if holds else '<'} champion's {recent.champion_auc:.4f} - "
                f"{rule.tolerance}"
            )
    return Decision(promote=bool(promote), reasons=reasons, champion_version=champion_version, checks=checks)


def _auc(model: Any, x: pd.DataFrame, y: pd.Series) -> float | None:
    return float(roc_auc_score(y, probability(model, x))) if len(set(y)) == 2 else None


def evaluate_candidate(
    model: Any,
    x_test: pd.DataFrame,
    y_test: pd.Series,
    candidate_auc: float,
    rules: PromotionRules,
    champion: tuple[str, Any] | None = None,
    recent: tuple[pd.DataFrame, pd.Series] | None = None,
    value: tuple[float, float, Economics] | None = None,
) -> Decision:
    """Judge a candidate: its holdout AUC (scored once, by level 2's `evaluate`), the behaviour checks, the
    champion `(version, model)` scored on the same holdout when there is one, and both on the `recent` window
    (the newest outcomes, held out of a retraining) when there is one. `value`: the candidate's net value per
    1,000 on the holdout, the champion's threshold and today's economics, to compare them in money too."""
    checks = behaviour_checks(model, x_test, rules)
    window = None
    if recent is not None:
        x_recent, y_recent = recent
        enough = len(y_recent) >= rules.recent_window.min_rows
        window = RecentComparison(
            rows=len(y_recent),
            candidate_auc=_auc(model, x_recent, y_recent) if enough else None,
            champion_auc=_auc(champion[1], x_recent, y_recent) if enough and champion is not None else None,
        )
    if champion is None:
        return decide(candidate_auc, None, checks, rules, recent=window)
    version, champion_model = champion
    champion_p = probability(champion_model, x_test)
    champion_auc = float(roc_auc_score(y_test, champion_p))
    money = None
    if value is not None:
        candidate_value, threshold, economics = value
        champion_value = value_per_1000(np.asarray(y_test), champion_p >= threshold, economics)
        money = ValueComparison(candidate_value, champion_value, threshold)
    return decide(candidate_auc, champion_auc, checks, rules, champion_version=version, recent=window, value=money)
