"""Response models: what the routes answer, as the OpenAPI document describes it (`response_model`). Static,
unlike the request models (`schemas.py`), which each served version builds from its own contract."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

OFFER = "churn_probability >= offer_threshold: the served version's retention decision (GET /model: decision)"
EXPECTED = "the offer's expected net value: churn_probability × success rate × churn loss − offer cost"


class ChurnPrediction(BaseModel):
    churn_probability: float = Field(description="probability that the customer leaves")
    churn: bool = Field(description="churn_probability >= threshold (the label every level evaluates)")
    threshold: float
    offer: bool = Field(description=OFFER)
    expected_value: float = Field(description=EXPECTED)
    offer_threshold: float
    model_version: str
    request_id: str = Field(description="this prediction in the log (also in X-Request-ID): name it in /feedback")


class ScoredCustomer(BaseModel):
    churn_probability: float
    churn: bool
    offer: bool = Field(description=OFFER)
    expected_value: float = Field(description=EXPECTED)
    request_id: str = Field(description="this row in the prediction log: <the batch's request id>-<position>")


class BatchPrediction(BaseModel):
    predictions: list[ScoredCustomer] = Field(description="one per customer, in request order")
    threshold: float
    offer_threshold: float
    model_version: str
    request_id: str


class FeedbackResult(BaseModel):
    recorded: int = Field(description="outcomes recorded now")
    duplicates: int = Field(description="outcomes recorded before with the same value (nothing changed)")


class DecisionInfo(BaseModel):
    """Who gets a retention offer: the version's decision as it is served."""

    policy: Literal["expected_value", "fixed"]
    threshold: float = Field(description="offer when churn_probability >= this")
    break_even: float = Field(description="cost / (success rate × churn loss): the threshold of a calibrated model")
    economics: dict[str, float] = Field(description="offer_cost, churn_loss, offer_success_rate")
    source: Literal["version", "serving.threshold", "conf"] = Field(
        description="version: chosen at training; serving.threshold: an override; conf: a version without one"
    )
    value_per_1000: dict[str, float] | None = Field(
        default=None, description="net value per 1,000 holdout customers: model, offer_all, offer_none, random"
    )
    interval_95: dict[str, list[float]] | None = None


class ModelInfo(BaseModel):
    name: str
    version: str
    alias: str
    run_id: str
    metrics: dict[str, float]
    trained_at: str
    threshold: float
    fast_path: Literal["linear", "trees", "onnx", "sklearn"]
    contract: str = Field(description="the data contract the version was trained with")
    contract_source: Literal["version", "conf"] = Field(
        description="version: the contract and cleaning logged with it; conf: today's conf/ (an older version)"
    )
    promotion: str = Field(description="why this version is champion: the registry's recorded decision")
    trigger: str = Field(description="why its training ran: manual, schedule or drift")
    decision: DecisionInfo
    input_schema: dict[str, Any]


class ReloadResult(BaseModel):
    previous_version: str | None
    version: str
    changed: bool
