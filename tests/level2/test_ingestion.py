"""`make data`: the raw file is fetched once, recorded, and checked; a damaged file is reported, never replaced."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from support import CONF_BASE, RAW_RELATIVE, RAW_ROWS, run_python, stderr_lines

from level2_pipeline.ingestion import (
    IngestionConfig,
    IngestionParams,
    RawDataError,
    RawFile,
    ingest,
    load_config,
    sha256_of,
)


@pytest.fixture(scope="module")
def conf_ingestion() -> dict[str, Any]:
    return yaml.safe_load((CONF_BASE / "parameters_ingestion.yml").read_text())["ingestion"]


@pytest.fixture(scope="module")
def base_config(raw_data_dir: Path) -> IngestionConfig:
    """The configuration `make data` uses (conf/), read once; tests point it at their own roots."""
    return load_config(data_dir=raw_data_dir)


def config_for(base: IngestionConfig, root: Path, **changes: Any) -> IngestionConfig:
    """The configured ingestion with `changes` to its parameters, writing into `root`."""
    params = IngestionParams.model_validate({**base.params.model_dump(), **changes})
    return IngestionConfig(params=params, contract=base.contract, target=root / RAW_RELATIVE)


@pytest.fixture
def fetched_copy(raw_csv: Path, tmp_path: Path) -> Path:
    """A data root holding a copy of a fetched raw file and its record; returns the raw file's path."""
    target = tmp_path / RAW_RELATIVE
    target.parent.mkdir(parents=True)
    shutil.copy2(raw_csv, target)
    shutil.copy2(raw_csv.with_name(raw_csv.name + ".meta.json"), target.with_name(target.name + ".meta.json"))
    return target


@pytest.fixture
def source_csv(raw_frame: pd.DataFrame, tmp_path: Path) -> Callable[[pd.DataFrame], str]:
    """Writes a frame as a CSV source outside the data root; returns its absolute path."""

    def write(frame: pd.DataFrame) -> str:
        path = tmp_path / "source" / "churn.csv"
        path.parent.mkdir(exist_ok=True)
        frame.to_csv(path, index=False)
        return str(path)

    return write


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-100])


def edit_one_byte(path: Path) -> None:
    content = bytearray(path.read_bytes())
    middle = len(content) // 2
    while not chr(content[middle]).isdigit():  # keep it a plausible CSV: change a digit into another
        middle += 1
    content[middle] = ord("1") if content[middle] != ord("1") else ord("2")
    path.write_bytes(bytes(content))


# --- fetch ---------------------------------------------------------------------------------------------------


def test_fetch_writes_the_recorded_file(raw_fetch: RawFile, conf_ingestion: dict[str, Any]) -> None:
    assert raw_fetch.fetched, "an empty data root was not fetched into"
    assert raw_fetch.rows == RAW_ROWS, f"{raw_fetch.rows} rows, expected {RAW_ROWS}"
    assert len(pd.read_csv(raw_fetch.path)) == RAW_ROWS, "the file on disk does not hold 7,043 rows"
    assert sha256_of(raw_fetch.path) == raw_fetch.sha256 == conf_ingestion["sha256"], "not the bytes conf records"

    record = json.loads(raw_fetch.path.with_name(raw_fetch.path.name + ".meta.json").read_text())
    assert (record["sha256"], record["rows"]) == (raw_fetch.sha256, RAW_ROWS), f"wrong .meta.json record: {record}"


def test_second_call_is_up_to_date_and_leaves_the_file_alone(fetched_copy: Path, base_config: IngestionConfig) -> None:
    # given: a valid fetched file
    config = config_for(base_config, fetched_copy.parents[1])
    mtime = fetched_copy.stat().st_mtime_ns

    # when
    raw = ingest(config)

    # then
    assert not raw.fetched, "a valid file was fetched again"
    assert (raw.rows, raw.sha256) == (RAW_ROWS, base_config.params.sha256)
    assert fetched_copy.stat().st_mtime_ns == mtime, "the valid raw file was rewritten"


@pytest.mark.parametrize("damage", [truncate, edit_one_byte], ids=["truncated", "one-byte-edit"])
def test_damaged_file_is_reported_and_left_as_it_is(
    damage: Callable[[Path], None], fetched_copy: Path, base_config: IngestionConfig
) -> None:
    # given
    damage(fetched_copy)
    damaged = fetched_copy.read_bytes()

    # when
    with pytest.raises(RawDataError) as caught:
        ingest(config_for(base_config, fetched_copy.parents[1]))

    # then
    assert "make data" in str(caught.value), f"the error does not say what to do: {caught.value}"
    assert "SHA-256" in str(caught.value)
    assert fetched_copy.read_bytes() == damaged, "the damaged file was changed instead of being reported"


def test_force_fetches_a_corrupt_file_again(fetched_copy: Path, base_config: IngestionConfig, raw_csv: Path) -> None:
    truncate(fetched_copy)

    raw = ingest(config_for(base_config, fetched_copy.parents[1]), force=True)

    assert raw.fetched, "force did not fetch"
    assert fetched_copy.read_bytes() == raw_csv.read_bytes(), "the re-fetched file differs from the original"
    assert raw.sha256 == base_config.params.sha256


def test_file_placed_by_hand_is_recorded_then_checked(raw_csv: Path, tmp_path: Path, base_config) -> None:
    # given: a file put in place by hand, with no checksum configured nor recorded
    config = config_for(base_config, tmp_path, sha256=None)
    config.target.parent.mkdir(parents=True)
    shutil.copyfile(raw_csv, config.target)

    # when: checked once, it is recorded ...
    first = ingest(config)
    record = json.loads(config.target.with_name(config.target.name + ".meta.json").read_text())

    # then: ... and a later edit is caught against that record
    assert (first.fetched, first.rows, record["sha256"]) == (False, RAW_ROWS, sha256_of(raw_csv))
    edit_one_byte(config.target)
    with pytest.raises(RawDataError, match="does not match its recorded SHA-256"):
        ingest(config)


# --- sources and their checks --------------------------------------------------------------------------------


def test_csv_source_missing_columns_are_all_listed(
    raw_frame: pd.DataFrame, source_csv: Callable[[pd.DataFrame], str], tmp_path: Path, base_config
) -> None:
    config = config_for(
        base_config,
        tmp_path,
        source="csv",
        csv=source_csv(raw_frame.drop(columns=["tenure", "payment_method"])),
        sha256=None,
    )

    with pytest.raises(RawDataError) as caught:
        ingest(config)

    assert "tenure" in str(caught.value) and "payment_method" in str(caught.value), f"not all named: {caught.value}"
    assert not config.target.exists(), "a raw file was written from an invalid source"


def test_csv_source_with_unexpected_row_count_is_refused(
    raw_frame: pd.DataFrame, source_csv: Callable[[pd.DataFrame], str], tmp_path: Path, base_config
) -> None:
    config = config_for(base_config, tmp_path, source="csv", csv=source_csv(raw_frame), sha256=None, expected_rows=7042)

    with pytest.raises(RawDataError, match="expected_rows") as caught:
        ingest(config)

    assert f"{RAW_ROWS} rows, expected 7042" in str(caught.value)
    assert not config.target.exists()


def test_csv_source_that_changed_is_refused_and_nothing_is_written(
    raw_frame: pd.DataFrame, source_csv: Callable[[pd.DataFrame], str], tmp_path: Path, base_config
) -> None:
    # the configured checksum is the packaged file's: a source with one row fewer cannot match it
    config = config_for(base_config, tmp_path, source="csv", csv=source_csv(raw_frame.iloc[:-1]), expected_rows=None)

    with pytest.raises(RawDataError, match="the source changed"):
        ingest(config)

    assert list(config.target.parent.iterdir()) == [], "a partial or temporary file was left behind"


def test_csv_source_without_a_location_is_refused(tmp_path: Path, base_config: IngestionConfig) -> None:
    with pytest.raises(RawDataError, match=r"ingestion\.csv"):
        ingest(config_for(base_config, tmp_path, source="csv", csv=None))


# --- command line --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_reports_a_corrupt_file_in_one_line(fetched_copy: Path, tmp_path: Path) -> None:
    truncate(fetched_copy)

    completed = run_python(
        ["-m", "level2_pipeline.ingestion", "--data-dir", str(fetched_copy.parents[1])], cwd=tmp_path
    )

    assert completed.returncode == 1, f"exit {completed.returncode}, expected 1:\n{completed.stderr}"
    assert "Traceback" not in completed.stderr, completed.stderr
    lines = stderr_lines(completed)
    assert len(lines) == 1, f"expected one line on stderr:\n{completed.stderr}"
    assert "make data" in lines[0] and "telco_churn.csv" in lines[0], f"unhelpful message: {lines[0]}"
