"""The steps level 3 adds around level 2, as plain functions: the Prefect tasks and `validate` both call them.

Level 2's pipelines run unchanged through Kedro's API; their outputs go under `level3` folders of the data
layers (the catalog's `level` runtime parameter), so a level-3 run never overwrites level 2's results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from level2_pipeline.contract import DataContract
from level2_pipeline.runner import run
from level3_system.contract import model_input_checks, raw_checks
from level3_system.settings import Level3Settings
from level3_system.tracking import TrainingOutcome
from level3_system.validation import GateReport, read_csv_for_gate, run_gate

LEVEL = "level3"


def run_level2(settings: Level3Settings, pipeline: str) -> Any:
    """Run one level-2 pipeline; returns the catalog holding its outputs."""
    params = {**settings.kedro_params, "level": LEVEL}
    return run([pipeline], env=settings.kedro_env, data_dir=settings.data_root, runtime_params=params)


def training_outcome(
    catalog: Any, raw_path: Path, raw_sha256: str, validation: list[dict[str, Any]] | None = None
) -> TrainingOutcome:
    """What a level-2 data-science run left in its catalog, as level 3 tracks and judges it."""
    parameters = catalog.load("parameters")
    return TrainingOutcome(
        model=catalog.load("model"),
        metrics=catalog.load("metrics"),
        x_train=catalog.load("X_train"),
        x_test=catalog.load("X_test"),
        y_train=catalog.load("y_train"),
        y_test=catalog.load("y_test"),
        params={k: parameters[k] for k in ("clean", "split", "model", "evaluate") if k in parameters},
        raw_path=raw_path,
        raw_sha256=raw_sha256,
        validation=validation or [],
        contract=DataContract.model_validate(parameters["data_contract"]),
    )


def gate_raw(settings: Level3Settings, raw_path: Path, contract: DataContract) -> GateReport:
    data = read_csv_for_gate(raw_path)
    if isinstance(data, GateReport):
        return data
    return run_gate("raw", data, raw_checks(contract), settings.reports)


def gate_model_input(settings: Level3Settings, table: Any, contract: DataContract) -> GateReport:
    return run_gate("model_input", table, model_input_checks(contract), settings.reports)
