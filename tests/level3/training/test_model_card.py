"""The model card (level3_system/model_card.py): its numbers on small synthetic data, and the card of `first_run`.

The unit tests check the pure functions against scikit-learn and against cases whose answer is known; the last
tests read what the real flow run (the session's `first_run`, no new flow) wrote to its reports and MLflow run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from level3_support import FlowRun
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from support import RAW_RELATIVE

from level2_pipeline.ingestion import sha256_of
from level3_system.settings import SegmentSpec
from level3_system.training.card_stats import (
    bootstrap_metrics,
    reliability_table,
    segment_labels,
    segment_table,
    weighted_metrics,
)
from level3_system.training.model_card import CARD_ARTIFACT


def synthetic(n: int = 1500, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = np.round(rng.random(n), 2)  # ties on purpose
    y = (rng.random(n) < p).astype(int)  # calibrated by construction
    return y, p


# --- metrics and bootstrap -----------------------------------------------------------------------------------


def test_weighted_metrics_with_unit_weights_are_scikit_learns() -> None:
    y, p = synthetic()
    found = weighted_metrics(y, p, np.ones((1, len(y))), 0.5)

    assert found["roc_auc"][0] == pytest.approx(roc_auc_score(y, p))
    assert found["pr_auc"][0] == pytest.approx(average_precision_score(y, p))
    assert found["brier"][0] == pytest.approx(brier_score_loss(y, p))
    assert found["recall@0.5"][0] == pytest.approx(y[p >= 0.5].sum() / y.sum())
    assert found["precision@0.5"][0] == pytest.approx(y[p >= 0.5].mean())


def test_bootstrap_interval_holds_the_estimate_and_is_deterministic() -> None:
    """Its speed (1,000 resamples of a holdout in well under a second) is benchmarks/bench_model_card.py's."""
    y, p = synthetic()
    first = bootstrap_metrics(y, p, [0.5, 0.3], resamples=1000, seed=7)
    again = bootstrap_metrics(y, p, [0.5, 0.3], resamples=1000, seed=7)
    other = bootstrap_metrics(y, p, [0.5, 0.3], resamples=1000, seed=8)

    assert set(first) == {"roc_auc", "pr_auc", "brier", "recall@0.5", "precision@0.5", "recall@0.3", "precision@0.3"}
    for name, estimate in first.items():
        assert estimate.low <= estimate.value <= estimate.high, (name, estimate)
        assert estimate.high - estimate.low < 0.2, (name, estimate)
    assert first == again, "the same seed must give the same intervals"
    assert first != other
    assert first["roc_auc"].value == pytest.approx(roc_auc_score(y, p))


# --- calibration and segments -------------------------------------------------------------------------------


def test_reliability_table_counts_every_customer() -> None:
    y, p = synthetic()
    table = reliability_table(y, p)

    assert len(table) == 10 and table["n"].sum() == len(y)
    filled = table[table["n"] > 0]
    assert (filled["mean_predicted"] - filled["observed_rate"]).abs().max() < 0.15  # calibrated by construction


def test_segments_from_bins_and_from_values() -> None:
    tenure = pd.Series([0, 5, 12, 23, 24, 47, 48, 72])
    bands = SegmentSpec(column="tenure", bins=[0, 12, 24, 48], labels=["a", "b", "c", "d"])
    unnamed = SegmentSpec(column="tenure", bins=[0, 12])

    assert list(segment_labels(tenure, bands)) == ["a", "a", "b", "b", "c", "c", "d", "d"]
    assert list(segment_labels(tenure, unnamed)) == ["0–12"] * 2 + ["≥12"] * 6
    assert list(segment_labels(pd.Series(["x", "y"]), SegmentSpec(column="c"))) == ["x", "y"]

    y, p = synthetic(n=800)
    x = pd.DataFrame({"tenure": np.arange(800) % 73, "contract": np.where(np.arange(800) % 2, "One year", "Other")})
    table = segment_table(x, y, p, bands, 0.5)
    assert table is not None and list(table["segment"]) == ["a", "b", "c", "d"]
    assert table["n"].sum() == 800
    assert set(segment_table(x, y, p, SegmentSpec(column="contract"), 0.5)["segment"]) == {"One year", "Other"}
    assert segment_table(x, y, p, SegmentSpec(column="absent"), 0.5) is None


def test_labels_must_match_the_bands() -> None:
    with pytest.raises(ValueError, match="one label per band"):
        SegmentSpec(column="tenure", bins=[0, 12], labels=["only one"])


# --- the card of the real flow run (first_run, no new flow) ------------------------------------------------


@pytest.fixture(scope="module")
def champion_card(first_run: FlowRun) -> str:
    path = first_run.settings.reports / CARD_ARTIFACT
    assert path.exists(), f"no model card in {first_run.settings.reports}: {first_run.describe()}"
    return path.read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_champion_card_is_written_with_data_segments_and_intervals(first_run: FlowRun, champion_card: str) -> None:
    version = first_run.summary.model_version
    raw_sha256 = sha256_of(first_run.settings.data_root / RAW_RELATIVE)
    client = first_run.store.client()
    run = client.get_run(first_run.summary.run_id)

    assert raw_sha256 in champion_card, "the card must name the raw file's SHA-256"
    assert run.data.tags["data.sha256"] == raw_sha256
    assert f"v{version}" in champion_card and first_run.summary.run_id in champion_card
    assert (first_run.settings.reports / f"model_card_v{version}.md").read_text(encoding="utf-8") == champion_card
    for segment in ("### contract", "### tenure", "### senior_citizen"):
        assert segment in champion_card
    assert "| roc_auc |" in champion_card and "95 % interval" in champion_card
    assert "Month-to-month" in champion_card and "48+ months" in champion_card
    assert "plots/calibration.png" in champion_card
    assert "## Decision: who gets a retention offer" in champion_card and "offer to everyone" in champion_card
    assert 0 < run.data.metrics["decision_threshold"] < 1
    assert run.data.metrics["threshold"] == 0.5, "the metrics contract's threshold must not move"
    assert CARD_ARTIFACT in {a.path for a in client.list_artifacts(first_run.summary.run_id)}


@pytest.mark.slow
def test_the_logged_card_is_the_written_one(first_run: FlowRun, champion_card: str, tmp_path: Path) -> None:
    client = first_run.store.client()
    logged = Path(client.download_artifacts(first_run.summary.run_id, CARD_ARTIFACT, str(tmp_path)))

    assert logged.read_text(encoding="utf-8") == champion_card
