"""Helpers of the level-3 tests: the promotion rules they assume, private MLflow stores, flow results, and the
flow's steps as plain functions (train, log, register, decide) for tests that need a registry, not a flow run.

Imported by the test modules and `conftest.py` (pytest puts this folder on `sys.path`). MLflow is imported only
inside the functions that query a store, so the contract and settings tests never pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from level2_pipeline.ingestion import sha256_of
from level3_system.settings import DirectionalCheck, InvarianceCheck, Level3Settings, PromotionRules, ServingSettings

if TYPE_CHECKING:  # scikit-learn comes with it (~2 s): xdist's controller imports this file and never trains
    from level3_system.lifecycle.promotion import Decision

MODEL_NAME = "telco-churn"
EXPERIMENT = "telco-churn"
# design.md: the baseline's holdout ROC AUC; every level reproduces it on the same split.
BASELINE_ROC_AUC = 0.842
HOLDOUT_ROWS = 1409
RAW_RELATIVE = Path("01_raw") / "telco_churn.csv"

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
# A second model for the reload tests: less regularisation than the default C=1.0, same holdout quality.
SECOND_MODEL = {"model": {"C": 0.5, "max_iter": 1000}}


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
    serving: ServingSettings | None = None,
) -> Level3Settings:
    """Settings for one test: explicit arguments win over CHURN_* variables and conf/ files (a developer's
    environment cannot leak in)."""
    return Level3Settings(
        kedro_env=None,
        data_dir=data_root,
        tracking_uri=store.tracking_uri,
        artifact_location=store.artifact_location,
        prefect_home=store.root / "prefect",
        promotion=promotion,
        kedro_params=kedro_params or {},
        serving=serving or ServingSettings(),
        retries=0,  # a bug fails at once instead of after retry delays
    )


def with_serving(settings: Level3Settings, **serving: Any) -> Level3Settings:
    """The same stores and data, other serving options (validated like the YAML would be)."""
    return settings.model_copy(update={"serving": ServingSettings(**serving)})


# --- the flow's steps as plain functions ----------------------------------------------------------------------


def train(settings: Level3Settings) -> Any:
    """Level 2's two pipelines on the settings' data root; the outcome as the flow's `data_science` and `decide`
    tasks build it."""
    from level3_system.training.compose import run_level2, training_outcome
    from level3_system.training.decision_report import decide

    run_level2(settings, "data_processing")
    raw_path = settings.data_root / RAW_RELATIVE
    outcome = training_outcome(run_level2(settings, "data_science"), raw_path, sha256_of(raw_path))
    outcome.decision = decide(settings, outcome)
    return outcome


@dataclass(frozen=True)
class Registered:
    """One logged run, registered as a version, with the promotion decision taken for it."""

    version: str
    run_id: str
    decision: Decision


def log_and_register(settings: Level3Settings, outcome: Any, *, apply: bool = True) -> Registered:
    """track → register → promote, as the flow's tasks do (outside any Prefect flow run)."""
    from level3_system.lifecycle import registry
    from level3_system.training.compose import judge
    from level3_system.training.tracking import log_training_run

    tracked = log_training_run(settings, outcome, flow_run_id="test", flow_run_name="test")
    version = registry.register(settings, tracked.model_uri, tracked.run_id, tracked.model_id)
    decision = judge(settings, outcome, version)
    if apply:
        apply_decision(settings, version, tracked.run_id, decision)
    return Registered(version=version, run_id=tracked.run_id, decision=decision)


def apply_decision(settings: Level3Settings, version: str, run_id: str, decision: Decision) -> None:
    """What the flow's promote task does with a decision: tags, and the champion alias if promoted."""
    from level3_system.lifecycle import registry

    registry.record_decision(settings, version, run_id, decision.text, decision.promote)


def point_champion_at(settings: Level3Settings, version: str) -> None:
    """Move `@champion` by hand (what a promotion does), to set a test's starting point."""
    from level3_system.lifecycle import registry

    registry.client(settings).set_registered_model_alias(MODEL_NAME, registry.CHAMPION, version)


@dataclass(frozen=True)
class TwoVersions:
    """A registry of its own: version 1 (the default model, champion) and version 2 (C=0.5, challenger)."""

    settings: Level3Settings
    first: Registered
    second: Registered  # its promotion decision is taken, not applied: a test applies it

    def run_of(self, version: str) -> str:
        return {self.first.version: self.first.run_id, self.second.version: self.second.run_id}[version]

    def promote_second(self) -> None:
        apply_decision(self.settings, self.second.version, self.second.run_id, self.second.decision)


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
