"""The prediction log as the rest of level 3 reads and completes it: feedback in, windows and labelled rows out.

Feedback names a prediction by its request id, or by the contract's id column (the latest prediction of that
customer). It is write-once: the same outcome again is a duplicate (idempotent), another outcome is a conflict,
never an overwrite. The service's `/feedback` is atomic (any unknown id: nothing is recorded); `make feedback`
records what matches and reports the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import and_, select
from sqlalchemy.engine import Engine

from level2_pipeline.contract import DataContract
from level3_system.prediction_log.schema import create_engine, ensure_schema, feedback, predictions
from level3_system.settings import Level3Settings

CHUNK = 500  # ids per IN (...) query: well under SQLite's and PostgreSQL's parameter limits


def log_url(settings: Level3Settings) -> str:
    """The configured URL, or the embedded SQLite file under the data root."""
    if settings.prediction_log.url:
        return settings.prediction_log.url
    path = settings.data_root / "09_monitoring" / "prediction_log.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path.as_posix()}"


def open_log(settings: Level3Settings) -> Engine:
    engine = create_engine(log_url(settings))
    ensure_schema(engine)
    return engine


@dataclass(frozen=True)
class Outcome:
    """One observed outcome: for a request id, or for a customer (the contract's id column)."""

    outcome: str
    request_id: str | None = None
    entity_id: str | None = None
    observed_at: datetime | None = None

    @property
    def key(self) -> str:
        return self.request_id if self.request_id is not None else f"{self.entity_id}"


@dataclass
class FeedbackResult:
    matched: list[str] = field(default_factory=list)  # recorded now
    duplicates: list[str] = field(default_factory=list)  # the same outcome was already recorded
    conflicts: list[str] = field(default_factory=list)  # another outcome was already recorded
    unknown: list[str] = field(default_factory=list)  # no such request id / no prediction for that customer

    def summary(self) -> str:
        return (
            f"{len(self.matched)} matched, {len(self.unknown)} unknown, {len(self.duplicates)} duplicates, "
            f"{len(self.conflicts)} conflicts"
        )


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _resolve(connection: Any, items: list[Outcome]) -> dict[str, str]:
    """key -> request id: request ids that exist, and each customer's latest prediction."""
    by_request = sorted({i.request_id for i in items if i.request_id is not None})
    by_entity = sorted({str(i.entity_id) for i in items if i.request_id is None and i.entity_id is not None})
    found: dict[str, str] = {}
    for chunk in _chunks(by_request):
        rows = connection.execute(select(predictions.c.request_id).where(predictions.c.request_id.in_(chunk)))
        found.update({row.request_id: row.request_id for row in rows})
    latest: dict[str, tuple[datetime, str]] = {}
    for chunk in _chunks(by_entity):
        query = select(predictions.c.entity_id, predictions.c.request_id, predictions.c.scored_at).where(
            predictions.c.entity_id.in_(chunk)
        )
        for row in connection.execute(query):
            if row.entity_id not in latest or row.scored_at > latest[row.entity_id][0]:
                latest[row.entity_id] = (row.scored_at, row.request_id)
    found.update({entity: request for entity, (_, request) in latest.items()})
    return found


def record_feedback(
    engine: Engine, items: list[Outcome], contract: DataContract, *, atomic: bool, now: datetime | None = None
) -> FeedbackResult:
    """Record outcomes (the contract's target values). `atomic`: nothing is written if any id is unknown or any
    outcome conflicts with one recorded before (what the API needs to answer 404 or 409)."""
    positive = contract.positive_class
    now = now or datetime.now(UTC)
    result = FeedbackResult()
    with engine.begin() as connection:
        resolved = _resolve(connection, items)
        requests = sorted(set(resolved.values()))
        recorded: dict[str, str] = {}
        for chunk in _chunks(requests):
            query = select(feedback.c.request_id, feedback.c.outcome).where(feedback.c.request_id.in_(chunk))
            rows = connection.execute(query)
            recorded.update({row.request_id: row.outcome for row in rows})
        new: dict[str, dict[str, Any]] = {}
        for item in items:
            request_id = resolved.get(item.key)
            if request_id is None:
                result.unknown.append(item.key)
            elif request_id in recorded or request_id in new:
                earlier = recorded.get(request_id) or new[request_id]["outcome"]
                (result.duplicates if earlier == item.outcome else result.conflicts).append(item.key)
            else:
                new[request_id] = {
                    "request_id": request_id,
                    "outcome": item.outcome,
                    "positive": item.outcome == positive,
                    "observed_at": item.observed_at or now,
                    "recorded_at": now,
                }
                result.matched.append(item.key)
        if atomic and (result.unknown or result.conflicts):
            result.matched = []
            return result
        if new:
            connection.execute(feedback.insert(), list(new.values()))
    return result


def _frame(rows: list[Any]) -> pd.DataFrame:
    records = [dict(row._mapping) for row in rows]
    if not records:
        return pd.DataFrame(columns=["request_id", "scored_at", "probability", "label", "outcome", "positive"])
    frame = pd.DataFrame.from_records(records)
    features = pd.DataFrame.from_records(frame.pop("features").tolist(), index=frame.index)
    frame["scored_at"] = pd.to_datetime(frame["scored_at"], utc=True)
    return pd.concat([features, frame], axis=1)


def read_window(
    engine: Engine, model_name: str, version: str, *, rows: int | None = None, since: datetime | None = None
) -> pd.DataFrame:
    """The newest rows scored by one version (at most `rows`, since `since`): features, probability, label, and
    the outcome where feedback arrived (`outcome`/`positive` null otherwise). Oldest first."""
    columns = [predictions.c[name] for name in ("request_id", "scored_at", "features", "probability", "label")]
    query = (
        select(*columns, feedback.c.outcome, feedback.c.positive)
        .select_from(predictions.outerjoin(feedback, predictions.c.request_id == feedback.c.request_id))
        .where(and_(predictions.c.model_name == model_name, predictions.c.model_version == version))
        .order_by(predictions.c.scored_at.desc())
    )
    if since is not None:
        query = query.where(predictions.c.scored_at >= since)
    if rows is not None:
        query = query.limit(rows)
    with engine.connect() as connection:
        frame = _frame(list(connection.execute(query)))
    return frame.iloc[::-1].reset_index(drop=True)


def labelled_rows(engine: Engine, *, model_name: str | None = None) -> pd.DataFrame:
    """Every prediction whose outcome arrived (any version): features, outcome, times. What retraining learns from."""
    query = select(
        predictions.c.request_id,
        predictions.c.scored_at,
        predictions.c.features,
        predictions.c.model_version,
        feedback.c.outcome,
        feedback.c.observed_at,
    ).select_from(predictions.join(feedback, predictions.c.request_id == feedback.c.request_id))
    if model_name is not None:
        query = query.where(predictions.c.model_name == model_name)
    with engine.connect() as connection:
        frame = _frame(list(connection.execute(query.order_by(feedback.c.observed_at))))
    if "observed_at" in frame:
        frame["observed_at"] = pd.to_datetime(frame["observed_at"], utc=True)
    return frame
