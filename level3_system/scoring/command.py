"""`make score INPUT=... OUTPUT=... [VERSION=n | ALIAS=name]` and `make synth ROWS=... OUTPUT=...`."""

from __future__ import annotations

import sys
from pathlib import Path

from level2_pipeline.project import shown
from level3_system.runtime.orchestration import start_server_if_needed, wait_for
from level3_system.runtime.reachability import lost_server, unreachable
from level3_system.runtime.tracelog import details
from level3_system.settings import Level3Settings


def _warm_imports(use_dask: bool) -> None:
    """What the flow's tasks import, loaded while the Prefect server starts."""
    import mlflow.sklearn  # noqa: F401
    import skops.io  # noqa: F401  - MLflow saves sklearn models with skops
    from prefect import flow  # noqa: F401

    if use_dask:
        import dask.dataframe  # noqa: F401
        import prefect_dask  # noqa: F401


def _require_scheduler(address: str) -> None:
    """One line now rather than Dask's connect timeout (30 s) and a traceback later."""
    from level2_pipeline.errors import UserFacingError

    why = unreachable(address)
    if why is not None:
        raise UserFacingError(
            f"no Dask scheduler answers at {address} ({why}): start it (dask scheduler) or set "
            "scoring.scheduler_address to null for a local cluster"
        )


def _budget(value: str | None) -> int | None:
    from level2_pipeline.errors import UserFacingError

    if value is None or value == "":
        return None
    if not value.replace("_", "").isdigit():
        raise UserFacingError(f"BUDGET must be a whole number of offers, 0 or more (got {value!r})")
    return int(value)


def score(
    settings: Level3Settings,
    input: str,
    output: str,
    version: str | None = None,
    alias: str | None = None,
    budget: str | None = None,
) -> int:
    from level3_system.lifecycle import registry
    from level3_system.scoring.inputs import find_inputs
    from level3_system.scoring.output import Staging

    cap = _budget(budget)
    inputs = find_inputs(input)
    Staging.check(Path(output))
    rows = inputs.rows()
    use_dask = rows >= settings.scoring.in_process_below_rows
    if use_dask and settings.scoring.scheduler_address:
        _require_scheduler(settings.scoring.scheduler_address)
    server = start_server_if_needed(settings)
    # No such version or alias: one line, before the flow starts (the server comes up meanwhile).
    _ = registry.get_version(settings, version) if version is not None else registry.resolve(settings, alias)
    _warm_imports(use_dask)
    wait_for(server)
    from level3_system.scoring import engine
    from level3_system.scoring.flow import score as score_flow

    flow = score_flow.with_options(task_runner=engine.task_runner(settings)) if use_dask else score_flow
    state = flow(inputs=inputs, output=output, settings=settings, version=version, alias=alias, use_dask=use_dask,
                 budget=cap, return_state=True)  # fmt: skip
    summary = state.result(raise_on_failure=False) if state.is_completed() else None
    if summary is None:
        error = state.result(raise_on_failure=False)
        print(f"level 3 score failed: {lost_server(settings, error) or state.message}{details()}", file=sys.stderr)
        return 1
    done = summary.success
    rate = done["rows_in"] / max(done["seconds"], 1e-9)
    logged = f"; {summary.logged_rows} rows to the prediction log" if summary.logged_rows else ""
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in summary.timings.items())
    print(
        f"score · {done['model_name']} version {done['model_version']} · {summary.engine} · {done['seconds']:.1f} s "
        f"({rate:,.0f} rows/s): {done['rows_in']} rows in, {done['rows_scored']} scored, {done['rows_rejected']} "
        f"rejected{logged}\n  offers      {_offers(done)}\n  steps       {steps}\n"
        f"  output      {shown(summary.output)} (predictions/, rejects/, _SUCCESS)\n"
        f"  mlflow      run {summary.mlflow_run_id} (experiment {settings.scoring.experiment})"
    )
    return 0


def _offers(done: dict) -> str:
    capped = f", budget {done['budget']:,}" if done.get("budget") is not None else ""
    return (
        f"{done['offers']:,} at p ≥ {done['offer_threshold']:.2f}{capped}, expected net value "
        f"{done['expected_value']:,.0f} in all"
    )


def synth(settings: Level3Settings, rows: str, output: str, seed: str | None = None) -> int:
    from level2_pipeline.errors import UserFacingError
    from level3_system.scoring.synth import synthesize

    if not rows.replace("_", "").isdigit() or int(rows) < 1 or (seed is not None and not seed.isdigit()):
        raise UserFacingError(f"ROWS must be a positive whole number (got {rows!r}), SEED a whole number")
    written = synthesize(settings, int(rows), Path(output), seed=int(seed or 0))
    where = shown(written.folder)
    groups = f"row groups of {settings.scoring.partition_rows:,}"
    print(
        f"synth · {written.rows:,} rows, {written.files} Parquet file(s) in {groups}, at {where} "
        f"({written.seconds:.1f} s)"
    )
    return 0
