"""The two gates of the training flow: the raw file and the model input table, checked against the contract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from level2_pipeline.contract import DataContract
from level3_system.settings import Level3Settings
from level3_system.validation.checks import model_input_checks, raw_checks
from level3_system.validation.gx import GateReport, read_csv_for_gate, run_gate


def gate_raw(settings: Level3Settings, raw_path: Path, contract: DataContract) -> GateReport:
    data = read_csv_for_gate(raw_path)
    if isinstance(data, GateReport):
        return data
    return run_gate("raw", data, raw_checks(contract), settings.reports)


def gate_model_input(settings: Level3Settings, table: Any, contract: DataContract) -> GateReport:
    return run_gate("model_input", table, model_input_checks(contract), settings.reports)
