"""The prediction log's tables, for SQLite and PostgreSQL alike (SQLAlchemy Core, no ORM).

`predictions`: one row per scored customer (a request id, UTC time, the registered model and version, the
features as validated, probability, label, latency). `feedback`: at most one observed outcome per prediction,
write-once. `create_all` makes the schema on first use; `SCHEMA_VERSION` says what a database holds, so that a
later change of these tables can be migrated (with Alembic) instead of guessed. None has been needed yet.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    event,
)
from sqlalchemy.engine import Engine

SCHEMA_VERSION = 1
metadata = MetaData()

predictions = Table(
    "predictions",
    metadata,
    Column("request_id", String(128), primary_key=True),
    Column("scored_at", DateTime(timezone=True), nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("source", String(16), nullable=False),  # predict | batch | score
    Column("entity_id", String(128), nullable=True),  # the contract's id column, when the caller sent it
    Column("features", JSON, nullable=False),
    Column("probability", Float, nullable=False),
    Column("label", Boolean, nullable=False),
    Column("latency_ms", Float, nullable=True),
    Index("ix_predictions_version_time", "model_name", "model_version", "scored_at"),
    Index("ix_predictions_entity", "entity_id"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("request_id", String(128), primary_key=True),
    Column("outcome", String(128), nullable=False),  # the target's value, as the contract spells it
    Column("positive", Boolean, nullable=False),
    Column("observed_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

schema_info = Table("schema_info", metadata, Column("version", Integer, primary_key=True))


def create_engine(url: str) -> Engine:
    """An engine for the log. SQLite gets WAL (the service writes while `make monitor` reads) and a busy timeout."""
    from sqlalchemy import create_engine as sqlalchemy_engine

    options: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        options.update(pool_pre_ping=True, pool_size=2, max_overflow=2)
    engine = sqlalchemy_engine(url, **options)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


def ensure_schema(engine: Engine) -> None:
    """Create the tables where missing and record the schema version (idempotent)."""
    from sqlalchemy import select

    metadata.create_all(engine)
    with engine.begin() as connection:
        if connection.execute(select(schema_info.c.version)).first() is None:
            connection.execute(schema_info.insert().values(version=SCHEMA_VERSION))
