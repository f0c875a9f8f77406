"""`make synth ROWS=10000000 OUTPUT=...`: a large input drawn from the real customers, for batch scoring at scale.

Rows are drawn with replacement from the raw file (the configured source), so every category, combination and
gap is a real one. The float columns are perturbed by a small multiplicative noise (×(1 + N(0, 0.02)), clipped to
the contract's range) so that rows are not exact copies; integer columns (flags, counts, tenure) are kept as drawn,
which keeps conditional gaps true (`total_charges` missing only at tenure 0). Ids are 1..ROWS, unique.
Deterministic for a seed. Written as Parquet files of `FILE_ROWS` rows in row groups of `scoring.partition_rows`
(the unit both scoring paths work in), to a hidden folder then moved into place; an existing OUTPUT is replaced
only if it is a previous synth output.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from level2_pipeline import ingestion
from level2_pipeline.errors import UserFacingError
from level2_pipeline.project import shown
from level3_system.settings import Level3Settings

FILE_ROWS = 1_000_000
NOISE = 0.02
MARKER = "_SYNTH.json"


@dataclass(frozen=True)
class Synthesized:
    folder: Path
    rows: int
    files: int
    seconds: float


def _check(output: Path) -> None:
    if output.exists():
        names = {p.name for p in output.iterdir()}
        if names and not (MARKER in names and all(n == MARKER or n.startswith("part-") for n in names)):
            raise UserFacingError(f"OUTPUT {shown(output)} exists and is not a synth output: give a new folder")


def perturbed(source: pd.DataFrame, rows: np.ndarray, rng: np.random.Generator, contract: object) -> pd.DataFrame:
    """The drawn rows, float columns perturbed within the contract's bounds."""
    frame = source.iloc[rows].reset_index(drop=True)
    for name, column in contract.columns.items():  # type: ignore[attr-defined]
        if column.dtype != "float" or name not in frame:
            continue
        values = frame[name].to_numpy(dtype=float) * (1 + rng.normal(0, NOISE, size=len(frame)))
        low = column.min if column.min is not None else -np.inf
        high = column.max if column.max is not None else np.inf
        frame[name] = np.round(np.clip(values, low, high), 2)
    return frame


def synthesize(settings: Level3Settings, rows: int, output: Path, *, seed: int = 0) -> Synthesized:
    started = time.perf_counter()
    output = output.expanduser().resolve()
    _check(output)
    config = ingestion.load_config(settings.kedro_env, settings.data_root)
    if not config.target.is_file():
        raise UserFacingError(f"{shown(config.target)} not found: run `make data` first")
    source = pd.read_csv(config.target).rename(columns=config.params.rename)
    contract = config.contract
    id_column = contract.id_column
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.parent / f".{output.name}.tmp-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    rng = np.random.default_rng(seed)
    files = 0
    try:
        for start in range(0, rows, FILE_ROWS):
            n = min(FILE_ROWS, rows - start)
            frame = perturbed(source, rng.integers(0, len(source), size=n), rng, contract)
            if id_column:
                frame[id_column] = np.arange(start + 1, start + n + 1, dtype=np.int64)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            pq.write_table(table, staging / f"part-{files:05d}.parquet", row_group_size=settings.scoring.partition_rows)
            files += 1
        (staging / MARKER).write_text(json.dumps({"rows": rows, "seed": seed, "source": str(config.target)}) + "\n")
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Synthesized(output, rows, files, time.perf_counter() - started)
