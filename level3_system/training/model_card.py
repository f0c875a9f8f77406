"""The model card of a registered model: what it is for, what it was trained on and how well it does, and for whom.

`build_card` takes the card's numbers from the holdout's labels and probabilities (scored once, by level 2's
`evaluate`) and `settings.model_card` (conf/<env>/level3.yml), through the pure functions of `card_stats.py`:
holdout metrics with bootstrap intervals, a reliability table and metrics per segment (the segments are
configuration: a fork names its own columns); and the decision training made (decision.json: the offer threshold
chosen out of the holdout and what it earns on it). `render` turns them into markdown;
`publish` (the flow's `model_card` task, once the registry decision is known) logs the card to the MLflow run
and, for a new champion, writes it to the reports folder.

The metrics contract is untouched: its `threshold` stays what level 2 evaluated with (0.5), so levels 1-3 keep
identical metrics; the offer threshold is the decision's, which serving and batch scoring act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from level3_system.settings import ModelCardSettings
from level3_system.training.card_stats import (
    CONFIDENCE,
    Estimate,
    bootstrap_metrics,
    reliability_table,
    segment_table,
)

CARD_ARTIFACT = "model_card.md"


@dataclass
class ModelCard:
    """Everything the card says; `render` writes it as markdown."""

    settings: ModelCardSettings
    metrics: dict[str, Estimate]
    decision: dict[str, Any]  # decision.json
    calibration: pd.DataFrame
    segments: dict[str, pd.DataFrame | None]
    n_test: int
    test_churn_rate: float
    facts: dict[str, str] = field(default_factory=dict)  # name -> value: model, version, run, data, ...


def build_card(
    x_test: pd.DataFrame,
    y_test: pd.Series,
    probability: np.ndarray,
    card: ModelCardSettings,
    decision: dict[str, Any],
    *,
    contract_threshold: float = 0.5,
    facts: dict[str, str] | None = None,
) -> ModelCard:
    """The card's numbers from the holdout: its rows, labels (0/1, 1 = churns), the model's probabilities, and
    the decision training made (decision.json)."""
    y = np.asarray(y_test, dtype=float)
    p = np.asarray(probability, dtype=float)
    offer_at = float(decision["threshold"])
    metrics = bootstrap_metrics(
        y, p, [contract_threshold, offer_at], resamples=card.bootstrap_resamples, seed=card.bootstrap_seed
    )
    return ModelCard(
        settings=card,
        metrics=metrics,
        decision=decision,
        calibration=reliability_table(y, p),
        segments={s.column: segment_table(x_test, y, p, s, offer_at) for s in card.segments},
        n_test=len(y),
        test_churn_rate=float(y.mean()) if len(y) else float("nan"),
        facts=dict(facts or {}),
    )


def _table(frame: pd.DataFrame) -> list[str]:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return "–" if np.isnan(value) else f"{value:.3f}"
        return str(value)

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return lines


def _decision_lines(d: dict[str, Any]) -> list[str]:
    e, interval = d["economics"], d["interval_95"]
    value = {**d["value_per_1000"]}
    value["model_minus_offer_all"] = value["model"] - value["offer_all"]

    def row(name: str, key: str) -> str:
        low, high = interval[key]
        return f"| {name} | {value[key]:,.0f} | [{low:,.0f}, {high:,.0f}] |"

    return [
        "## Decision: who gets a retention offer",
        "",
        f"Offer when the churn probability is at least **{d['threshold']:.2f}** (policy `{d['policy']}`, chosen on "
        f"{d['chosen_on']}; the holdout did not choose it). Break-even for a calibrated model: p = cost / (success × "
        f"loss) = {d['break_even']:.2f}. Economics (conf `decision`): an offer costs {e['offer_cost']:g}; a churner "
        f"who gets one stays with probability {e['offer_success_rate']:g}, saving {e['churn_loss']:g}. The metrics "
        "contract keeps labelling churners at its own threshold.",
        "",
        f"On the holdout: {d['offers_per_1000']:.0f} offers per 1,000 customers. Net value per 1,000 customers, "
        "against doing nothing:",
        "",
        "| policy | net value per 1,000 | 95 % interval |",
        "|---|---|---|",
        row("the model's (this threshold)", "model"),
        row("offer to everyone", "offer_all"),
        row("a random set of as many customers", "random"),
        "| offer to no one | 0 | – |",
        row("the model's minus offer to everyone", "model_minus_offer_all"),
        "",
        "The chart is the run's artifact `plots/value_by_threshold.png`.",
        "",
    ]


def render(card: ModelCard, title: str = "Model card") -> str:
    s = card.settings
    offer_at = float(card.decision["threshold"])
    lines = [f"# {title}", ""]
    lines += [f"- **{name}**: {value}" for name, value in card.facts.items()]
    lines += ["", "## Intended use", "", s.intended_use.strip(), ""]
    lines += [
        "## Metrics on the holdout",
        "",
        f"{card.n_test} customers, churn rate {card.test_churn_rate:.3f}. Intervals: {CONFIDENCE:.0%} percentile "
        f"bootstrap of the holdout ({s.bootstrap_resamples} resamples, seed {s.bootstrap_seed}).",
        "",
        "| metric | value | 95 % interval |",
        "|---|---|---|",
    ]
    lines += [
        f"| {name} | {e.value:.3f} | [{e.low:.3f}, {e.high:.3f}] |" if not np.isnan(e.value) else f"| {name} | – | – |"
        for name, e in card.metrics.items()
    ]
    lines += [
        "",
        *_decision_lines(card.decision),
        "## Calibration",
        "",
        f"Brier score {card.metrics['brier'].value:.4f}. Reliability on the holdout (10 equal-width bins); the plot "
        "is the run's artifact `plots/calibration.png`.",
        "",
    ]
    lines += _table(card.calibration)
    lines += ["", "## Metrics per segment", ""]
    if not card.segments:
        lines += ["No segments configured (conf `model_card.segments`).", ""]
    for column, table in card.segments.items():
        lines += [f"### {column}", ""]
        if table is None:
            lines += [f"The holdout has no column `{column}`: check conf `model_card.segments`.", ""]
            continue
        lines += [f"Recall and precision at the offer threshold {offer_at:.2f}.", ""]
        lines += [*_table(table), ""]
    lines += ["## Known limitations", ""]
    lines += [f"- {item}" for item in s.limitations] or ["- None recorded."]
    return "\n".join(lines) + "\n"


# --- publishing (the flow's model_card task) ------------------------------------------------------------------


def publish(
    settings: Any,
    outcome: Any,
    *,
    run_id: str,
    version: str,
    champion: bool,
    decision: str,
) -> tuple[ModelCard, str, list[Path]]:
    """Build the card of a registered version, log it to its MLflow run, and write it
    to `<reports>/model_card.md` and `model_card_v<version>.md` when the version became champion.

    `settings` is the Level3Settings, `outcome` the TrainingOutcome: typed loosely to keep this module free of
    the tracking imports.
    """
    from level3_system.lifecycle.registry import client
    from level3_system.training.tracking import git_commit

    threshold = float(outcome.metrics.get("threshold", 0.5))
    contract = outcome.contract.name
    facts = {
        "Registered model": f"`{settings.registered_model}` version {version}",
        "Registry decision": decision,
        "MLflow run": f"`{run_id}`",
        "Data contract": f"`{contract}`",
        "Data": f"`{outcome.raw_path}`",
        "Data SHA-256": f"`{outcome.raw_sha256}`",
        "Training / holdout rows": f"{len(outcome.y_train)} / {len(outcome.y_test)}",
        "Git commit": f"`{git_commit()}`",
    }
    card = build_card(
        outcome.x_test,
        outcome.y_test,
        outcome.holdout_probability,
        settings.model_card,
        outcome.decision,
        contract_threshold=threshold,
        facts=facts,
    )
    markdown = render(card, title=f"Model card: {settings.registered_model} v{version}")
    mlflow_client = client(settings)
    mlflow_client.log_text(run_id, markdown, CARD_ARTIFACT)
    written: list[Path] = []
    if champion:
        settings.reports.mkdir(parents=True, exist_ok=True)
        for name in (CARD_ARTIFACT, f"model_card_v{version}.md"):
            path = settings.reports / name
            path.write_text(markdown, encoding="utf-8")
            written.append(path)
    return card, markdown, written
