"""Helpers of the level-3 tests: the promotion rules they assume, private MLflow stores, and flow results.

Imported by the test modules and `conftest.py` (pytest puts this folder on `sys.path`). MLflow is imported only
inside the functions that query a store, so the contract and settings tests never pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from level3_system.settings import DirectionalCheck, InvarianceCheck, Level3Settings, PromotionRules

MODEL_NAME = "telco-churn"
EXPERIMENT = "telco-churn"

# The shipped rules of conf/base/level3.yml, written out: what these tests assert does not move when someone
# tunes the YAML (test_level3_settings.py checks the YAML's own rules parse and name contract columns).
RULES = PromotionRules(
    min_roc_auc=0.80,
    champion_tolerance=0.005,
    invariance=InvarianceCheck(column="female", max_mean_delta=0.02, max_delta=0.10),
    directional=DirectionalCheck(column="contract", from_value="Month-to-month", to_value="Two year", min_share=0.95),
)
# A heavily regularised model: holdout ROC AUC ≈ 0.827, above the floor but clearly below the default's ≈ 0.842.
WEAK_MODEL = {"model": {"C": 0.0001, "max_iter": 1000}}


@dataclass(frozen=True)
class Store:
    """A private MLflow tracking store and model registry: SQLite file and artifact folder under `root`."""

    root: Path

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{(self.root / 'mlflow.db').as_posix()}"

    @property
    def artifact_location(self) -> str:
        return (self.root / "artifacts").as_uri()

    def client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def activate(self) -> None:
        """Make `models:/…` and `runs:/…` URIs of the fluent API resolve in this store.

        Only the tracking URI: the registry follows it, as in the flow. Setting the registry URI would pin it
        for the rest of the process, and every later flow would register into this store.
        """
        import mlflow

        mlflow.set_tracking_uri(self.tracking_uri)

    def aliases(self) -> dict[str, str]:
        """alias -> version of the registered model; {} when nothing was registered yet."""
        from mlflow.exceptions import MlflowException

        try:
            model = self.client().get_registered_model(MODEL_NAME)
        except MlflowException:
            return {}
        return {alias: str(version) for alias, version in model.aliases.items()}

    def versions(self) -> list[str]:
        found = self.client().search_model_versions(f"name='{MODEL_NAME}'")
        return sorted((str(v.version) for v in found), key=int)

    def run_ids(self) -> list[str]:
        client = self.client()
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            return []
        return sorted(run.info.run_id for run in client.search_runs([experiment.experiment_id]))


def make_settings(
    data_root: Path,
    store: Store,
    *,
    promotion: PromotionRules = RULES,
    kedro_params: dict[str, Any] | None = None,
) -> Level3Settings:
    """Settings for one test flow: explicit arguments win over CHURN_* variables and conf/ files."""
    return Level3Settings(
        data_dir=data_root,
        tracking_uri=store.tracking_uri,
        artifact_location=store.artifact_location,
        promotion=promotion,
        kedro_params=kedro_params or {},
        retries=0,  # a bug fails at once instead of after retry delays
    )


@dataclass(frozen=True)
class FlowRun:
    """One `train` flow run: its final Prefect state, its summary, and the registry's aliases right after it."""

    state: Any
    summary: Any  # level3_system.training.flow.TrainSummary
    settings: Level3Settings
    store: Store
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return str(self.state.message or "")

    def describe(self) -> str:
        """For assertion messages: what the flow said about itself."""
        summary = self.summary
        status = getattr(summary, "status", summary)
        return f"state {self.state.type.value} ({self.message!r}), status {status!r}, aliases {self.aliases}"
