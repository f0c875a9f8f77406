"""The service's Prometheus metrics: one registry per app, so tests can build several apps in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SCORE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))


class Metrics:
    """One registry per app, so tests can build several apps in one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "churn_api_requests",
            "Requests by endpoint and status",
            ["method", "endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "churn_api_request_seconds",
            "Request latency by endpoint",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "churn_api_errors",
            "Responses with status >= 400 by endpoint and status",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.scores = Histogram(
            "churn_prediction_probability",
            "Distribution of predicted churn probabilities",
            buckets=SCORE_BUCKETS,
            registry=self.registry,
        )
        self.model_version = Gauge(
            "churn_model_version", "Registry version of the model being served", registry=self.registry
        )
