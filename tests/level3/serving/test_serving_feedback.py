"""POST /feedback and /feedback/batch, and `make feedback FILE=...`: outcomes named by request id or customer id."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from serving_support import error_of, named_fields
from sqlalchemy import select
from support import PROJECT_ROOT

from level3_system.prediction_log.schema import create_engine, feedback
from level3_system.serving.app import create_app
from level3_system.settings import PredictionLogSettings


@pytest.fixture
def logged(champion: Any, tmp_path: Path) -> Iterator[tuple[Any, str]]:
    """An app with a log of its own (the champion's registry)."""
    url = f"sqlite:///{(tmp_path / 'log.sqlite').as_posix()}"
    settings = champion.settings.model_copy(
        update={"prediction_log": PredictionLogSettings(url=url, flush_seconds=0.05)}
    )
    with TestClient(create_app(settings)) as client:
        yield client, url


def _scored(client: Any, bodies: list[dict[str, Any]], **extra: Any) -> list[str]:
    ids = [client.post("/predict", json={**body, **extra}).json()["request_id"] for body in bodies]
    assert client.app.state.prediction_log.flush(timeout=10), "the log did not flush"
    return ids


def _outcomes(url: str) -> dict[str, str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = {row.request_id: row.outcome for row in connection.execute(select(feedback))}
    engine.dispose()
    return found


def test_an_outcome_by_request_id_is_recorded_once(logged: tuple[Any, str], holdout_bodies: list[dict]) -> None:
    client, url = logged
    (request_id,) = _scored(client, holdout_bodies[:1])

    first = client.post("/feedback", json={"request_id": request_id, "churn": "Yes"})
    again = client.post("/feedback", json={"request_id": request_id, "churn": "Yes"})
    other = client.post("/feedback", json={"request_id": request_id, "churn": "No"})

    assert first.json() == {"recorded": 1, "duplicates": 0}, first.text
    assert again.status_code == 200 and again.json() == {"recorded": 0, "duplicates": 1}, "not idempotent"
    assert other.status_code == 409 and request_id in error_of(other)["error"], other.text
    assert _outcomes(url) == {request_id: "Yes"}, "a conflicting outcome overwrote the first"


def test_an_outcome_by_customer_id_goes_to_their_latest_prediction(
    logged: tuple[Any, str], holdout_bodies: list[dict]
) -> None:
    client, url = logged
    _earlier, latest = _scored(client, holdout_bodies[:2], customer_id=777)

    answer = client.post("/feedback", json={"customer_id": 777, "churn": "No"})

    assert answer.json() == {"recorded": 1, "duplicates": 0}, answer.text
    assert _outcomes(url) == {latest: "No"}


def test_unknown_ids_are_404_by_name_and_nothing_is_recorded(
    logged: tuple[Any, str], holdout_bodies: list[dict]
) -> None:
    client, url = logged
    known = _scored(client, holdout_bodies[:2])
    batch = [{"request_id": known[0], "churn": "No"}, {"request_id": "nobody-1", "churn": "Yes"}]

    answer = client.post("/feedback/batch", json={"outcomes": batch})

    assert answer.status_code == 404, answer.text
    assert "nobody-1" in error_of(answer)["error"] and known[0] not in error_of(answer)["error"]
    assert _outcomes(url) == {}, "a batch with an unknown id recorded part of itself"
    ok = client.post("/feedback/batch", json={"outcomes": batch[:1]})
    assert ok.json() == {"recorded": 1, "duplicates": 0}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"request_id": "x", "churn": "Maybe"}, "churn", id="not-a-target-value"),
        pytest.param({"churn": "Yes"}, "body", id="no-id"),
        pytest.param({"request_id": "x", "customer_id": 3, "churn": "Yes"}, "body", id="two-ids"),
        pytest.param({"request_id": "x", "churn": "Yes", "observed_at": "yesterday"}, "observed_at", id="bad-time"),
    ],
)
def test_bad_feedback_is_422_naming_the_field(logged: tuple[Any, str], body: dict[str, Any], field: str) -> None:
    client, _ = logged
    answer = client.post("/feedback", json=body)
    assert answer.status_code == 422, answer.text
    assert field in named_fields(answer) or field in error_of(answer)["error"], answer.text


def _make_feedback(settings: Any, url: str, file: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CHURN_", "MLFLOW_"))},
        "CHURN_TRACKING_URI": settings.resolved_tracking_uri,
        "CHURN_DATA_DIR": str(settings.data_root),
        "CHURN_PREDICTION_LOG__URL": url,
    }
    return subprocess.run(
        [sys.executable, "-m", "level3_system", "feedback", str(file)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_make_feedback_records_a_file_and_says_what_matched(
    logged: tuple[Any, str], holdout_bodies: list[dict], champion: Any, tmp_path: Path
) -> None:
    client, url = logged
    ids = _scored(client, holdout_bodies[:3])
    client.post("/feedback", json={"request_id": ids[0], "churn": "Yes"})
    file = tmp_path / "outcomes.csv"
    pd.DataFrame({"request_id": [ids[0], ids[1], ids[2], "ghost"], "churn": ["Yes", "No", "Yes", "No"]}).to_csv(
        file, index=False
    )

    completed = _make_feedback(champion.settings, url, file)

    assert completed.returncode == 0, completed.stderr
    assert "4 outcome(s): 2 matched, 1 unknown, 1 duplicates, 0 conflicts" in completed.stdout, completed.stdout
    assert _outcomes(url) == {ids[0]: "Yes", ids[1]: "No", ids[2]: "Yes"}
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"id": [1], "label": ["Yes"]}).to_csv(bad, index=False)
    refused = _make_feedback(champion.settings, url, bad)
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert refused.returncode == 1 and len(lines) == 1 and "needs a request_id" in lines[0], refused.stderr
