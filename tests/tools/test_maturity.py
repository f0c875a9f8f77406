"""`make maturity`: the checks find the capabilities where this repository has them, and only there.

The second half is what makes the table worth reading: every check fails on a fake level directory without the
evidence and passes on the same directory once the evidence is added (so a ✓ is never declared, it is found).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from level2_pipeline.project import PROJECT_ROOT
from tools.levels import Level
from tools.maturity import (
    CAPABILITIES,
    Scope,
    assess,
    build_report,
    check_automated_pipeline,
    check_automated_promotion,
    check_ci,
    check_config_outside_code,
    check_continuous_training,
    check_data_validation,
    check_drift_monitoring,
    check_experiment_tracking,
    check_model_registry,
    check_reproducible_environment,
    check_service_metrics,
    check_serving,
    check_training,
    reached,
)

REPO_LEVELS = [Level(1, PROJECT_ROOT / "level1_code"), Level(2, PROJECT_ROOT / "level2_pipeline")]
REPO_LEVELS.append(Level(3, PROJECT_ROOT / "level3_system"))


@pytest.fixture(scope="module")
def repo_results() -> dict[str, dict]:
    return {lv.name: assess(Scope(lv, PROJECT_ROOT, REPO_LEVELS)) for lv in REPO_LEVELS}


def test_level3_has_tracking_registry_serving_from_its_own_files(repo_results: dict[str, dict]) -> None:
    level3 = repo_results["level3"]
    for name, file in [
        ("automated training pipeline", "level3_system/training/flow.py"),
        ("data validation", "level3_system/validation/gx.py"),
        ("experiment tracking (metadata store)", "level3_system/training/tracking.py"),
        ("model registry", "level3_system/lifecycle/registry.py"),
        ("automated promotion (model validation gate)", "level3_system/lifecycle/registry.py"),
        ("serving (prediction API)", "level3_system/serving/routes/scoring.py"),
        ("service metrics (Prometheus)", "level3_system/serving/metrics.py"),
    ]:
        assert level3[name].found, (name, level3[name].where)
        assert level3[name].where.startswith(f"{file}:"), (name, level3[name].where)
    best, _ = reached(level3, "microsoft")
    assert best is not None and best >= 3


def test_level1_has_none_of_the_system_capabilities(repo_results: dict[str, dict]) -> None:
    level1 = repo_results["level1"]
    assert level1["model training (a script run by hand)"].where.startswith("level1_code/train.py:")
    for name in [
        "automated training pipeline",
        "config outside code",
        "data validation",
        "experiment tracking (metadata store)",
        "model registry",
        "automated promotion (model validation gate)",
        "serving (prediction API)",
        "service metrics (Prometheus)",
    ]:
        assert not level1[name].found, (name, level1[name].where)
    assert reached(level1, "google")[0] == 0


def test_level2_is_a_pipeline_with_config_but_no_tracking(repo_results: dict[str, dict]) -> None:
    level2 = repo_results["level2"]
    assert level2["automated training pipeline"].where.startswith("level2_pipeline/pipeline_registry.py:")
    assert level2["config outside code"].found
    assert not level2["experiment tracking (metadata store)"].found
    assert not level2["serving (prediction API)"].found


def test_report_has_a_row_per_capability_and_the_reached_levels(repo_results: dict[str, dict]) -> None:
    report = build_report(REPO_LEVELS, repo_results, probed=False)
    for cap in CAPABILITIES:
        assert f"| {cap.name} " in report
    assert "| Google MLOps level" in report and "| Microsoft MLOps level" in report


# ---- every check on a fake level: without the evidence it fails, with it it passes ----------------------------

FLOW = "from prefect import flow\n\n@flow\ndef train():\n    pass\n"
CASES = {
    "training": (check_training, "model.predict(X)\n", "model.fit(X, y)\n", {}),
    "pipeline": (check_automated_pipeline, "def train():\n    pass\n", FLOW, {}),
    "config": (
        check_config_outside_code,
        "C = 1.0  # a constant in code; conf/ exists but nothing reads it\n",
        "import yaml\n\nparams = yaml.safe_load(open('conf/base/parameters.yml'))\n",
        {"conf/base/parameters.yml": "model:\n  C: 1.0\n"},
    ),
    "data validation": (
        check_data_validation,
        "import great_expectations as gx\n\n# gx.ExpectationSuite(...) would go here\ncontext = gx.get_context()\n",
        "import great_expectations as gx\n\nsuite = gx.ExpectationSuite(name='s')\nresult = checkpoint.run()\n",
        {},
    ),
    "tracking": (
        check_experiment_tracking,
        "import mlflow\n\nwith mlflow.start_run():\n    mlflow.log_metrics({'auc': 0.8})\n",  # metrics, no model
        "import mlflow\n\nwith mlflow.start_run():\n    mlflow.log_metrics({'auc': 0.8})\n"
        "    mlflow.sklearn.log_model(model, name='model')\n",
        {},
    ),
    "registry": (
        check_model_registry,
        "import mlflow\n\nmlflow.sklearn.save_model(model, 'out')\n",
        "from mlflow import MlflowClient\n\nMlflowClient().create_model_version('churn', source='runs:/1/model')\n",
        {},
    ),
    "promotion": (
        check_automated_promotion,
        "import mlflow\n\nclient = mlflow.MlflowClient()\nclient.set_registered_model_alias('m', 'champion', 2)\n",
        "import mlflow\n\nclient = mlflow.MlflowClient()\nif decision.promote:\n"
        "    client.set_registered_model_alias('m', 'champion', 2)\n",
        {},
    ),
    "continuous training": (
        check_continuous_training,
        FLOW + "\ntrain()\n",
        FLOW + "\nif __name__ == '__main__':\n    train.serve(name='nightly', cron='0 3 * * *')\n",
        {},
    ),
    "event trigger": (
        check_continuous_training,
        FLOW + "\nd = train.to_deployment(name='on-drift', triggers=[DeploymentEventTrigger(expect={'x'})])\n",
        FLOW
        + "\nd = train.to_deployment(name='on-drift', triggers=[DeploymentEventTrigger(expect={'x'})])\n"
        + "from prefect.events import emit_event\n\nemit_event(event='x', resource={'prefect.resource.id': 'm'})\n",
        {},
    ),
    "serving": (
        check_serving,
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n@app.get('/health')\ndef health():\n    pass\n",
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n@app.post('/predict')\ndef predict():\n    pass\n",
        {},
    ),
    "service metrics": (
        check_service_metrics,
        "from prometheus_client import Histogram\n\nLATENCY = Histogram('latency_seconds', 'latency')\n",
        "from prometheus_client import Histogram, generate_latest\n\nLATENCY = Histogram('latency_seconds', 'l')\n"
        "generate_latest()\n",
        {},
    ),
    "drift": (
        check_drift_monitoring,
        '"""Watch for data drift (a docstring proves nothing)."""\n# drift: TODO\nx = 1\n',
        "from scipy.stats import ks_2samp\n\nresult = ks_2samp(train_scores, live_scores)\n",
        {},
    ),
}


def _fake_level(root: Path, code: str, extra: dict[str, str]) -> Scope:
    files = {"level9_fake/main.py": code, **extra}
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(textwrap.dedent(text), encoding="utf-8")
    level = Level(9, root / "level9_fake")
    return Scope(level, root, [level])


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_check_fails_without_the_evidence_and_passes_with_it(case: str, tmp_path: Path) -> None:
    check, without, with_, extra = CASES[case]
    missing = check(_fake_level(tmp_path / "without", without, extra))
    present = check(_fake_level(tmp_path / "with", with_, extra))
    assert not missing.found, missing
    assert present.found, present
    assert present.where.startswith("level9_fake/main.py:") or present.where.startswith("conf/"), present


def test_config_needs_the_files_the_code_loads(tmp_path: Path) -> None:
    loads = "import yaml\n\nparams = yaml.safe_load(open('conf/base/parameters.yml'))\n"
    assert not check_config_outside_code(_fake_level(tmp_path / "no_conf", loads, {})).found
    broken = {"conf/base/parameters.yml": "model: [unclosed\n"}
    assert not check_config_outside_code(_fake_level(tmp_path / "broken", loads, broken)).found


def test_ci_needs_a_file_that_runs_pytest_and_tests_for_the_level(tmp_path: Path) -> None:
    test_file = {"tests/level9/test_main.py": "def test_it():\n    assert True\n"}
    no_pytest = _fake_level(tmp_path / "a", "x = 1\n", {".ci/run": "#!/bin/sh\necho build\n", **test_file})
    no_tests = _fake_level(tmp_path / "b", "x = 1\n", {".ci/run": "#!/bin/sh\npytest -q\n"})
    both = _fake_level(tmp_path / "c", "x = 1\n", {".ci/run": "#!/bin/sh\n# CI\npytest -q\n", **test_file})
    assert not check_ci(no_pytest).found
    assert not check_ci(no_tests).found
    assert check_ci(both).where == ".ci/run:3 (tests/level9: 1 tests)"


def test_reproducible_environment_needs_every_import_locked(tmp_path: Path) -> None:
    pyproject = {"pyproject.toml": '[project]\nname = "x"\ndependencies = ["pandas>=2"]\n'}
    locked = '[[package]]\nname = "pandas"\nversion = "2.2.0"\n'
    unlocked = '[[package]]\nname = "numpy"\nversion = "2.0.0"\n'
    code = "import json\n\nimport pandas\n"
    good = _fake_level(tmp_path / "good", code, {**pyproject, "uv.lock": locked})
    bad = _fake_level(tmp_path / "bad", code, {**pyproject, "uv.lock": unlocked})
    none = _fake_level(tmp_path / "none", code, pyproject)
    assert check_reproducible_environment(good).found
    assert not check_reproducible_environment(bad).found
    assert not check_reproducible_environment(none).found


def test_the_readme_carries_the_table_the_checks_give(repo_results: dict[str, dict]) -> None:
    # The README's maturity table must say what `make maturity` finds today, capability by capability.
    readme = (PROJECT_ROOT / "README.md").read_text()
    rows = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 6 and cells[0] in {c.name for c in CAPABILITIES}:
            rows[cells[0]] = [cell.startswith("✓") for cell in cells[3:]]
    assert set(rows) == {c.name for c in CAPABILITIES}, f"README maturity table rows: {sorted(rows)}"
    for capability in CAPABILITIES:
        found = [repo_results[level.name][capability.name].found for level in REPO_LEVELS]
        assert rows[capability.name] == found, (
            f"README says {rows[capability.name]} for '{capability.name}', make maturity finds {found}: "
            "paste the new table into the README"
        )
