"""The output of a scoring run (a **contract** for users and tests), staged and then moved into place.

    OUTPUT/predictions/   Parquet partitions: the contract's id column, churn_probability, churn, offer,
                          expected_value, model_version, scored_at
    OUTPUT/rejects/       the rejected input rows, with a `reason` column
    OUTPUT/_SUCCESS       JSON: rows_in, rows_scored, rows_rejected, model_name, model_version, offer_threshold,
                          offers, expected_value (the offers' total), budget, seconds (written last)

Everything is written to a hidden folder beside OUTPUT; `_SUCCESS` last; then the folder replaces OUTPUT in two
renames. A failed or killed run leaves at most its hidden staging folder, never something that looks complete; a
rerun replaces its own previous output. A folder that is not a scoring output is never replaced.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from level2_pipeline.errors import UserFacingError
from level2_pipeline.project import shown

SUCCESS = "_SUCCESS"
PREDICTIONS = "predictions"
REJECTS = "rejects"
OURS = {SUCCESS, PREDICTIONS, REJECTS}


def is_scoring_output(folder: Path) -> bool:
    return folder.is_dir() and {p.name for p in folder.iterdir()} <= OURS


class Staging:
    """A hidden folder beside OUTPUT that becomes OUTPUT on `commit`."""

    def __init__(self, output: Path) -> None:
        output = self.check(output)
        output.parent.mkdir(parents=True, exist_ok=True)
        self.output = output
        self.folder = output.parent / f".{output.name}.tmp-{uuid.uuid4().hex[:8]}"
        (self.folder / PREDICTIONS).mkdir(parents=True)
        (self.folder / REJECTS).mkdir()

    @staticmethod
    def check(output: Path) -> Path:
        """The OUTPUT folder, if a run may write it: new, or a previous scoring output (replaced)."""
        output = output.expanduser().resolve()
        if output.exists() and not is_scoring_output(output):
            raise UserFacingError(
                f"OUTPUT {shown(output)} exists and is not a scoring output (it holds more than "
                f"{', '.join(sorted(OURS))}): give a new or a previous output folder"
            )
        return output

    @property
    def predictions(self) -> Path:
        return self.folder / PREDICTIONS

    @property
    def rejects(self) -> Path:
        return self.folder / REJECTS

    def commit(self, success: dict[str, Any]) -> Path:
        """`_SUCCESS` written last inside the staging folder, then the folder moved into place."""
        (self.folder / SUCCESS).write_text(json.dumps(success, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        previous = None
        if self.output.exists():
            previous = self.output.parent / f".{self.output.name}.old-{uuid.uuid4().hex[:8]}"
            self.output.rename(previous)
        self.folder.rename(self.output)
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)
        return self.output

    def abort(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def read_success(output: Path) -> dict[str, Any] | None:
    try:
        return json.loads((output / SUCCESS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
