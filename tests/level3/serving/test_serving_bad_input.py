"""Bad requests get a 4xx with a JSON error naming what is wrong: never a 5xx, never a silent score."""

from __future__ import annotations

import json
from typing import Any

import pytest
from level3_support import with_serving
from serving_support import error_of, json_nan_body, named_fields, post_raw


def _is_client_error(response: Any) -> None:
    assert 400 <= response.status_code < 500, f"expected a 4xx, got {response.status_code}: {response.text[:300]}"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"tenure": "5"}, "tenure", id="tenure-as-string"),
        pytest.param({"female": 0.5}, "female", id="flag-as-fraction"),
        pytest.param({"female": True}, "female", id="flag-as-bool"),
        pytest.param({"contract": 3}, "contract", id="category-as-number"),
        pytest.param({"contract": "Three year"}, "contract", id="unknown-category"),
        pytest.param({"tenure": -1}, "tenure", id="tenure-below-range"),
        pytest.param({"monthly_charges": 1e9}, "monthly_charges", id="charges-above-range"),
        pytest.param({"monthly_charges": None}, "monthly_charges", id="null-where-not-nullable"),
        pytest.param({"loyalty_points": 3}, "loyalty_points", id="unknown-extra-field"),
    ],
)
def test_invalid_field_is_rejected_by_name(
    client: Any, example_customer: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    response = client.post("/predict", json={**example_customer, **change})
    assert response.status_code == 422, f"{change} was not rejected: {response.status_code} {response.text[:300]}"
    assert field in named_fields(response), f"error for {change} does not name {field!r}: {response.text}"
    assert field in error_of(response)["error"], "the one-line error message does not name the field"


def test_whole_number_float_is_an_integer(client: Any, example_customer: dict[str, Any]) -> None:
    # JSON Schema (the OpenAPI document) counts 1.0 as an integer: a client generated from it may send one
    as_int = client.post("/predict", json={**example_customer, "female": 1, "tenure": 12})
    as_float = client.post("/predict", json={**example_customer, "female": 1.0, "tenure": 12.0})
    assert as_float.status_code == 200, as_float.text
    assert as_float.json()["churn_probability"] == as_int.json()["churn_probability"]


def test_missing_field_is_named(client: Any, example_customer: dict[str, Any]) -> None:
    customer = {k: v for k, v in example_customer.items() if k != "tenure"}
    response = client.post("/predict", json=customer)
    assert response.status_code == 422, f"missing tenure accepted: {response.status_code} {response.text}"
    assert named_fields(response) == ["tenure"], f"missing field not named: {response.text}"


def test_nan_literal_is_rejected(client: Any, example_customer: dict[str, Any]) -> None:
    # Python's json accepts a bare NaN; a NaN must not reach the model
    response = post_raw(client, "/predict", json_nan_body(example_customer, "monthly_charges"))
    assert response.status_code == 422, f"NaN monthly_charges accepted: {response.status_code} {response.text}"
    assert "monthly_charges" in named_fields(response)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param(b"", "body", id="empty-body"),
        pytest.param(b"{not json", "JSON", id="invalid-json"),
        pytest.param(b"[1, 2]", "body", id="array-not-object"),
        pytest.param(b'{"tenure": "\xff"}', "body", id="invalid-utf8"),
    ],
)
def test_unreadable_body_is_a_json_client_error(client: Any, body: bytes, says: str) -> None:
    response = post_raw(client, "/predict", body)
    _is_client_error(response)
    assert says in error_of(response)["error"], f"error for body {body!r} does not mention {says!r}: {response.text}"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [pytest.param("get", "/predict", 405, id="wrong-method"), pytest.param("get", "/nowhere", 404, id="unknown-path")],
)
def test_routing_errors_are_json_too(client: Any, method: str, path: str, status: int) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == status, f"{method.upper()} {path}: {response.status_code} {response.text}"
    error_of(response)


def test_non_json_content_type_is_415(client: Any, example_customer: dict[str, Any]) -> None:
    response = post_raw(client, "/predict", json.dumps(example_customer), content_type="text/plain")
    assert response.status_code == 415, f"text/plain body: {response.status_code} {response.text}"
    assert "JSON" in error_of(response)["error"]


LIMIT = 4096


@pytest.fixture(scope="module")
def small_limits(champion: Any) -> Any:
    """An app with a 4 KB body limit (about eight customers) and a batch limit of three customers."""
    from fastapi.testclient import TestClient

    from level3_system.serving.app import create_app

    with TestClient(create_app(with_serving(champion.settings, max_body_bytes=LIMIT, max_batch=3))) as test_client:
        yield test_client


def test_body_over_the_declared_limit_is_413(small_limits: Any, example_customer: dict[str, Any]) -> None:
    body = json.dumps({"customers": [example_customer]}).encode() + b" " * LIMIT
    response = post_raw(small_limits, "/predict/batch", body)
    assert response.status_code == 413, f"{len(body)}-byte body over a {LIMIT}-byte limit: {response.status_code}"
    assert str(LIMIT) in error_of(response)["error"], f"413 does not state the limit: {response.text}"


def test_streamed_body_over_the_limit_is_413(small_limits: Any, example_customer: dict[str, Any]) -> None:
    # A chunked body has no Content-Length: the limit is enforced while it is read
    def chunks() -> Any:
        yield json.dumps(example_customer)[:-1].encode()
        yield b" " * LIMIT + b"}"

    response = post_raw(small_limits, "/predict", chunks())
    assert response.status_code == 413, f"streamed body over the limit: {response.status_code} {response.text}"
    assert str(LIMIT) in error_of(response)["error"], f"413 does not state the limit: {response.text}"


def test_batch_over_max_batch_is_rejected(small_limits: Any, example_customer: dict[str, Any]) -> None:
    response = small_limits.post("/predict/batch", json={"customers": [example_customer] * 4})
    assert response.status_code == 422, f"4 customers over max_batch 3: {response.status_code} {response.text}"
    assert named_fields(response) == ["customers"], f"error does not name the list: {response.text}"
    ok = small_limits.post("/predict/batch", json={"customers": [example_customer] * 3})
    assert ok.status_code == 200, f"3 customers at max_batch 3 refused: {ok.status_code} {ok.text}"


def test_empty_batch_is_rejected(client: Any) -> None:
    response = client.post("/predict/batch", json={"customers": []})
    assert response.status_code == 422, f"empty batch: {response.status_code} {response.text}"
    assert named_fields(response) == ["customers"]


def test_bad_customer_in_a_batch_is_named_by_position(client: Any, example_customer: dict[str, Any]) -> None:
    customers = [example_customer, {**example_customer, "tenure": -1}]
    response = client.post("/predict/batch", json={"customers": customers})
    assert response.status_code == 422, f"bad second customer accepted: {response.status_code}"
    assert named_fields(response) == ["customers.1.tenure"], f"error does not locate the customer: {response.text}"


def test_new_customer_without_total_charges_is_scored_as_training_cleaned_it(
    client: Any, example_customer: dict[str, Any]
) -> None:
    # Given a brand-new customer (tenure 0): the source leaves total_charges empty, cleaning fills 0.0
    new = {**example_customer, "tenure": 0}
    missing = client.post("/predict", json={**new, "total_charges": None})
    zero = client.post("/predict", json={**new, "total_charges": 0.0})
    assert missing.status_code == 200, f"null total_charges at tenure 0 refused: {missing.text}"
    assert missing.json()["churn_probability"] == zero.json()["churn_probability"], (
        "null total_charges is not scored as the cleaning rule's 0.0"
    )
    batch = client.post("/predict/batch", json={"customers": [{**new, "total_charges": None}]})
    assert batch.json()["predictions"][0]["churn_probability"] == pytest.approx(
        zero.json()["churn_probability"], abs=1e-12
    ), "the batch path fills a missing total_charges differently from the single path"


def test_null_total_charges_of_an_existing_customer_is_rejected(client: Any, example_customer: dict[str, Any]) -> None:
    response = client.post("/predict", json={**example_customer, "tenure": 24, "total_charges": None})
    assert response.status_code == 422, f"null total_charges at tenure 24 accepted: {response.text}"
