"""Model registry with aliases: every trained model is a version; `champion` moves only on evidence.

A new version is aliased `challenger`. It becomes `champion` when it passes the behaviour checks and is not
worse than the current champion on the same holdout (within a tolerance). Moving an alias is one update in
the registry, so there is never a moment without a champion, and serving loads `models:/<name>@champion`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from level3_system.settings import DirectionalCheck, InvarianceCheck, Level3Settings, PromotionRules

logger = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"


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


def _probability(model: Any, data: pd.DataFrame) -> np.ndarray:
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
    delta = np.abs(_probability(model, flipped) - _probability(model, holdout))
    passed = bool(delta.mean() <= rule.max_mean_delta and delta.max() <= rule.max_delta)
    detail = f"mean |Δp| {delta.mean():.4f} (≤ {rule.max_mean_delta}), max |Δp| {delta.max():.4f} (≤ {rule.max_delta})"
    return CheckResult(f"invariance({rule.column})", passed, detail)


def directional_check(model: Any, holdout: pd.DataFrame, rule: DirectionalCheck) -> CheckResult:
    """Changing a field one way must lower the risk for (nearly) every customer, all else equal."""
    before = holdout.copy()
    before[rule.column] = rule.from_value
    after = holdout.copy()
    after[rule.column] = rule.to_value
    share = float((_probability(model, after) < _probability(model, before)).mean())
    detail = f"{rule.column} {rule.from_value!r}→{rule.to_value!r} lowers p for {share:.1%} (≥ {rule.min_share:.0%})"
    return CheckResult(f"directional({rule.column})", share >= rule.min_share, detail)


def behaviour_checks(model: Any, holdout: pd.DataFrame, rules: PromotionRules) -> list[CheckResult]:
    checks = []
    if rules.invariance is not None:
        checks.append(invariance_check(model, holdout, rules.invariance))
    if rules.directional is not None:
        checks.append(directional_check(model, holdout, rules.directional))
    return checks


def decide(
    candidate_auc: float,
    champion_auc: float | None,
    checks: list[CheckResult],
    rules: PromotionRules,
    champion_version: str | None = None,
) -> Decision:
    """The promotion rule as a pure function: every reason is kept, passed or failed."""
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
    return Decision(promote=bool(promote), reasons=reasons, champion_version=champion_version, checks=checks)


def _client(settings: Level3Settings) -> Any:
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(settings.resolved_tracking_uri)
    return MlflowClient(settings.resolved_tracking_uri)


def champion_version(settings: Level3Settings) -> Any | None:
    """The version behind `@champion`, or None when there is none (or no registered model yet)."""
    from mlflow.exceptions import MlflowException

    try:
        return _client(settings).get_model_version_by_alias(settings.registered_model, CHAMPION)
    except MlflowException:
        return None


def register(settings: Level3Settings, model_uri: str, run_id: str, model_id: str | None = None) -> str:
    """Create a new version from the run's model and alias it `challenger`."""
    from mlflow.exceptions import MlflowException

    client = _client(settings)
    name = settings.registered_model
    try:
        description = f"Probability of the positive class, from the level-3 flow (experiment {settings.experiment})."
        client.create_registered_model(name, description=description)
    except MlflowException as exc:
        if "already exists" not in str(exc).lower() and "ALREADY_EXISTS" not in str(exc.error_code):
            raise
    created = client.create_model_version(name, source=model_uri, run_id=run_id, model_id=model_id)
    client.set_registered_model_alias(name, CHALLENGER, created.version)
    return str(created.version)


def evaluate_candidate(
    settings: Level3Settings, model: Any, x_test: pd.DataFrame, y_test: pd.Series, candidate_version: str
) -> Decision:
    """Run the behaviour checks and score the current champion on the candidate's holdout."""
    import mlflow

    candidate_auc = float(roc_auc_score(y_test, _probability(model, x_test)))
    checks = behaviour_checks(model, x_test, settings.promotion)
    current = champion_version(settings)
    champion_auc = None
    if current is not None and str(current.version) != candidate_version:
        champion = mlflow.sklearn.load_model(f"models:/{settings.registered_model}@{CHAMPION}")
        champion_auc = float(roc_auc_score(y_test, _probability(champion, x_test)))
    return decide(
        candidate_auc,
        champion_auc,
        checks,
        settings.promotion,
        champion_version=str(current.version) if current is not None and champion_auc is not None else None,
    )


def apply_decision(settings: Level3Settings, version: str, run_id: str, decision: Decision) -> None:
    """Record the decision on the version and the run; move `champion` in one alias update if promoted."""
    client = _client(settings)
    name = settings.registered_model
    client.set_model_version_tag(name, version, "promotion", decision.text[:5000])
    client.set_tag(run_id, "promotion", decision.text[:5000])
    if decision.promote:
        client.set_registered_model_alias(name, CHAMPION, version)
        client.delete_registered_model_alias(name, CHALLENGER)
