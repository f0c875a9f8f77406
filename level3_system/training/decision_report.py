"""The decision a version is trained with: its threshold chosen out of the holdout, then valued on it.

The threshold is chosen on out-of-fold probabilities of the training rows (`decision.cv_folds` stratified folds,
the model's own pipeline refitted per fold): choosing it on the holdout and reporting on the same holdout would
select on the test set and flatter the figure. The holdout then says what the policy earns per 1,000 customers
against offering to everyone, to no one, and to a random set of the same size, with percentile bootstrap
intervals (the model card's resamples and seed), and the analytic break-even beside the chosen threshold: far
apart, the probabilities are not calibrated for this decision. The result is `decision.json` (a **contract**).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from level3_system.decision.policy import (
    PER,
    THRESHOLD_GRID,
    Economics,
    OfferPolicy,
    choose_threshold,
    value_curve,
)
from level3_system.settings import DecisionSettings
from level3_system.training.card_stats import CONFIDENCE, bootstrap_weights

SPLIT_SEED = 42  # the folds, as level 2's split


def out_of_fold(model: Any, x_train: pd.DataFrame, y_train: pd.Series, folds: int) -> np.ndarray:
    """Each training row's probability from a copy of the pipeline fitted on the other folds."""
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SPLIT_SEED)
    return cross_val_predict(clone(model), x_train, y_train, cv=splitter, method="predict_proba")[:, 1]


def _interval(values: np.ndarray) -> list[float]:
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return [round(float(low), 2), round(float(high), 2)]


def decision_report(
    y_test: Any,
    p_test: np.ndarray,
    settings: DecisionSettings,
    *,
    y_train: Any = None,
    p_out_of_fold: np.ndarray | None = None,
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """decision.json: the policy, its threshold and what it earns on the holdout, with 95 % intervals."""
    economics = Economics.of(settings)
    y = np.asarray(y_test, dtype=float)
    p = np.asarray(p_test, dtype=float)
    chosen_on_training = settings.policy == "expected_value"
    if chosen_on_training:
        if p_out_of_fold is None or y_train is None:
            raise ValueError("policy expected_value needs the training rows' out-of-fold probabilities")
        threshold = choose_threshold(np.asarray(y_train, dtype=float), np.asarray(p_out_of_fold), settings)
    else:
        threshold = choose_threshold(y, p, settings)
    policy = OfferPolicy(settings.policy, threshold, economics)
    offered = policy.offer(p)
    gain = economics.realized(y)

    weights = np.vstack([np.ones(len(y)), bootstrap_weights(len(y), resamples, seed)]).astype(float)
    rows = weights.sum(axis=1)
    share = weights @ offered / rows
    model = weights @ (offered * gain) / rows * PER
    offer_all = weights @ gain / rows * PER
    random = share * offer_all  # a random set of as many customers: the average customer's value, that often
    values = {"model": model, "offer_all": offer_all, "offer_none": np.zeros_like(model), "random": random}
    differences = {"model_minus_offer_all": model - offer_all, "model_minus_random": model - random}
    report: dict[str, Any] = {
        **policy.to_dict(),
        "chosen_on": (
            f"out-of-fold probabilities of the {len(np.asarray(y_train))} training rows ({settings.cv_folds} folds)"
            if chosen_on_training
            else "configuration (policy fixed)"
        ),
        "budget": settings.budget,
        "holdout_rows": len(y),
        "offers_per_1000": round(float(share[0] * PER), 1),
        "value_per_1000": {name: round(float(v[0]), 2) for name, v in values.items()},
        "expected_per_1000": round(float((offered * economics.expected_value(p)).sum() / len(y) * PER), 2),
        "interval_95": {name: _interval(v[1:]) for name, v in {**values, **differences}.items()},
        "beats": {name: bool(model[0] > v[0]) for name, v in values.items() if name != "model"},
        "bootstrap": {"resamples": resamples, "seed": seed, "confidence": CONFIDENCE},
        "curve": {
            "threshold": THRESHOLD_GRID.tolist(),
            "holdout": np.round(value_curve(y, p, economics), 2).tolist(),
        },
    }
    if chosen_on_training:
        train_curve = value_curve(np.asarray(y_train, dtype=float), np.asarray(p_out_of_fold), economics)
        report["curve"]["training_out_of_fold"] = np.round(train_curve, 2).tolist()
    return report


def value_figure(report: dict[str, Any]) -> Any:
    """Net value per 1,000 customers against the threshold: out-of-fold training rows (where it was chosen) and
    the holdout, with the chosen threshold, break-even and offering to everyone."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = report["curve"]
    figure, axis = plt.subplots(figsize=(6, 4), dpi=100)
    if "training_out_of_fold" in curve:
        axis.plot(curve["threshold"], curve["training_out_of_fold"], label="training, out of fold (chooses)")
    axis.plot(curve["threshold"], curve["holdout"], label="holdout (reports)")
    axis.axhline(report["value_per_1000"]["offer_all"], color="grey", linestyle=":", label="offer to everyone")
    axis.axhline(0, color="black", linewidth=0.8)
    axis.axvline(report["threshold"], color="tab:red", linestyle="--", label=f"chosen {report['threshold']:.2f}")
    axis.axvline(report["break_even"], color="tab:green", linestyle=":", label=f"break-even {report['break_even']:.2f}")
    axis.set_xlabel("offer when churn probability ≥ threshold")
    axis.set_ylabel("net value per 1,000 customers")
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def decide(settings: Any, outcome: Any) -> dict[str, Any]:
    """The training flow's `decide` step: decision.json for this outcome under `settings.decision` (the out-of-fold
    probabilities are fitted only when the policy chooses its threshold)."""
    conf = settings.decision
    chooses = conf.policy == "expected_value"
    oof = out_of_fold(outcome.model, outcome.x_train, outcome.y_train, conf.cv_folds) if chooses else None
    return decision_report(
        outcome.y_test,
        outcome.holdout_probability,
        conf,
        y_train=outcome.y_train,
        p_out_of_fold=oof,
        resamples=settings.model_card.bootstrap_resamples,
        seed=settings.model_card.bootstrap_seed,
    )


def summary_line(report: dict[str, Any]) -> str:
    """One line for `make level3`: the threshold and what it earns against the baselines."""
    value, interval = report["value_per_1000"], report["interval_95"]
    low, high = interval["model"]
    return (
        f"offer at p ≥ {report['threshold']:.2f} ({report['policy']}; break-even {report['break_even']:.2f}): "
        f"{report['offers_per_1000']:.0f} offers per 1,000 customers, net value {value['model']:,.0f} per 1,000 "
        f"[{low:,.0f}, {high:,.0f}] vs offer-all {value['offer_all']:,.0f}, random {value['random']:,.0f}, none 0"
    )
