"""What `make soak` sets up and runs beside the load: a registry of its own with versions to promote, and the
promoter — a process of its own, as a training run is, so that its CPU does not stall the load generator.

The versions are real level-2 trainings (the same pipeline with a few values of C), logged and registered as the
flow does; each is promoted by the promotion rule itself (`compose.promote_version`: judged against the champion
it replaces, under the promotion lock), then the service is told to reload and watched until it serves it.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from level2_pipeline.project import PROJECT_ROOT, QUIET_ENVIRONMENT

C_VALUES = (1.0, 0.5, 0.8, 1.2, 0.6, 1.5, 0.7, 1.1, 0.9, 1.3)


@dataclass
class Plan:
    settings: Any  # Level3Settings on the soak's own stores
    env: dict[str, str]  # the same stores, for the service and the monitor (environment variables only)
    target: str
    customers: list[tuple[dict[str, Any], str]]  # a request body and the customer's true outcome
    candidates: list[tuple[str, str, Any]] = field(default_factory=list)  # (version, run id, TrainingOutcome)


def rss_mib(pid: int) -> float:
    """Resident memory of a process (Linux /proc), in MiB; 0 when it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def prepare(folder: Path, promotions: int) -> Plan:
    """The soak's stores under `folder`, version 1 promoted, `promotions` more registered as challengers."""
    import pandas as pd

    from level2_pipeline.config import load_contract
    from level2_pipeline.ingestion import load_config, sha256_of
    from level3_system.lifecycle import registry
    from level3_system.monitoring.traffic import bodies
    from level3_system.settings import PredictionLogSettings, get_settings
    from level3_system.training.compose import promote_version, run_level2, training_outcome
    from level3_system.training.tracking import log_training_run

    source = load_config(get_settings().kedro_env, PROJECT_ROOT / "data").target  # the catalog's raw file
    if not source.is_file():
        raise SystemExit(f"soak: no raw data at {source}: run make data first")
    data = folder / "data"
    raw = [data / source.relative_to(PROJECT_ROOT / "data")]
    raw[0].parent.mkdir(parents=True)
    shutil.copyfile(source, raw[0])
    store = folder / "mlflow"
    env = {
        "CHURN_DATA_DIR": str(data),
        "MLFLOW_TRACKING_URI": f"sqlite:///{(store / 'mlflow.db').as_posix()}",
        "CHURN_ARTIFACT_LOCATION": (store / "artifacts").as_uri(),
        "CHURN_PREFECT_HOME": str(folder / "prefect"),
        "CHURN_PREDICTION_LOG__URL": f"sqlite:///{(folder / 'prediction_log.sqlite').as_posix()}",
    }
    store.mkdir()
    base = get_settings()
    settings = base.model_copy(
        update={
            "data_dir": data,
            "tracking_uri": env["MLFLOW_TRACKING_URI"],
            "artifact_location": env["CHURN_ARTIFACT_LOCATION"],
            "prefect_home": folder / "prefect",
            "prediction_log": PredictionLogSettings(url=env["CHURN_PREDICTION_LOG__URL"]),
        }
    )
    contract = load_contract(settings.kedro_env)
    frame = pd.read_csv(raw[0])
    plan = Plan(settings, env, contract.target, [])
    plan.customers = list(zip(bodies(frame, contract), frame[contract.target].astype(str), strict=True))
    started = time.perf_counter()
    run_level2(settings, "data_processing")
    for n, c in enumerate(C_VALUES[: promotions + 1]):
        trained = settings.model_copy(update={"kedro_params": {"model": {"C": c, "max_iter": 1000}}})
        outcome = training_outcome(
            run_level2(trained, "data_science"), raw[0], sha256_of(data / "01_raw" / raw[0].name)
        )
        tracked = log_training_run(settings, outcome, flow_run_id="soak", flow_run_name=f"soak-{n + 1}")
        version = registry.register(settings, tracked.model_uri, tracked.run_id, tracked.model_id)
        if n == 0:
            promote_version(settings, outcome, version, tracked.run_id)
        else:
            plan.candidates.append((version, tracked.run_id, outcome))
    print(f"registry: version 1 champion, {promotions} challengers to promote ({time.perf_counter() - started:.0f} s)")
    return plan


def promoter(plan: Plan, port: int, every: float, results: Any) -> None:
    """Every `every` seconds: promote the next candidate by the rule, reload the service, wait until it serves it."""
    import httpx

    for key, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    from level3_system.training.compose import promote_version

    started = time.monotonic()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for k, (version, run_id, outcome) in enumerate(plan.candidates, start=1):
            time.sleep(max(0.0, started + k * every - time.monotonic()))
            entry: dict[str, Any] = {"version": version}
            try:
                decision = promote_version(plan.settings, outcome, version, run_id)
                entry["decision"] = decision.text
                if not decision.promote:
                    entry["error"] = "stayed challenger"
                    results.put(entry)
                    continue
                moved = time.monotonic()
                answer = client.post("/admin/reload")
                if answer.status_code != 200:
                    entry["error"] = f"/admin/reload answered {answer.status_code}: {answer.text[:200]}"
                while "error" not in entry and time.monotonic() - moved < 30:
                    if client.get("/model").json().get("version") == version:
                        entry["served"] = time.monotonic() - moved
                        break
                    time.sleep(0.05)
                else:
                    entry.setdefault("error", "not served within 30 s")
            except Exception as exc:  # reported, not raised: the soak's report says what went wrong
                entry["error"] = " ".join(str(exc).split())[:200]
            results.put(entry)
