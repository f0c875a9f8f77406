"""The retention decision as pure functions: the value of an offer, the threshold that earns the most, a budget.

An offer costs `offer_cost`; a churner who gets one stays with probability `offer_success_rate`, which saves
`churn_loss`; a customer who would have stayed only costs the offer. So for a customer with churn probability p
an offer is worth p × success × loss − cost in expectation, and break-even is p = cost / (success × loss). Values
are against offering to no one (0), per 1,000 customers so that figures read the same at every scale.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from level3_system.settings import DecisionSettings

THRESHOLD_GRID = np.round(np.arange(0.01, 1.0, 0.01), 2)
PER = 1000  # values and offers are reported per this many customers


@dataclass(frozen=True)
class Economics:
    offer_cost: float
    churn_loss: float
    offer_success_rate: float

    @classmethod
    def of(cls, settings: DecisionSettings) -> Economics:
        return cls(settings.offer_cost, settings.churn_loss, settings.offer_success_rate)

    @property
    def saved(self) -> float:
        """What an offer to a churner saves, in expectation."""
        return self.offer_success_rate * self.churn_loss

    @property
    def break_even(self) -> float:
        """The probability at which an offer is worth its cost (for a calibrated model)."""
        return self.offer_cost / self.saved

    def expected_value(self, p: Any) -> Any:
        """Expected net value of offering to a customer of churn probability `p` (a float or an array)."""
        return p * self.saved - self.offer_cost

    def realized(self, y: np.ndarray) -> np.ndarray:
        """Net value an offer did earn, once the outcome `y` (1 = churned) is known."""
        return np.asarray(y, dtype=float) * self.saved - self.offer_cost


@dataclass(frozen=True)
class OfferPolicy:
    """What a version offers on: p ≥ threshold, valued under its economics. `source` says where the threshold came
    from: "version" (chosen at training, stored with it), "serving.threshold" (an override), "conf" (a version
    trained before decisions travelled: today's conf/)."""

    policy: str
    threshold: float
    economics: Economics
    source: str = "version"

    def offer(self, p: Any) -> Any:
        return p >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "threshold": self.threshold,
            "break_even": round(self.economics.break_even, 6),
            "economics": asdict(self.economics),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, record: dict[str, Any], source: str = "version") -> OfferPolicy:
        return cls(str(record["policy"]), float(record["threshold"]), Economics(**record["economics"]), source)


def value_per_1000(y: np.ndarray, offered: np.ndarray, economics: Economics) -> float:
    """Net value per 1,000 customers of making the offers `offered` (booleans), outcomes `y` known."""
    y = np.asarray(y, dtype=float)
    return float((np.asarray(offered) * economics.realized(y)).sum() / max(len(y), 1) * PER)


def value_curve(y: np.ndarray, p: np.ndarray, economics: Economics) -> np.ndarray:
    """Net value per 1,000 at each threshold of THRESHOLD_GRID."""
    gain = economics.realized(y)
    offered = np.asarray(p, dtype=float)[None, :] >= THRESHOLD_GRID[:, None]
    return (offered * gain[None, :]).sum(axis=1) / max(len(gain), 1) * PER


def choose_threshold(y: np.ndarray, p: np.ndarray, settings: DecisionSettings) -> float:
    """The policy's threshold: the fixed one, or the grid threshold (0.01 steps) earning the most on (`y`, `p`),
    the lowest on a tie. Call it with probabilities the holdout never saw (out-of-fold ones of the training rows)."""
    if settings.policy == "fixed":
        assert settings.threshold is not None  # the settings refuse policy fixed without one
        return float(settings.threshold)
    curve = value_curve(y, p, Economics.of(settings))
    return float(THRESHOLD_GRID[int(np.argmax(curve))])  # argmax takes the first (lowest) of equal values


def within_budget(expected: np.ndarray, offered: np.ndarray, budget: int | None) -> np.ndarray:
    """At most `budget` of the offers, kept for the highest expected values (ties: the earlier row first)."""
    offered = np.asarray(offered, dtype=bool)
    if budget is None or offered.sum() <= budget:
        return offered
    candidates = np.flatnonzero(offered)
    order = np.lexsort((candidates, -np.asarray(expected)[candidates]))  # value descending, then row order
    kept = np.zeros_like(offered)
    kept[candidates[order[:budget]]] = True
    return kept
