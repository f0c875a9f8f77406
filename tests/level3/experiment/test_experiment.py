"""`make experiment`: every family of conf/ measured on the levels' split, logged as nested MLflow runs, a table and
a chart written, and the family the rule recommends (the rule itself on made-up results, where the answer is known).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from level3_support import Store, make_settings

from level3_system.experiment.measure import FamilyResult, recommend


def _result(family: str, auc: float, ms: float) -> FamilyResult:
    return FamilyResult(family, auc, 0.01, 0.1, {"roc_auc": auc}, "sklearn", "", ms, 1.0, 1, 1)


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        pytest.param([("a", 0.850, 5.0), ("b", 0.847, 0.01)], "b", id="faster-within-the-margin"),
        pytest.param([("a", 0.850, 5.0), ("b", 0.840, 0.01)], "a", id="faster-but-worse-than-the-margin"),
        pytest.param([("a", 0.850, 0.01), ("b", 0.849, 5.0)], "a", id="best-and-fastest"),
    ],
)
def test_the_rule_recommends_the_fastest_family_near_the_best(results: list[Any], expected: str) -> None:
    family, why = recommend([_result(*r) for r in results], within_roc_auc=0.005)
    assert family == expected, why
    assert family in why and "0.005" in why, why


@pytest.mark.slow
def test_experiment_measures_every_family_and_logs_nested_runs(
    prefect_server: None, new_data_root: Callable[[str], Path], new_store: Callable[[str], Store]
) -> None:
    from level3_system.experiment.flow import experiment
    from level3_system.settings import ModelSelectionSettings

    store = new_store("experiment")
    rules = ModelSelectionSettings(
        families=["logistic_regression", "hist_gradient_boosting", "lightgbm"], cv_folds=3, latency_calls=50,
        batch_rows=500,
    )  # fmt: skip
    settings = make_settings(new_data_root("experiment"), store).model_copy(update={"model_selection": rules})

    summary = experiment(settings=settings)

    by_family = {r.family: r for r in summary.results}
    assert list(by_family) == rules.families
    assert summary.rows == {"train": 5634, "holdout": 1409}, summary.rows
    # the logistic regression is the levels' model: its holdout ROC AUC is the levels' 0.842
    assert by_family["logistic_regression"].holdout["roc_auc"] == pytest.approx(0.842, abs=5e-4)
    assert by_family["logistic_regression"].fast_path == "linear"
    for r in summary.results:
        assert 0.80 < r.cv_roc_auc < 0.90 and r.cv_roc_auc_sd > 0, r
        assert r.fit_seconds > 0 and r.one_row_ms > 0 and r.batch_rows_s > 0 and r.served_bytes > 0, r
    # the flow applies the rule (its cases are checked on known figures in test_the_rule_on_known_figures)
    best = max(summary.results, key=lambda r: r.cv_roc_auc)
    eligible = [r for r in summary.results if r.cv_roc_auc >= best.cv_roc_auc - rules.within_roc_auc]
    assert summary.recommended == min(eligible, key=lambda r: r.one_row_ms).family
    # the table, the chart and the results on disk
    reports = {name: Path(path) for name, path in summary.reports.items()}
    assert reports["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = reports["table"].read_text()
    assert all(f in table for f in rules.families) and f"**{summary.recommended}**" in table
    assert json.loads(reports["results"].read_text())["recommended"] == summary.recommended
    # one parent run with a nested run per family, the table and chart on the parent
    client = store.client()
    parent = client.get_run(summary.parent_run_id)
    assert parent.data.tags["recommended"] == summary.recommended
    children = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{summary.parent_run_id}'"
    )
    assert sorted(c.data.params["family"] for c in children) == sorted(rules.families)
    assert {a.path for a in client.list_artifacts(summary.parent_run_id)} >= {"table.md", "tradeoff.png"}


def _known(family: str, cv: float, ms: float) -> FamilyResult:
    return FamilyResult(family, cv, 0.01, 1.0, {"roc_auc": cv}, "linear", "", ms, 1e5, 1000, 100)


@pytest.mark.parametrize(
    ("table", "recommended", "says"),
    [
        pytest.param([("lr", 0.840, 0.002), ("hgb", 0.845, 0.020), ("lgbm", 0.852, 0.021)], "lgbm",
                     "has the best CV ROC AUC", id="trees-better-by-more-than-the-margin"),
        pytest.param([("lr", 0.848, 0.002), ("hgb", 0.850, 0.020), ("lgbm", 0.852, 0.021)], "lr",
                     "scores a row 10× faster", id="within-the-margin-the-fastest"),
        pytest.param([("lr", 0.847, 0.002), ("lgbm", 0.852, 0.021)], "lr",
                     "within 0.005 of the best", id="exactly-at-the-margin"),
        pytest.param([("lr", 0.8469, 0.002), ("lgbm", 0.852, 0.021)], "lgbm",
                     "has the best", id="just-outside-the-margin"),
        pytest.param([("hgb", 0.850, 0.020), ("lgbm", 0.850, 0.020)], "hgb",
                     "has the best", id="a-tie-goes-to-the-first-listed"),
    ],
)  # fmt: skip
def test_the_rule_on_known_figures(table: list[tuple[str, float, float]], recommended: str, says: str) -> None:
    """conf/base's rule (`within_roc_auc: 0.005`): the fastest family within the margin of the best CV ROC AUC."""
    family, why = recommend([_known(*row) for row in table], within_roc_auc=0.005)
    assert family == recommended, why
    assert says in why, why
