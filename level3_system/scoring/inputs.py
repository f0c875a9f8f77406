"""What `make score INPUT=...` reads: a CSV or Parquet file, a folder of Parquet partitions, or a glob; and how it
is cut into the partitions both paths check and score (`scoring.partition_rows`).

Parquet is cut along row groups (whole groups of one file, consecutive ones together up to `partition_rows`: a
file written as one huge group is one partition, so write row groups of ~100 k rows); CSV by rows (in this
process) or by bytes (Dask, the same number of rows on average). CSV columns are read as text in both paths: a
stray value is then a reject with its reason rather than a parse error that stops the run; the checks read numbers
from text.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from level2_pipeline.errors import UserFacingError
from level2_pipeline.project import shown

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class Inputs:
    spec: str
    files: tuple[Path, ...]
    format: str  # "csv" or "parquet"

    @property
    def bytes(self) -> int:
        return sum(f.stat().st_size for f in self.files)

    def rows(self) -> int:
        """Rows in the input: Parquet says so in its metadata; CSV is counted by lines."""
        if self.format == "parquet":
            import pyarrow.parquet as pq

            return sum(pq.ParquetFile(f).metadata.num_rows for f in self.files)
        return sum(max(0, sum(1 for _ in f.open("rb")) - 1) for f in self.files)


def find_inputs(spec: str) -> Inputs:
    """The files an INPUT names; one line saying what is wrong when it names none, or mixes formats."""
    path = Path(spec).expanduser()
    if any(ch in spec for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".parquet", ".pq"))
    elif path.is_file():
        files = [path]
    else:
        raise UserFacingError(f"INPUT {spec}: no such file or folder")
    files = [f for f in files if not f.name.startswith((".", "_"))]
    if not files:
        raise UserFacingError(f"INPUT {spec}: no CSV or Parquet file found there")
    formats = {FORMATS.get(f.suffix.lower()) for f in files}
    if None in formats or len(formats) > 1:
        kinds = ", ".join(sorted({f.suffix or "(none)" for f in files}))
        raise UserFacingError(f"INPUT {spec}: give CSV or Parquet files, one kind at a time (found {kinds})")
    return Inputs(spec, tuple(files), formats.pop() or "parquet")


@dataclass(frozen=True)
class Piece:
    """One partition of a Parquet input: the `number`-th, row groups of one file."""

    number: int
    path: Path
    row_groups: tuple[int, ...]


def pieces(inputs: Inputs, partition_rows: int) -> list[Piece]:
    """Each file's row groups, consecutive ones together up to `partition_rows` (a group larger than that alone)."""
    found: list[Piece] = []
    for path in inputs.files:
        meta = _parquet(path).metadata
        group: list[int] = []
        rows = 0
        for index in range(meta.num_row_groups):
            size = meta.row_group(index).num_rows
            if group and rows + size > partition_rows:
                found.append(Piece(len(found), path, tuple(group)))
                group, rows = [], 0
            group.append(index)
            rows += size
        if group:
            found.append(Piece(len(found), path, tuple(group)))
    return found


def read_piece(piece: Piece) -> pd.DataFrame:
    try:
        return _parquet(piece.path).read_row_groups(list(piece.row_groups)).to_pandas()
    except (OSError, ValueError) as exc:
        raise _unreadable(piece.path, "parquet", exc) from exc


def _parquet(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (OSError, ValueError) as exc:
        raise _unreadable(path, "parquet", exc) from exc


def _unreadable(path: Path, fmt: str, exc: Exception) -> UserFacingError:
    return UserFacingError(f"{shown(path)}: cannot read it as {fmt}: {' '.join(str(exc).split())[:200]}")


def csv_blocksize(inputs: Inputs, partition_rows: int) -> int:
    """Bytes of CSV that hold about `partition_rows` rows (from the first 64 KiB of the first file)."""
    with inputs.files[0].open("rb") as handle:
        head = handle.read(1 << 16)
    lines = max(1, head.count(b"\n"))
    return max(1 << 20, int(partition_rows * len(head) / lines))


def partitions(inputs: Inputs, partition_rows: int) -> Iterator[pd.DataFrame]:
    """The input's partitions in order, one in memory at a time (the in-process path)."""
    if inputs.format == "parquet":
        for piece in pieces(inputs, partition_rows):
            yield read_piece(piece)
        return
    for path in inputs.files:
        try:
            yield from pd.read_csv(path, chunksize=partition_rows, dtype=str)
        except (OSError, ValueError) as exc:
            raise _unreadable(path, "csv", exc) from exc


def columns_of(inputs: Inputs) -> list[str]:
    """The first file's columns (without reading its rows)."""
    first = inputs.files[0]
    if inputs.format == "parquet":
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(first).schema_arrow.names)
    return list(pd.read_csv(first, nrows=0).columns)
