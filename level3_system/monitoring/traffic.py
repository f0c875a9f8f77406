"""`make traffic SCENARIO=...`: real customers sent to the running service, their true outcomes posted later.

Scenarios live in conf/ (`traffic.scenarios` of level3.yml) and only re-weight real rows of the raw file: a
scenario makes some customers more likely to be drawn (`reweight`: rows matching all of `when` weigh `factor`
times more; `tilt`: weight ∝ exp(per_unit × value) of a numeric column, e.g. a population paying more, as after a
price rise). No value is altered and no label is made up: each customer's outcome is the one the data records,
posted as feedback `feedback_delay_seconds` after its prediction, by request id.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from level2_pipeline.contract import DataContract
from level2_pipeline.errors import UserFacingError
from level3_system.settings import Level3Settings, TrafficScenario

FEEDBACK_BATCH = 500


def scenario_weights(frame: pd.DataFrame, scenario: TrafficScenario) -> np.ndarray:
    """One weight per row (summing to 1): uniform, re-weighted where the scenario says so."""
    weights = np.ones(len(frame))
    for rule in scenario.reweight:
        match = np.ones(len(frame), dtype=bool)
        for column, value in rule.when.items():
            match &= (frame[column].astype(str) == str(value)).to_numpy()
        weights[match] *= rule.factor
    if scenario.tilt is not None:
        values = frame[scenario.tilt.column].astype(float).to_numpy()
        weights *= np.exp(scenario.tilt.per_unit * (values - np.nanmax(values)))
    return weights / weights.sum()


def draw(frame: pd.DataFrame, scenario: TrafficScenario, n: int, seed: int) -> pd.DataFrame:
    """`n` customers drawn with replacement from the real rows, with the scenario's weights."""
    rows = np.random.default_rng(seed).choice(len(frame), size=n, replace=True, p=scenario_weights(frame, scenario))
    return frame.iloc[rows].reset_index(drop=True)


def _native(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    return None if isinstance(value, float) and np.isnan(value) else value


def bodies(customers: pd.DataFrame, contract: DataContract) -> list[dict[str, Any]]:
    columns = [*([contract.id_column] if contract.id_column else []), *contract.features]
    rows = customers[columns].itertuples(index=False)
    return [{c: _native(v) for c, v in zip(columns, row, strict=True)} for row in rows]


@dataclass
class TrafficResult:
    sent: int = 0
    errors: int = 0
    outcomes_posted: int = 0
    outcomes_recorded: int = 0
    seconds: float = 0.0
    versions: dict[str, int] = field(default_factory=dict)
    pending: list[tuple[float, str, str]] = field(default_factory=list)  # (due, request id, outcome)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _headers(settings: Level3Settings) -> dict[str, str]:
    key = settings.serving.api_key
    return {"content-type": "application/json", **({"X-API-Key": key} if key else {})}


def _post_feedback(client: Any, target: str, contract: DataContract, due: list[tuple[float, str, str]]) -> int:
    recorded = 0
    for start in range(0, len(due), FEEDBACK_BATCH):
        chunk = due[start : start + FEEDBACK_BATCH]
        body = {"outcomes": [{"request_id": request, contract.target: outcome} for _, request, outcome in chunk]}
        response = client.post(f"{target}/feedback/batch", content=json.dumps(body))
        if response.status_code != 200:
            raise UserFacingError(f"POST /feedback/batch answered {response.status_code}: {response.text[:200]}")
        recorded += int(response.json()["recorded"])
    return recorded


def replay(
    settings: Level3Settings, frame: pd.DataFrame, contract: DataContract, scenario: TrafficScenario, seed: int
) -> TrafficResult:
    """Send the scenario's customers at the configured rate, from `clients` threads; post outcomes after a delay."""
    import httpx

    config = settings.traffic
    target = f"http://{settings.serving.host}:{settings.serving.port}"
    customers = draw(frame, scenario, config.requests, seed)
    payloads = bodies(customers, contract)
    outcomes = customers[contract.target].astype(str).tolist()
    result = TrafficResult()
    started = time.monotonic()
    headers = _headers(settings)

    def client_loop(worker: int) -> None:
        with httpx.Client(headers=headers, timeout=30) as client:
            for i in range(worker, len(payloads), config.clients):
                pause = started + i / config.rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                try:
                    response = client.post(f"{target}/predict", content=json.dumps(payloads[i]))
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                with result.lock:
                    result.sent += 1
                    if not ok:
                        result.errors += 1
                        continue
                    body = response.json()
                    result.versions[body["model_version"]] = result.versions.get(body["model_version"], 0) + 1
                    due = time.monotonic() + config.feedback_delay_seconds
                    result.pending.append((due, body["request_id"], outcomes[i]))

    workers = [threading.Thread(target=client_loop, args=(w,), daemon=True) for w in range(config.clients)]
    for worker in workers:
        worker.start()
    with httpx.Client(headers=headers, timeout=60) as client:
        while True:
            sending = any(w.is_alive() for w in workers)
            with result.lock:
                now = time.monotonic()
                due = [p for p in result.pending if p[0] <= now]
                result.pending = [p for p in result.pending if p[0] > now]
                waiting = bool(result.pending)
            if due:
                result.outcomes_posted += len(due)
                result.outcomes_recorded += _post_feedback(client, target, contract, due)
            if not sending and not waiting:
                break
            time.sleep(0.2)
    result.seconds = time.monotonic() - started
    return result
