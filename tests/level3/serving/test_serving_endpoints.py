"""The service's endpoints on a registry with a champion, and on one without."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from level3_support import BASELINE_ROC_AUC, MODEL_NAME, Store, make_settings
from prometheus_client.parser import text_string_to_metric_families
from serving_support import SKEW_TOLERANCE, error_of


def test_health_answers_alive(client: Any) -> None:
    response = client.get("/health")
    assert response.status_code == 200, f"/health: {response.status_code} {response.text}"
    assert response.json() == {"status": "alive"}


def test_without_a_champion_the_service_starts_unready(
    champion: Any, new_store: Callable[[str], Store], serve: Any, example_customer: dict[str, Any], caplog: Any
) -> None:
    # Given an empty registry
    settings = make_settings(champion.settings.data_root, new_store("no_model"))
    # When the service starts
    with caplog.at_level(logging.ERROR, logger="level3_system.serving"):
        client = serve(settings)
    # Then it says what to do, stays up, and refuses to score with a JSON error
    assert "make level3" in caplog.text, f"start-up on an empty registry logged no hint: {caplog.text!r}"
    assert client.get("/health").status_code == 200, "/health must answer while there is no model"
    ready = client.get("/ready")
    assert ready.status_code == 503, f"/ready without a model: {ready.status_code} {ready.text}"
    assert ready.json()["status"] == "loading"
    for method, path, body in (("post", "/predict", example_customer), ("get", "/model", None)):
        response = getattr(client, method)(path, **({"json": body} if body else {}))
        assert response.status_code == 503, f"{path} without a model: {response.status_code} {response.text}"
        assert "no model loaded" in error_of(response)["error"], f"{path} 503 does not say why: {response.text}"
    reload = client.post("/admin/reload")
    assert reload.status_code == 404, f"/admin/reload on an empty registry: {reload.status_code} {reload.text}"
    assert "make level3" in error_of(reload)["error"]


def test_ready_once_the_champion_is_loaded(client: Any) -> None:
    response = client.get("/ready")
    assert response.status_code == 200, f"/ready with a champion: {response.status_code} {response.text}"
    assert response.json() == {"status": "ready", "model_version": "1"}


def test_model_describes_the_champion(client: Any, champion: Any) -> None:
    response = client.get("/model")
    assert response.status_code == 200, f"/model: {response.status_code} {response.text}"
    info = response.json()
    assert (info["name"], info["version"], info["alias"]) == (MODEL_NAME, "1", "champion"), f"/model: {info}"
    assert info["run_id"] == champion.registered.run_id, "/model names another run than the registered version's"
    assert info["metrics"]["roc_auc"] == pytest.approx(BASELINE_ROC_AUC, abs=1e-3), (
        f"served model's holdout ROC AUC {info['metrics']['roc_auc']:.4f}, the baseline is {BASELINE_ROC_AUC}"
    )
    assert info["metrics"]["fast_path_max_difference"] < 1e-6, "the logged ONNX export disagrees with the model"
    assert datetime.fromisoformat(info["trained_at"]).tzinfo is not None, f"trained_at {info['trained_at']!r}"
    assert info["threshold"] == pytest.approx(champion.outcome.metrics["threshold"]), "threshold is not the run's"
    assert info["fast_path"] == "linear", "the service did not fold this linear pipeline (fast_path: auto)"
    properties = info["input_schema"]["properties"]
    id_column = champion.contract.id_column
    assert set(properties) == {id_column, *champion.contract.features}, "input schema fields differ from the contract"
    assert id_column not in info["input_schema"]["required"], "the customer id is optional (logged, not scored)"
    for name in champion.contract.categorical_features:
        assert properties[name]["enum"] == champion.contract.columns[name].categories, f"{name}: enum off contract"
    assert "total_charges" not in info["input_schema"]["required"], "total_charges may be null (tenure 0)"


def test_predict_scores_the_openapi_example(client: Any, example_customer: dict[str, Any]) -> None:
    # Given the customer the API documents; when it is scored
    response = client.post("/predict", json=example_customer)
    # Then a probability, the label at the threshold and the version come back
    assert response.status_code == 200, f"/predict of the OpenAPI example: {response.status_code} {response.text}"
    prediction = response.json()
    probability = prediction["churn_probability"]
    assert 0 < probability < 1, f"churn probability {probability} outside (0, 1)"
    assert prediction["churn"] is (probability >= prediction["threshold"]), f"label off threshold: {prediction}"
    assert prediction["model_version"] == "1"
    # The hot path serializes its own JSON: it must still be exactly the documented response model
    from level3_system.serving.responses import ChurnPrediction

    assert ChurnPrediction.model_validate(prediction).model_dump() == prediction, f"not a ChurnPrediction: {prediction}"
    assert response.headers["content-type"] == "application/json", response.headers["content-type"]


def test_batch_keeps_order_and_count(client: Any, holdout_bodies: list[dict[str, Any]]) -> None:
    # Given 40 holdout customers scored one by one
    customers = holdout_bodies[:40]
    one_by_one = [client.post("/predict", json=c).json()["churn_probability"] for c in customers]
    # When the same customers are sent as one batch, in reverse order
    response = client.post("/predict/batch", json={"customers": customers[::-1]})
    # Then there is one prediction per customer, in request order
    assert response.status_code == 200, f"/predict/batch: {response.status_code} {response.text[:300]}"
    batch = response.json()
    assert len(batch["predictions"]) == len(customers), "batch returned another number of predictions"
    assert batch["model_version"] == "1"
    got = [p["churn_probability"] for p in batch["predictions"]]
    assert got == pytest.approx(one_by_one[::-1], abs=SKEW_TOLERANCE), "batch predictions are not in request order"
    assert all(p["churn"] is (p["churn_probability"] >= batch["threshold"]) for p in batch["predictions"])


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_count_requests_errors_scores_and_version(
    champion: Any, serve: Any, example_customer: dict[str, Any]
) -> None:
    # Given a fresh app (its own metrics registry) and known traffic
    client = serve(champion.settings)
    for _ in range(3):
        client.post("/predict", json=example_customer)
    client.post("/predict/batch", json={"customers": [example_customer, example_customer]})
    client.post("/predict", json={**example_customer, "tenure": -1})
    # When Prometheus scrapes
    response = client.get("/metrics")
    # Then the text format has counts and latency per endpoint, errors, the score histogram and the version
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain"), response.headers["content-type"]
    samples = _samples(response.text)

    def value(name: str, **labels: str) -> float | None:
        return samples.get((name, tuple(sorted(labels.items()))))

    requests = "churn_api_requests_total"
    assert value(requests, method="POST", endpoint="/predict", status="200") == 3, (
        f"/predict 200 count wrong; request samples: {[k for k in samples if k[0] == requests]}"
    )
    assert value(requests, method="POST", endpoint="/predict/batch", status="200") == 1
    assert value(requests, method="POST", endpoint="/predict", status="422") == 1
    assert value("churn_api_errors_total", endpoint="/predict", status="422") == 1, "the 422 is not counted as error"
    assert value("churn_api_request_seconds_count", endpoint="/predict") == 4, "latency not recorded per endpoint"
    assert value("churn_api_request_seconds_count", endpoint="/predict/batch") == 1
    assert value("churn_prediction_probability_count") == 5, "score histogram should hold 3 single + 2 batch scores"
    assert value("churn_model_version") == 1.0, "churn_model_version gauge is not the served version"


def test_docs_page_works_offline(client: Any) -> None:
    # Given a machine with no internet: the docs page must not need a CDN
    page = client.get("/docs")
    assert page.status_code == 200, f"/docs: {page.status_code}"
    assert "http://" not in page.text and "https://" not in page.text, "/docs still loads assets from the internet"
    for asset in ("/static/docs/swagger-ui-bundle.js", "/static/docs/swagger-ui.css"):
        assert asset in page.text, f"/docs does not use the local {asset}"
        assert client.get(asset).status_code == 200, f"{asset} is not served"
