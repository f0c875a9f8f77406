"""Validation gates with Great Expectations 1.x: the contract's checks run on a DataFrame.

The GX context is ephemeral and built from code: the suites are generated from the data contract on every
run, so there is no second copy of the rules to drift (see docs/adr/0002-great-expectations.md). What GX
produces — validation results rendered as data docs — goes to the level-3 reports folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from level3_system.validation.checks import Check

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.detail}"


@dataclass(frozen=True)
class GateReport:
    gate: str
    evaluated: int
    failures: list[Failure] = field(default_factory=list)
    data_docs: Path | None = None

    @property
    def success(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        passed = self.evaluated - len(self.failures)
        return f"{self.gate}: {passed}/{self.evaluated} expectations passed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "success": self.success,
            "evaluated": self.evaluated,
            "failures": [str(f) for f in self.failures],
            "data_docs": str(self.data_docs) if self.data_docs else None,
        }


class GateFailed(RuntimeError):
    """A gate refused the data: training must not start."""

    def __init__(self, report: GateReport) -> None:
        self.report = report
        lines = "\n".join(f"  - {f}" for f in report.failures)
        super().__init__(f"{report.summary()}; failed:\n{lines}")


def read_csv_for_gate(path: Path) -> pd.DataFrame | GateReport:
    """Read a raw CSV; an unreadable or empty file is itself a failed gate, not a crash."""
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        return GateReport("raw", 1, [Failure("file exists", f"{path} not found: run `make data`")])
    except pd.errors.EmptyDataError:
        return GateReport("raw", 1, [Failure("file has a header and rows", f"{path} is empty")])
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        return GateReport("raw", 1, [Failure("file parses as CSV", " ".join(str(exc).split()))])


def _to_expectation(check: Check) -> Any:
    import great_expectations as gx

    kwargs = dict(check.kwargs)
    if check.where is not None:
        from great_expectations.expectations.row_conditions import Column

        column, operator, value = check.where
        kwargs["row_condition"] = {
            "==": Column(column) == value,
            "!=": Column(column) != value,
            "<": Column(column) < value,
            "<=": Column(column) <= value,
            ">": Column(column) > value,
            ">=": Column(column) >= value,
        }[operator]
    return getattr(gx.expectations, check.expectation)(**kwargs)


def _detail(result: Any) -> str:
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return f"could not be evaluated: {' '.join(str(info.get('exception_message', '')).split())[:200]}"
    outcome = result.result or {}
    if outcome.get("unexpected_count"):
        examples = list(dict.fromkeys(map(repr, outcome.get("partial_unexpected_list") or [])))[:5]
        share = outcome.get("unexpected_percent")
        share_text = f" ({share:.2f} %)" if share is not None else ""
        return f"{outcome['unexpected_count']} unexpected{share_text}, e.g. {', '.join(examples)}"
    if outcome.get("partial_missing_list"):
        return f"values never seen: {outcome['partial_missing_list']}"
    if outcome.get("observed_value") is not None:
        return f"observed {outcome['observed_value']!r}"
    details = outcome.get("details") or {}
    if details.get("mismatched"):
        return f"mismatched {details['mismatched']}"
    return "failed"


def run_gate(gate: str, data: pd.DataFrame, checks: list[Check], reports_dir: Path | None) -> GateReport:
    """Validate `data` against `checks`; build data docs into `reports_dir/data_docs` when given."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    from level3_system.validation.docs_views import site_views

    docs_dir = reports_dir / "data_docs" if reports_dir is not None else None
    sites = {}
    if docs_dir is not None:
        sites["level3"] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": f"{docs_dir}/"},
            **site_views(),  # GX's views, compiling their templates once per process
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites=sites,
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    actions = [gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=["level3"])] if sites else []
    batch = (
        context.data_sources.add_pandas("churn").add_dataframe_asset(gate).add_batch_definition_whole_dataframe("all")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=gate, expectations=[_to_expectation(c) for c in checks]))
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=gate, data=batch, suite=suite))
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"{gate}_gate",
            validation_definitions=[definition],
            actions=actions,
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 10},
        )
    )
    outcome = checkpoint.run(batch_parameters={"dataframe": _gx_compatible(data)})
    results = {}
    for validation in outcome.run_results.values():
        for result in validation.results:
            config = result.expectation_config
            key = (config.type, config.kwargs.get("column"), config.kwargs.get("row_condition") is not None)
            results[key] = result
    # Report in the order of the checks (the contract's column order); a missing column is reported once,
    # not once per expectation on it.
    missing = {c.kwargs["column"] for c in checks if c.expectation == "ExpectColumnToExist"} & {
        key[1] for key, result in results.items() if key[0] == "expect_column_to_exist" and not result.success
    }
    failures = []
    for check in checks:
        column = check.kwargs.get("column")
        result = results[(_snake(check.expectation), column, check.where is not None)]
        if result.success:
            continue
        if check.expectation == "ExpectColumnToExist":
            failures.append(Failure(check.label, "column is missing"))
        elif column not in missing:
            failures.append(Failure(check.label, _detail(result)))
    index = docs_dir / "index.html" if docs_dir is not None else None
    return GateReport(gate, len(results), failures, index if index and index.exists() else None)


def _snake(name: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name).lstrip("_")


def _gx_compatible(data: pd.DataFrame) -> pd.DataFrame:
    """GX 1.24 does not recognise pandas 3's default string dtype in type checks: present it as object."""
    strings = [c for c in data.columns if isinstance(data[c].dtype, pd.StringDtype)]
    return data.astype(dict.fromkeys(strings, "object")) if strings else data
