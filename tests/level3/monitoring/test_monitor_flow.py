"""The monitor flow end to end on a real prediction log: its outputs (a contract), its verdicts, its reference."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from level3_support import Store, log_and_register, make_settings, point_champion_at
from log_support import fill_log, monitored
from support import PROJECT_ROOT, environment_without

from level3_system.monitoring.traffic import draw
from level3_system.settings import load_settings

pytestmark = pytest.mark.slow
SCENARIOS = load_settings().traffic.scenarios
KEYS = {
    "model_version", "window", "dataset_drift", "drift_share", "drifted_features", "features",
    "prediction_drift", "performance", "value", "alert", "reasons",
}  # fmt: skip


@pytest.fixture(scope="module")
def customers(raw_frame: pd.DataFrame) -> pd.DataFrame:
    return raw_frame.copy()


@pytest.fixture
def run_monitor(prefect_server: None) -> Callable[[Any], Any]:
    from level3_system.monitoring.flow import monitor

    def run(settings: Any) -> Any:
        state = monitor(settings=settings, return_state=True)
        summary = state.result(raise_on_failure=False)
        assert state.is_completed(), f"the monitor flow did not complete: {state.message} {summary!r}"
        return summary

    return run


def _traffic(customers: pd.DataFrame, scenario: str, n: int, seed: int) -> pd.DataFrame:
    return draw(customers, SCENARIOS[scenario], n, seed)


def test_baseline_traffic_gives_the_contracted_outputs_and_no_alert(
    champion: Any, customers: pd.DataFrame, run_monitor: Any, tmp_path: Path
) -> None:
    settings = monitored(champion.settings, tmp_path)
    fill_log(settings, _traffic(customers, "baseline", 1500, 11), champion.outcome.model, champion.contract)

    summary = run_monitor(settings)

    result = json.loads(summary.latest.read_text())
    assert set(result) >= KEYS, f"latest.json misses {KEYS - set(result)}"
    assert set(result["window"]) >= {"start", "end", "n_rows", "n_labeled"}
    assert (result["model_version"], result["window"]["n_rows"], result["window"]["n_labeled"]) == ("1", 1500, 1500)
    assert result["dataset_drift"] is False and result["alert"] is False, result["reasons"]
    assert set(result["features"]) == set(champion.contract.features)
    assert {"method", "score", "drifted"} == set(result["prediction_drift"])
    assert set(result["performance"]) >= {"roc_auc", "pr_auc", "brier", "n"}
    assert abs(result["performance"]["roc_auc"] - 0.84) < 0.05, result["performance"]
    # The money: the served version's offers on the labelled rows, beside the holdout's estimate.
    value, decision = result["value"], champion.outcome.decision
    assert value["n"] == 1500 and value["threshold"] == decision["threshold"]
    assert value["holdout_value_per_1000"] == decision["value_per_1000"]["model"]
    assert value["holdout_interval_95"] == decision["interval_95"]["model"]
    assert value["value_per_1000"] > value["offer_all_per_1000"], value
    assert any(r.startswith("realized net value") for r in result["reasons"]), result["reasons"]
    copies = [p for p in summary.latest.parent.glob("*.json") if p.name != "latest.json"]
    assert len(copies) == 1 and json.loads(copies[0].read_text())["model_version"] == "1"
    run = champion.settings and _mlflow_run(champion.settings, summary.mlflow_run_id)
    assert (run.data.tags["model_name"], run.data.tags["model_version"]) == ("telco-churn", "1")
    assert run.data.metrics["drift_share"] == result["drift_share"]
    assert run.data.metrics["realized_value_per_1000"] == value["value_per_1000"]


def _mlflow_run(settings: Any, run_id: str) -> Any:
    from level3_system.lifecycle import registry

    run = registry.client(settings).get_run(run_id)
    experiment = registry.client(settings).get_experiment(run.info.experiment_id)
    assert experiment.name == "monitoring", experiment.name
    return run


def test_the_html_report_loads_nothing_from_outside(
    champion: Any, customers: pd.DataFrame, run_monitor: Any, tmp_path: Path
) -> None:
    settings = monitored(champion.settings, tmp_path)
    fill_log(settings, _traffic(customers, "baseline", 600, 12), champion.outcome.model, champion.contract)

    html = run_monitor(settings).report_html.read_text(encoding="utf-8")

    assert len(html) > 100_000, "the report is not self-contained (its JavaScript should be inline)"
    loads = re.findall(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", html, re.I)
    assert not loads, f"the report loads from outside: {loads[:3]}"
    assert not re.search(r"@import\s+url\(\s*['\"]?https?:", html), "a stylesheet is imported from outside"
    assert '<section id="churn-verdict"' in html and "realized net value per 1,000" in html, "no verdict above it"


def test_a_shift_is_a_finding_once_and_an_alert_the_second_window(
    champion: Any, customers: pd.DataFrame, run_monitor: Any, tmp_path: Path
) -> None:
    settings = monitored(champion.settings, tmp_path)
    fill_log(settings, _traffic(customers, "price_rise", 1500, 13), champion.outcome.model, champion.contract)

    first = run_monitor(settings).result
    second = run_monitor(settings).result

    assert first["dataset_drift"] is True and first["alert"] is False, first["reasons"]
    assert {"monthly_charges", "total_charges"} <= set(first["drifted_features"]), first["drifted_features"]
    assert second["alert"] is True and second["consecutive_drifted_windows"] == 2, second["reasons"]
    assert any("monthly_charges" in reason for reason in second["reasons"])


def test_too_small_a_window_gives_no_verdict(
    champion: Any, customers: pd.DataFrame, run_monitor: Any, tmp_path: Path
) -> None:
    settings = monitored(champion.settings, tmp_path)
    fill_log(settings, _traffic(customers, "price_rise", 100, 14), champion.outcome.model, champion.contract)

    result = run_monitor(settings).result

    assert result["dataset_drift"] is None and result["alert"] is False and result["performance"] is None
    assert result["reasons"][0].startswith("not enough data: 100 rows")


def test_the_reference_is_the_served_versions_own(
    champion_outcome: Any, new_store: Callable[[str], Store], customers: pd.DataFrame, run_monitor: Any, tmp_path: Path
) -> None:
    # Given version 2, whose training population (its reference) looked like the price-rise scenario
    settings = monitored(make_settings(champion_outcome.raw_path.parents[1], new_store("own_reference")), tmp_path)
    log_and_register(settings, champion_outcome)
    shifted = _traffic(customers, "price_rise", 4000, 15)[champion_outcome.contract.features].fillna(0.0)
    second = log_and_register(settings, dataclasses.replace(champion_outcome, x_train=shifted), apply=False)
    point_champion_at(settings, second.version)
    # When version 2 serves a random sample of customers
    fill_log(settings, _traffic(customers, "baseline", 1500, 16), champion_outcome.model, champion_outcome.contract,
             version=second.version)  # fmt: skip
    result = run_monitor(settings).result
    # Then it is compared with version 2's reference (data/ holds the unshifted customers)
    assert result["model_version"] == "2"
    assert result["dataset_drift"] is True and "monthly_charges" in result["drifted_features"], result["reasons"]


def _make_monitor(settings: Any, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {
        **environment_without("CHURN_", "MLFLOW_", "PREFECT_API"),
        "CHURN_TRACKING_URI": settings.resolved_tracking_uri,
        "CHURN_DATA_DIR": str(settings.data_root),
        **variables,
    }
    return subprocess.run(
        [sys.executable, "-m", "level3_system", "monitor"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_make_monitor_without_a_log_reads_an_empty_window_and_without_a_champion_says_so_in_one_line(
    champion: Any, new_store: Callable[[str], Store], tmp_path: Path
) -> None:
    # Nothing served yet (a fresh clone's first `make monitor`): no verdict, for want of data, and exit 0
    no_log = _make_monitor(champion.settings, CHURN_PREDICTION_LOG__URL=f"sqlite:///{tmp_path}/none.sqlite")
    assert no_log.returncode == 0, no_log.stderr[-2000:]
    assert "no verdict" in no_log.stdout and "not enough data: 0 rows" in no_log.stdout, no_log.stdout[-2000:]
    # An alias nobody set: the monitor does not train one (only `champion` is bootstrapped), it says what to do
    empty = make_settings(tmp_path, new_store("no_champion"))
    no_champion = _make_monitor(empty, CHURN_SERVING__MODEL_ALIAS="staging")
    lines = [line for line in no_champion.stderr.splitlines() if line.strip()]
    assert no_champion.returncode == 1 and len(lines) == 1 and "make level3" in lines[0], no_champion.stderr
