"""`make traffic`: scenarios only re-weight real customers, and the replay sends them and their true outcomes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from servers import free_port

from level2_pipeline.config import load_contract
from level3_system.monitoring.traffic import draw, replay, scenario_weights
from level3_system.settings import PredictionLogSettings, ServingSettings, TrafficSettings, load_settings
from level3_system.settings.blocks import Reweight, Tilt, TrafficScenario

SCENARIOS = load_settings().traffic.scenarios


def test_the_baseline_is_uniform(raw_frame: pd.DataFrame) -> None:
    weights = scenario_weights(raw_frame, SCENARIOS["baseline"])
    assert np.allclose(weights, 1 / len(raw_frame))


def test_reweighting_draws_matching_customers_more_often(raw_frame: pd.DataFrame) -> None:
    scenario = TrafficScenario(reweight=[Reweight(when={"contract": "Two year"}, factor=5)])
    share = (draw(raw_frame, scenario, 5000, 0)["contract"] == "Two year").mean()
    base = (raw_frame["contract"] == "Two year").mean()
    expected = 5 * base / (5 * base + (1 - base))
    assert abs(share - expected) < 0.03, f"share of two-year customers {share:.3f}, expected {expected:.3f}"


def test_a_tilt_moves_the_mean_of_its_column(raw_frame: pd.DataFrame) -> None:
    tilted = draw(raw_frame, TrafficScenario(tilt=Tilt(column="monthly_charges", per_unit=0.05)), 3000, 0)
    assert tilted["monthly_charges"].mean() > raw_frame["monthly_charges"].mean() + 15


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_no_value_and_no_label_is_made_up(raw_frame: pd.DataFrame, scenario: str) -> None:
    drawn = draw(raw_frame, SCENARIOS[scenario], 500, 3)
    real = raw_frame.set_index("customer_id")
    again = real.loc[drawn["customer_id"]].reset_index()
    pd.testing.assert_frame_equal(drawn.reset_index(drop=True), again[drawn.columns], check_dtype=False)


@pytest.fixture
def running_service(champion: Any, tmp_path: Path) -> Iterator[Any]:
    """The service on a free port of 127.0.0.1, in this process (uvicorn in a thread)."""
    import uvicorn

    from level3_system.serving.app import create_app

    port = free_port()
    settings = champion.settings.model_copy(
        update={
            "serving": ServingSettings(port=port),
            "prediction_log": PredictionLogSettings(url=f"sqlite:///{(tmp_path / 'log.sqlite').as_posix()}"),
        }
    )
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the service did not start"
    yield settings
    server.should_exit = True
    thread.join(timeout=30)


@pytest.mark.slow
def test_a_replay_sends_customers_and_posts_their_true_outcomes(running_service: Any, raw_frame: pd.DataFrame) -> None:
    settings = running_service.model_copy(
        update={"traffic": TrafficSettings(rate=400, requests=240, clients=3, feedback_delay_seconds=0.5)}
    )
    result = replay(settings, raw_frame, load_contract(), SCENARIOS["fibre_month_to_month"], seed=5)

    assert (result.sent, result.errors) == (240, 0), result
    assert result.versions == {"1": 240}
    assert result.outcomes_posted == result.outcomes_recorded == 240, result
