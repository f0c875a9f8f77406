"""`make experiment`: the comparison of the model families, printed as a table with the recommendation."""

from __future__ import annotations

import sys

from level2_pipeline.project import shown
from level3_system.runtime.orchestration import start_server_if_needed, wait_for
from level3_system.runtime.tracelog import details
from level3_system.settings import Level3Settings


def experiment(settings: Level3Settings) -> int:
    from level3_system.training.command import check_configuration

    check_configuration(settings)
    server = start_server_if_needed(settings)
    import lightgbm  # noqa: F401  - warmed while the Prefect server starts
    import sklearn.ensemble  # noqa: F401

    wait_for(server)
    from level3_system.experiment.flow import experiment as experiment_flow
    from level3_system.experiment.report import COLUMNS, experiment_name, rows

    state = experiment_flow(settings=settings, return_state=True)
    summary = state.result(raise_on_failure=False)
    if isinstance(summary, BaseException):
        print(f"level 3 experiment failed: {summary}{details()}", file=sys.stderr)
        return 1
    table = [COLUMNS, *rows(summary)]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    print(f"experiment · {summary.rows['train']:,} training rows, {summary.rows['holdout']:,} holdout rows")
    for row in table:
        cells = (c.ljust(w) if i in (0, 5) else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        print("  " + "  ".join(cells))
    for r in summary.results:
        print(f"  - {r.family}: {r.fast_path_note}")
    print(f"recommended: {summary.recommended} — {summary.why}")
    print("  (a recommendation: switch model.family in conf/ and MODEL_FAMILY in level 1 together to adopt it)")
    print(f"  table {shown(summary.reports['table'])} · chart {shown(summary.reports['chart'])} · "
          f"MLflow run {summary.parent_run_id} ({experiment_name(settings)})")  # fmt: skip
    return 0
