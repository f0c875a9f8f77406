"""The retention decision as served: `offer` is churn_probability ≥ /model's decision.threshold on real customers,
`expected_value` is the offer's value under the version's economics, and `serving.threshold` overrides the
version's threshold (and says so)."""

from __future__ import annotations

from typing import Any

import pytest

from level3_system.settings import ServingSettings


def test_model_shows_the_decision_the_version_was_trained_with(client: Any, champion: Any) -> None:
    decision = client.get("/model").json()["decision"]
    trained = champion.outcome.decision

    assert decision["policy"] == "expected_value" and decision["source"] == "version"
    assert decision["threshold"] == trained["threshold"] and 0 < decision["threshold"] < 1
    assert decision["break_even"] == pytest.approx(0.2)  # cost 50 / (0.5 × 500)
    assert decision["economics"] == {"offer_cost": 50.0, "churn_loss": 500.0, "offer_success_rate": 0.5}
    assert decision["value_per_1000"] == trained["value_per_1000"]
    assert decision["value_per_1000"]["model"] > decision["value_per_1000"]["offer_all"]


def test_offer_is_the_probability_at_the_decision_threshold_on_real_customers(
    client: Any, holdout_bodies: list[dict[str, Any]]
) -> None:
    threshold = client.get("/model").json()["decision"]["threshold"]
    customers = holdout_bodies[:600]

    batch = client.post("/predict/batch", json={"customers": customers}).json()
    singles = [client.post("/predict", json=c).json() for c in customers[:150]]

    assert batch["offer_threshold"] == threshold
    offered = [p["offer"] for p in batch["predictions"]]
    assert offered == [p["churn_probability"] >= threshold for p in batch["predictions"]]
    assert 0 < sum(offered) < len(offered), "a real holdout gets some offers, not all"
    assert any(p["offer"] and not p["churn"] for p in batch["predictions"]), "the offer threshold is not the label's"
    for one in singles:
        assert one["offer"] is (one["churn_probability"] >= threshold), one
        assert one["offer_threshold"] == threshold
        assert one["expected_value"] == pytest.approx(one["churn_probability"] * 0.5 * 500 - 50), one
    for p in batch["predictions"]:
        assert p["expected_value"] == pytest.approx(p["churn_probability"] * 250 - 50)


def test_serving_threshold_overrides_the_versions_and_says_so(
    champion: Any, serve: Any, example_customer: dict[str, Any]
) -> None:
    settings = champion.settings.model_copy(update={"serving": ServingSettings(threshold=0.9)})
    client = serve(settings)

    decision = client.get("/model").json()["decision"]
    prediction = client.post("/predict", json=example_customer).json()

    assert (decision["threshold"], decision["source"]) == (0.9, "serving.threshold")
    assert prediction["offer_threshold"] == 0.9
    assert prediction["offer"] is (prediction["churn_probability"] >= 0.9)
