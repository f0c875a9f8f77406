"""Typed settings for the level-3 system: `conf/<env>/level3.yml`, then environment variables.

The same code runs embedded (SQLite MLflow, Prefect ephemeral mode, everything under the project folder) or
against real servers; only settings change. Settings are read once per process (`get_settings`) and checked
strictly, so a typo in the YAML fails before a flow starts.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from level2_pipeline.errors import ConfigError, describe_invalid
from level2_pipeline.project import PROJECT_ROOT, apply_quiet_environment
from level3_system.runtime.tracelog import TRACE_LOG_VARIABLE, trace_log_path
from level3_system.settings.blocks import (
    ContinuousTrainingSettings,
    DecisionSettings,
    DirectionalCheck,
    InvarianceCheck,
    ModelCardSettings,
    ModelSelectionSettings,
    MonitoringSettings,
    PlatformSettings,
    PredictionLogSettings,
    PromotionRules,
    RecentWindowRule,
    ScoringSettings,
    SegmentSpec,
    ServingSettings,
    TrafficScenario,
    TrafficSettings,
)

__all__ = [
    "ContinuousTrainingSettings",
    "DecisionSettings",
    "DirectionalCheck",
    "InvarianceCheck",
    "Level3Settings",
    "ModelCardSettings",
    "ModelSelectionSettings",
    "MonitoringSettings",
    "PlatformSettings",
    "PredictionLogSettings",
    "PromotionRules",
    "RecentWindowRule",
    "ScoringSettings",
    "SegmentSpec",
    "ServingSettings",
    "TrafficScenario",
    "TrafficSettings",
    "apply_environment",
    "get_settings",
    "load_settings",
]


class _ConfSource(PydanticBaseSettingsSource):
    """The `level3:` block of `conf/base/level3.yml` merged with the run environment's (`conf/local/`).

    The environment is the `kedro_env` given as an argument or as CHURN_KEDRO_ENV, so `conf/<env>/level3.yml`
    (a fork's registered model and promotion rules) comes with that environment's data contract.
    """

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        from level2_pipeline.config import config_loader

        # What the sources before this one (arguments, then environment variables) said kedro_env is.
        env = self.current_state.get("kedro_env") or None
        try:
            return dict(config_loader(env)["level3"].get("level3", {}))
        except KeyError:
            return {}


class Level3Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CHURN_", env_nested_delimiter="__", extra="forbid", frozen=True, populate_by_name=True
    )

    kedro_env: str | None = None
    # Extra Kedro runtime parameters for the composed pipelines, e.g. {"model": {"C": 0.5, "max_iter": 1000}}.
    kedro_params: dict[str, Any] = {}
    experiment: str = "telco-churn"
    registered_model: str = "telco-churn"
    tracking_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("tracking_uri", "CHURN_TRACKING_URI", "MLFLOW_TRACKING_URI")
    )
    artifact_location: str | None = None
    prefect_api_url: str | None = Field(
        default=None, validation_alias=AliasChoices("prefect_api_url", "CHURN_PREFECT_API_URL", "PREFECT_API_URL")
    )
    prefect_home: Path = Path(".prefect")

    @field_validator("tracking_uri")
    @classmethod
    def _a_tracking_uri(cls, value: str | None) -> str | None:
        scheme = re.match(r"^([A-Za-z][\w+.-]*):", value or "")
        known = ("file", "sqlite", "postgresql", "mysql", "mssql", "http", "https", "databricks", "databricks-uc", "uc")
        if scheme and len(scheme.group(1)) > 1 and scheme.group(1).split("+")[0].lower() not in known:
            raise ValueError("an MLflow tracking URI: http(s)://host:port, sqlite:///file.db, postgresql+psycopg2://…")
        return value

    @field_validator("prefect_api_url")
    @classmethod
    def _an_api_url(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError("a Prefect API URL such as http://127.0.0.1:4200/api")
        return value

    data_dir: Path = Path("data")
    reports_dir: Path | None = None
    retries: int = Field(default=2, ge=0)
    retry_delay_seconds: list[float] = [1, 5]
    promotion: PromotionRules
    serving: ServingSettings = ServingSettings()
    decision: DecisionSettings = DecisionSettings()
    model_card: ModelCardSettings = ModelCardSettings()
    prediction_log: PredictionLogSettings = PredictionLogSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    traffic: TrafficSettings = TrafficSettings()
    continuous_training: ContinuousTrainingSettings = ContinuousTrainingSettings()
    platform: PlatformSettings = PlatformSettings()
    scoring: ScoringSettings = ScoringSettings()
    model_selection: ModelSelectionSettings = ModelSelectionSettings(families=["logistic_regression"])

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit arguments (tests) > environment variables > conf/ files.
        return init_settings, env_settings, _ConfSource(settings_cls)

    # Paths are resolved against the project, never the working directory.
    def _absolute(self, path: Path) -> Path:
        return path if path.is_absolute() else PROJECT_ROOT / path

    @property
    def data_root(self) -> Path:
        return self._absolute(self.data_dir)

    @property
    def reports(self) -> Path:
        return self._absolute(self.reports_dir) if self.reports_dir else self.data_root / "08_reporting" / "level3"

    @property
    def prefect_root(self) -> Path:
        return self._absolute(self.prefect_home)

    @property
    def mlflow_home(self) -> Path:
        return PROJECT_ROOT / ".mlflow"

    @property
    def resolved_tracking_uri(self) -> str:
        return self.tracking_uri or f"sqlite:///{(self.mlflow_home / 'mlflow.db').as_posix()}"

    @property
    def resolved_artifact_location(self) -> str | None:
        if self.artifact_location:
            return self.artifact_location
        if self.tracking_uri:  # a server decides where its artifacts go
            return None
        return (self.mlflow_home / "artifacts").resolve().as_uri()

    @property
    def embedded_mlflow(self) -> bool:
        return self.tracking_uri is None


@lru_cache(maxsize=1)
def get_settings() -> Level3Settings:
    return load_settings()


# The tools' own variables that a setting also reads (validation_alias above).
TOOL_VARIABLES = {"tracking_uri": "MLFLOW_TRACKING_URI", "prefect_api_url": "PREFECT_API_URL"}


def _where(loc: tuple[Any, ...], env: str | None) -> str:
    """The environment variable or conf file (and key) that gave the setting at `loc`."""
    from level2_pipeline.config import LOADER_ARGS, locate

    keys = [str(k) for k in loc]
    variables = {name.upper(): name for name in os.environ}
    for depth in range(len(keys), 0, -1):  # CHURN_SERVING__PORT, or CHURN_SERVING='{"port": ...}'
        name = "CHURN_" + "__".join(keys[:depth]).upper()
        if name in variables:
            return variables[name] + (f" ({'.'.join(keys)})" if depth < len(keys) else "")
    tool = TOOL_VARIABLES.get(keys[0]) if keys else None
    if tool and tool in os.environ and not os.environ.get("CHURN_" + keys[0].upper()):
        return tool
    return locate(("level3", *loc), list(LOADER_ARGS["config_patterns"]["level3"]), env)


def load_settings(**overrides: Any) -> Level3Settings:
    """The settings (arguments > CHURN_* variables > conf/<env>/level3.yml > conf/base); a bad value is a
    ConfigError naming the variable or file, the key, what was expected and what was found (one line)."""
    try:
        return Level3Settings(**overrides)
    except ValidationError as exc:
        env = overrides.get("kedro_env") or os.environ.get("CHURN_KEDRO_ENV") or None
        raise ConfigError(describe_invalid(exc.errors(), lambda loc: _where(loc, env))) from None


def apply_environment(settings: Level3Settings) -> None:
    """Configure the tools through their environment before they are imported.

    Telemetry is off by project, not by machine; Prefect keeps its state in the project (or talks to the
    configured server); the ephemeral server gets time to start on a slow 2-core machine.
    """
    apply_quiet_environment()
    quiet = {
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "PREFECT_LOGGING_LOG_PRINTS": "false",
        "PREFECT_LOGGING_EXTRA_LOGGERS": "level2_pipeline,level3_system",
        # Our loggers also speak outside flows (the service): no warning that there is no flow run to log to.
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    }
    for key, value in quiet.items():
        os.environ.setdefault(key, value)
    os.environ["PREFECT_HOME"] = str(settings.prefect_root)
    # Tracebacks to a file, messages to the terminal (level3_system/runtime/tracelog.py).
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_CLASS", "level3_system.runtime.terminal.TerminalHandler")
    os.environ.setdefault(TRACE_LOG_VARIABLE, str(trace_log_path(settings.data_root)))
    # Kedro would replace Prefect's console handler with level 2's plain one; level 3 only sets levels.
    os.environ["KEDRO_LOGGING_CONFIG"] = str(PROJECT_ROOT / "conf" / "logging_level3.yml")
    if settings.prefect_api_url:
        os.environ["PREFECT_API_URL"] = settings.prefect_api_url
    if settings.embedded_mlflow:
        settings.mlflow_home.mkdir(parents=True, exist_ok=True)
