"""The service's Prometheus metrics: one registry per app, so tests can build several apps in one process.

Beside the request metrics: the prediction log's writer (rows written, queued, dropped) and the monitor's latest
figures, both read when Prometheus scrapes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

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
        # swapped | unchanged | no_model | failed (the registry unreachable, a version that does not load)
        self.reloads = Counter(
            "churn_model_reloads", "Reloads of the served alias by outcome", ["outcome"], registry=self.registry
        )


class PredictionLogCollector(Collector):
    """The prediction log's writer as Prometheus reads it: rows written, queued, dropped, write errors."""

    def __init__(self, writer: Callable[[], Any]) -> None:
        self._writer = writer

    def collect(self) -> Iterator[Any]:
        writer = self._writer()
        if writer is None:
            return
        stats = writer.stats
        yield CounterMetricFamily("churn_prediction_log_rows_written", "Rows written to the log", value=stats.written)
        yield CounterMetricFamily(
            "churn_prediction_log_rows_dropped", "Rows dropped: queue full or database unreachable", value=stats.dropped
        )
        yield CounterMetricFamily("churn_prediction_log_write_errors", "Failed batch inserts", value=stats.errors)
        yield GaugeMetricFamily("churn_prediction_log_rows_queued", "Rows waiting to be written", value=writer.queued)


class MonitoringCollector(Collector):
    """The monitor's latest figures (monitoring/latest.json, written by `make monitor` or the deployment), read
    when Prometheus scrapes: drift share, drifted features, realized ROC AUC and net value, window rows, alert."""

    def __init__(self, latest: Path) -> None:
        self._latest = latest
        self._seen: tuple[float, dict[str, Any]] | None = None

    def _result(self) -> dict[str, Any] | None:
        try:
            changed = self._latest.stat().st_mtime
        except OSError:
            return None
        if self._seen is None or self._seen[0] != changed:
            try:
                self._seen = (changed, json.loads(self._latest.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                return None
        return self._seen[1]

    def collect(self) -> Iterator[Any]:
        result = self._result()
        if result is None:
            return
        labels = ["model_version"]
        version = [str(result.get("model_version"))]
        performance = result.get("performance") or {}
        value = result.get("value") or {}
        figures = {
            "churn_monitor_window_rows": ("Rows in the last monitored window", result.get("window", {}).get("n_rows")),
            "churn_monitor_drift_share": ("Share of features drifted in it", result.get("drift_share")),
            "churn_monitor_drifted_features": ("Features drifted in it", len(result.get("drifted_features") or [])),
            "churn_monitor_realized_roc_auc": ("ROC AUC on its labelled rows", performance.get("roc_auc")),
            "churn_monitor_realized_value_per_1000": (
                "Net value per 1,000 labelled customers the offers earned in it",
                value.get("value_per_1000"),
            ),
            "churn_monitor_holdout_value_per_1000": (
                "The holdout's estimate of that value (the version's decision.json)",
                value.get("holdout_value_per_1000"),
            ),
            "churn_monitor_alert": ("1 when the last monitor run raised an alert", float(bool(result.get("alert")))),
        }
        for name, (text, value) in figures.items():
            if value is None:
                continue
            gauge = GaugeMetricFamily(name, text, labels=labels)
            gauge.add_metric(version, float(value))
            yield gauge
