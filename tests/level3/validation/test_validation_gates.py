"""The validation gates (level3_system.validation.gx) with Great Expectations on the real 7,043-row file.

Each corruption of corruptions.py must fail the gate and name the check that caught it: that name is what a
user reads in `make validate` and in the flow's failure message.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from corruptions import RARE_CHURN, RAW_GATE, Corruption

from level2_pipeline.contract import DataContract
from level3_system.validation.checks import model_input_checks, raw_checks
from level3_system.validation.gx import GateReport, read_csv_for_gate, run_gate


def raw_gate(path: Path, contract: DataContract, reports_dir: Path | None = None) -> GateReport:
    """What the flow and `validate` do with the raw file (compose.gate_raw, without settings)."""
    data = read_csv_for_gate(path)
    if isinstance(data, GateReport):
        return data
    return run_gate("raw", data, raw_checks(contract), reports_dir)


def failed(report: GateReport) -> list[str]:
    return [failure.check for failure in report.failures]


# --- valid data passes -------------------------------------------------------------------------------------


def test_real_raw_file_passes_every_expectation(raw_csv: Path, contract: DataContract, tmp_path: Path) -> None:
    report = raw_gate(raw_csv, contract, reports_dir=tmp_path)

    assert report.success, f"the real raw file fails the raw gate: {[str(f) for f in report.failures]}"
    assert report.evaluated == len(raw_checks(contract)), "not every check of the contract was evaluated"
    assert report.summary() == f"raw: {report.evaluated}/{report.evaluated} expectations passed"


def test_gate_writes_data_docs_into_the_reports_folder(raw_csv: Path, contract: DataContract, tmp_path: Path) -> None:
    report = raw_gate(raw_csv, contract, reports_dir=tmp_path)

    index = tmp_path / "data_docs" / "index.html"
    assert report.data_docs == index, f"data docs reported at {report.data_docs}, expected {index}"
    assert index.stat().st_size > 0, "data docs index.html is empty"


def test_a_second_gate_in_the_process_compiles_no_template_and_writes_the_same_pages(
    raw_frame: pd.DataFrame, contract: DataContract, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GX builds a Jinja environment per page; docs_views keeps what they compile (~0.6 s of a 3.05 s gate here)."""
    import jinja2

    broken = raw_frame.copy()
    broken.loc[3, "tenure"] = -5
    first = run_gate("raw", broken, raw_checks(contract), tmp_path / "first")
    compiled: list[str] = []
    compile_template = jinja2.Environment.compile

    def counted(
        env: jinja2.Environment, source: str, name: str | None = None, *args: object, **kwargs: object
    ) -> object:
        compiled.append(str(name))
        return compile_template(env, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    second = run_gate("raw", broken, raw_checks(contract), tmp_path / "second")

    assert compiled == [], f"the second data docs build compiled {len(compiled)} templates again: {compiled[:5]}"
    assert first.data_docs and second.data_docs, "a gate with a reports folder reported no data docs"
    roots = [first.data_docs.parent, second.data_docs.parent]
    pages = [sorted(p.relative_to(root).parts[0] for p in root.rglob("*.html")) for root in roots]
    assert pages[0] == pages[1] == ["expectations", "index.html", "validations"], pages
    page = next((tmp_path / "second" / "data_docs" / "validations").rglob("*.html")).read_text()
    text = " ".join(re.sub("<[^>]+>", " ", page).split())
    assert "1 unexpected values found" in text and "Unexpected Value Count -5 1" in text, "the failure is not shown"


def test_gate_without_reports_folder_writes_no_docs(model_input_table: pd.DataFrame, contract: DataContract) -> None:
    report = run_gate("model_input", model_input_table, model_input_checks(contract), None)

    assert report.data_docs is None


def test_real_model_input_table_passes(model_input_table: pd.DataFrame, contract: DataContract) -> None:
    report = run_gate("model_input", model_input_table, model_input_checks(contract), None)

    assert report.success, f"level 2's model input table fails its gate: {[str(f) for f in report.failures]}"
    assert report.evaluated == len(model_input_checks(contract))


def test_report_is_json_ready(raw_frame: pd.DataFrame, contract: DataContract) -> None:
    """The report is logged to MLflow and written to train_summary.json as it is."""
    report = run_gate("raw", raw_frame.drop(columns=["tenure"]), raw_checks(contract), None)

    as_dict = json.loads(json.dumps(report.to_dict()))

    assert as_dict["gate"] == "raw"
    assert as_dict["success"] is False
    assert as_dict["failures"] == [str(f) for f in report.failures]


# --- corrupted raw files fail, naming the check -------------------------------------------------------------


# The first case in `make check`, the sweep in `make test` (a gate through GX is ~1 s; the same rules row by row
# are test_contract_checks.py's, fast).
SWEEP = [pytest.param(c, id=c.name, marks=() if i == 0 else pytest.mark.slow) for i, c in enumerate(RAW_GATE)]


@pytest.mark.parametrize("corruption", SWEEP)
def test_corrupted_raw_file_fails_the_raw_gate(
    corruption: Corruption, raw_frame: pd.DataFrame, contract: DataContract, tmp_path: Path
) -> None:
    path = corruption.write(raw_frame, tmp_path / "telco_churn.csv")

    report = raw_gate(path, contract)

    assert not report.success, f"{corruption.name}: the raw gate let the file through"
    assert corruption.failure in failed(report), f"{corruption.name}: {corruption.failure!r} not in {failed(report)}"


def test_missing_column_is_reported_once(raw_frame: pd.DataFrame, contract: DataContract) -> None:
    """Not once per expectation on the column: one line a user can act on."""
    report = run_gate("raw", raw_frame.drop(columns=["contract"]), raw_checks(contract), None)

    assert [str(f) for f in report.failures] == ["ExpectColumnToExist(contract): column is missing"]


def test_failure_shows_the_offending_values(raw_frame: pd.DataFrame, contract: DataContract) -> None:
    corrupted = raw_frame.copy()
    corrupted.loc[corrupted.index[:3], "contract"] = "Three year"

    report = run_gate("raw", corrupted, raw_checks(contract), None)

    assert [str(f) for f in report.failures] == [
        "ExpectColumnValuesToBeInSet(contract): 3 unexpected (0.04 %), e.g. 'Three year'"
    ]


def test_missing_file_is_a_failed_gate(tmp_path: Path) -> None:
    report = read_csv_for_gate(tmp_path / "absent.csv")

    assert isinstance(report, GateReport), "a missing file must be reported, not raised"
    assert failed(report) == ["file exists"]
    assert "make data" in report.failures[0].detail, "the report should say how to get the file"


def test_unparsable_file_is_a_failed_gate(tmp_path: Path) -> None:
    path = tmp_path / "telco_churn.csv"
    path.write_text('customer_id,churn\n1,"No\n2,Yes,extra,fields\n')

    report = read_csv_for_gate(path)

    assert isinstance(report, GateReport), "a broken CSV must be reported, not raised"
    assert failed(report) == ["file parses as CSV"]


# --- the model input gate -----------------------------------------------------------------------------------


def test_rare_churn_passes_the_raw_gate_but_fails_the_model_input_gate(
    raw_frame: pd.DataFrame, model_input_table: pd.DataFrame, contract: DataContract
) -> None:
    """The raw gate needs both classes; the positive rate is judged on the 0/1 target of the model input table."""
    raw = RARE_CHURN.frame(raw_frame)
    table = model_input_table.assign(churn=(raw["churn"] == "Yes").astype("int64").to_numpy())

    assert run_gate("raw", raw, raw_checks(contract), None).success, "the raw gate judged the positive rate"
    report = run_gate("model_input", table, model_input_checks(contract), None)
    assert failed(report) == [RARE_CHURN.failure]


def test_model_input_with_an_extra_column_fails(model_input_table: pd.DataFrame, contract: DataContract) -> None:
    report = run_gate("model_input", model_input_table.assign(leak=1), model_input_checks(contract), None)

    assert "ExpectTableColumnsToMatchSet()" in failed(report), failed(report)


def test_model_input_with_gaps_left_fails(model_input_table: pd.DataFrame, contract: DataContract) -> None:
    """Cleaning must fill the tenure-0 gap: a null left in the table is refused, whatever the tenure."""
    table = model_input_table.copy()
    table.loc[table.index[table["tenure"] == 0][0], "total_charges"] = float("nan")

    report = run_gate("model_input", table, model_input_checks(contract), None)

    assert failed(report) == ["ExpectColumnValuesToNotBeNull(total_charges)"]
