"""`make compare`'s decision rows: levels 1-2 offer on their label, level 3 at its chosen threshold, all valued
on the same holdout under conf's economics (an offer saves 0.5 × 500 = 250 and costs 50)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from benchmarks.compare import decision_rows
from tools.levels import Level


def _holdout(root: Path, level: str) -> None:
    folder = root / "data" / "07_model_output" / level
    folder.mkdir(parents=True)
    # Four customers: churners at p 0.9 and 0.3, stayers at p 0.6 and 0.1.
    frame = pd.DataFrame(
        {"customer_id": [1, 2, 3, 4], "y_true": [1, 1, 0, 0], "churn_probability": [0.9, 0.3, 0.6, 0.1]}
    )
    frame.to_csv(folder / "test_predictions.csv", index=False)


def test_each_level_is_valued_at_its_own_threshold(tmp_path: Path) -> None:
    levels = [Level(1, tmp_path / "level1_code"), Level(3, tmp_path / "level3_system")]
    for level in ("level1", "level3"):
        _holdout(tmp_path, level)
    reports = tmp_path / "data" / "08_reporting" / "level3"
    reports.mkdir(parents=True)
    (reports / "decision.json").write_text(json.dumps({"threshold": 0.25}))
    metrics = {"level1": {"threshold": 0.5}, "level3": {"threshold": 0.5}}

    rows = {row[0]: row[1:] for row in decision_rows(levels, metrics, tmp_path)}

    assert rows["offer at p ≥⁶"] == ["0.50 (label)", "0.25 (money)"]
    assert rows["offers per 1,000⁶"] == ["500", "750"]
    # Level 1 offers to p 0.9 (+200) and 0.6 (−50); level 3 also to p 0.3 (+200): per 4 customers × 1,000.
    assert rows["net value per 1,000⁶"] == ["37,500", "87,500"]
    assert rows["offer-all per 1,000⁶"] == ["75,000", "75,000"]


def test_a_level_without_predictions_shows_a_dash(tmp_path: Path) -> None:
    rows = decision_rows([Level(2, tmp_path / "level2_pipeline")], {"level2": {"threshold": 0.5}}, tmp_path)

    assert all(row[1:] == ["–"] for row in rows)
