"""`make monitor` and `make feedback FILE=...`.

`make monitor` exits 0 whether or not it finds drift (an alert is a finding, not a failure) and non-zero with one
line only when it cannot run: no champion, no prediction log, a version without a reference, bad settings.
`make feedback` records a file of outcomes (CSV or Parquet: a `request_id` column or the contract's id column, the
target's column, optionally `observed_at`) and prints one line: matched, unknown, duplicates, conflicts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from level2_pipeline.errors import UserFacingError
from level2_pipeline.project import shown
from level3_system.runtime.orchestration import start_server_if_needed, wait_for
from level3_system.runtime.reachability import lost_server
from level3_system.runtime.tracelog import details
from level3_system.settings import Level3Settings


def format_result(summary: Any) -> str:
    result = summary.result
    window = result["window"]
    verdict = "ALERT" if result["alert"] else ("no verdict" if result["dataset_drift"] is None else "no alert")
    lines = [
        f"monitor · {result['model_name']} version {result['model_version']} · {summary.seconds:.1f} s · {verdict}",
        f"  window      {window['n_rows']} rows ({window['n_labeled']} labelled) "
        f"{window['start'] or '–'} → {window['end'] or '–'}",
    ]
    if result["dataset_drift"] is not None:
        lines.append(f"  drift       share {result['drift_share']:.2f}: {', '.join(result['drifted_features']) or '–'}")
    lines += [f"      - {reason}" for reason in result["reasons"]]
    if summary.latest is not None:
        lines.append(f"  result      {shown(summary.latest)}")
    if summary.report_html is not None:
        lines.append(f"  report      {shown(summary.report_html)}")
    if summary.mlflow_run_id:
        lines.append(f"  mlflow      run {summary.mlflow_run_id} (experiment monitoring)")
    return "\n".join(lines)


def monitor(settings: Level3Settings) -> int:
    from level3_system.monitoring.window import check_log, served_version

    served_version(settings)  # no champion: one line, before any server starts
    check_log(settings, create=True)  # nothing served yet: an empty window, "not enough data" (exit 0)
    server = start_server_if_needed(settings)
    import evidently  # noqa: F401  - warmed while the Prefect server starts

    wait_for(server)
    from level3_system.monitoring.flow import monitor as monitor_flow

    state = monitor_flow(settings=settings, return_state=True)
    summary = state.result(raise_on_failure=False)
    if isinstance(summary, BaseException):
        print(f"level 3 monitor failed: {lost_server(settings, summary) or summary}{details()}", file=sys.stderr)
        return 1
    print(format_result(summary))
    return 0


def feedback(settings: Level3Settings, file: str) -> int:
    """Record outcomes from a file (not atomic: what matches is recorded, the rest is counted)."""
    from level3_system.monitoring.window import check_log, served_version
    from level3_system.prediction_log.schema import create_engine
    from level3_system.prediction_log.store import record_feedback

    served = served_version(settings)
    outcomes = read_outcomes(Path(file), served.contract)
    engine = create_engine(check_log(settings))
    try:
        result = record_feedback(engine, outcomes, served.contract, atomic=False)
    finally:
        engine.dispose()
    print(f"feedback {shown(file)}: {len(outcomes)} outcome(s): {result.summary()}")
    return 0


def read_outcomes(path: Path, contract: Any) -> list[Any]:
    import pandas as pd

    from level3_system.prediction_log.store import Outcome

    if not path.is_file():
        raise UserFacingError(f"{path}: no such file (FILE=... a CSV or Parquet of outcomes)")
    try:
        frame = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise UserFacingError(
            f"{path}: cannot read it as {path.suffix or 'CSV'}: {' '.join(str(exc).split())}"
        ) from exc
    keys = [name for name in ("request_id", contract.id_column) if name and name in frame.columns]
    if not keys or contract.target not in frame.columns:
        id_hint = f" or {contract.id_column}" if contract.id_column else ""
        raise UserFacingError(
            f"{path}: needs a request_id{id_hint} column and a {contract.target} column; it has {list(frame.columns)}"
        )
    allowed = contract.columns[contract.target].categories
    values = frame[contract.target].astype(str)
    if allowed is not None and not values.isin(allowed).all():
        bad = sorted(set(values[~values.isin(allowed)]))[:5]
        raise UserFacingError(f"{path}: {contract.target} must be one of {allowed}; found {bad}")
    observed = pd.to_datetime(frame["observed_at"], utc=True) if "observed_at" in frame.columns else None

    def text(column: str | None, position: int) -> str | None:
        if column is None or column not in keys:
            return None
        value = frame[column].iloc[position]
        return None if pd.isna(value) else str(value)

    outcomes = []
    for position in range(len(frame)):
        request = text("request_id", position)
        outcomes.append(
            Outcome(
                outcome=str(values.iloc[position]),
                request_id=request,
                entity_id=None
                if request is not None
                else (text(contract.id_column, position) or f"row {position + 2}"),
                observed_at=None if observed is None else observed.iloc[position].to_pydatetime(),
            )
        )
    return outcomes


def traffic(settings: Level3Settings, scenario: str) -> int:
    """Replay a scenario's customers to the running service; one line of what was sent and recorded."""
    import secrets

    import pandas as pd

    from level2_pipeline import ingestion
    from level3_system.monitoring.traffic import replay

    scenarios = settings.traffic.scenarios
    if scenario not in scenarios:
        raise UserFacingError(f"no traffic scenario {scenario!r} in conf/ (traffic.scenarios): {', '.join(scenarios)}")
    config = ingestion.load_config(settings.kedro_env, settings.data_root)
    if not config.target.is_file():
        raise UserFacingError(f"{shown(config.target)} not found: run `make data` first")
    frame = pd.read_csv(config.target).rename(columns=config.params.rename)
    chosen = scenarios[scenario]
    named = {c for rule in chosen.reweight for c in rule.when} | ({chosen.tilt.column} if chosen.tilt else set())
    if missing := sorted(named - set(frame.columns)):
        raise UserFacingError(f"scenario {scenario!r} names column(s) the data lacks: {', '.join(missing)}")
    seed = settings.traffic.seed if settings.traffic.seed is not None else secrets.randbelow(2**31)
    _check_service(settings)
    result = replay(settings, frame, config.contract, chosen, seed)
    versions = ", ".join(f"v{v} {n}" for v, n in sorted(result.versions.items())) or "–"
    print(
        f"traffic {scenario} (seed {seed}): {result.sent} requests in {result.seconds:.1f} s, {result.errors} errors "
        f"(answered by {versions}); {result.outcomes_recorded} of {result.outcomes_posted} outcomes recorded"
    )
    return 0 if result.errors == 0 else 1


def _check_service(settings: Level3Settings) -> None:
    import urllib.request

    url = f"http://{settings.serving.host}:{settings.serving.port}/ready"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            if response.status == 200:
                return
    except OSError as exc:
        raise UserFacingError(f"no service ready at {url} ({exc}): start it with `make serve` first") from exc
    raise UserFacingError(f"the service at {url} is not ready: start it with `make serve` first")
