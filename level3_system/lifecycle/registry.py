"""MLflow, in one place: the client factory, the registry's versions and aliases, and loading what a version holds.

Every caller (training, promotion, serving, scoring, monitoring, the tests) gets its client from `client()`, which
names both the tracking and the registry store explicitly, and uses MLflow's fluent API (`start_run`,
`log_model`) only inside `mlflow_at()`, which aims it at the configured store for the block and puts back what
was there. No module leaves MLflow's process-wide URIs set for another to depend on.

Registry model: every trained model is a new version aliased `challenger`; `champion` moves only on evidence
(`promotion.py` decides), in one alias update, so serving always finds one. Registration is retry-safe: a
version already created for the run is found and reused, never duplicated.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from level2_pipeline.errors import UserFacingError
from level3_system.runtime.locks import store_lock
from level3_system.settings import Level3Settings

logger = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
TAG_MAX = 5000  # MLflow's limit on a tag value
_FLUENT = threading.RLock()  # MLflow's fluent API reads process-wide URIs: `mlflow_at` blocks take turns
_OPENING = threading.Lock()
_OPENED: set[str] = set()  # embedded stores opened in this process: MLflow caches a store per URI


class NoModelError(UserFacingError):
    """The registry has no version under the configured alias."""


def client(settings: Level3Settings) -> Any:
    """An MlflowClient on the configured store: tracking and registry both named, nothing process-wide."""
    from mlflow import MlflowClient

    uri = settings.resolved_tracking_uri
    if not uri.startswith("sqlite:///") or uri in _OPENED:
        return MlflowClient(tracking_uri=uri, registry_uri=uri)
    with _OPENING, store_lock(settings):  # the first opening here takes turns with other processes
        mlflow_client = MlflowClient(tracking_uri=uri, registry_uri=uri)  # builds the tracking store
        mlflow_client.search_registered_models(max_results=1)  # builds the registry store
        _OPENED.add(uri)
    return mlflow_client


@contextlib.contextmanager
def mlflow_at(settings: Level3Settings) -> Iterator[None]:
    """MLflow's fluent API (runs, model logging and loading) aimed at the configured store for the block.

    What was set before (module state and the variables MLflow exports for subprocesses) is put back after.
    The state is the process's: one block at a time (a service checks a version in a thread while another loads).
    """
    import mlflow
    import mlflow.tracking._model_registry.utils as registry_state
    import mlflow.tracking._tracking_service.utils as tracking_state

    client(settings)  # the store opened once, its tables created under the store lock
    with _FLUENT:
        saved = tracking_state._tracking_uri, registry_state._registry_uri
        saved_env = {name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
        uri = settings.resolved_tracking_uri
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        try:
            yield
        finally:
            tracking_state._tracking_uri, registry_state._registry_uri = saved
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def experiment_id(settings: Level3Settings, name: str | None = None) -> str:
    """The id of the experiment (the configured one by default), created on first use."""
    mlflow_client = client(settings)
    name = name or settings.experiment
    found = mlflow_client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    return str(mlflow_client.create_experiment(name, artifact_location=settings.resolved_artifact_location))


def version_by_alias(settings: Level3Settings, alias: str | None = None) -> Any | None:
    """The version behind an alias (the serving alias by default), or None when there is none. A registry that
    cannot be reached raises: it is not "no model" (a service would report unready, a command "run make level3")."""
    from mlflow.exceptions import MlflowException

    try:
        return client(settings).get_model_version_by_alias(
            settings.registered_model, alias or settings.serving.model_alias
        )
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            return None
        raise


def champion(settings: Level3Settings) -> Any | None:
    return version_by_alias(settings, CHAMPION)


def resolve(settings: Level3Settings, alias: str | None = None) -> Any:
    """The version behind the alias, or NoModelError saying what to do."""
    found = version_by_alias(settings, alias)
    if found is None:
        name, serving = settings.registered_model, settings.serving.model_alias
        if alias and alias != serving:
            raise NoModelError(f"no version of {name} has the alias {alias!r} (make ui lists the aliases)")
        raise NoModelError(f"no model registered as {name}@{serving}: run `make level3` first")
    return found


def get_version(settings: Level3Settings, version: str) -> Any:
    """One version of the registered model, or NoModelError naming it."""
    from mlflow.exceptions import MlflowException

    try:
        return client(settings).get_model_version(settings.registered_model, str(version))
    except MlflowException:
        raise NoModelError(f"{settings.registered_model} has no version {version} (make ui lists them)") from None


def version_of_run(settings: Level3Settings, run_id: str) -> str | None:
    """The version already registered from this run, if any (what makes a retried registration safe)."""
    found = client(settings).search_model_versions(f"name='{settings.registered_model}' and run_id='{run_id}'")
    return str(min(int(v.version) for v in found)) if found else None


def register(settings: Level3Settings, model_uri: str, run_id: str, model_id: str | None = None) -> str:
    """The run's model as a version aliased `challenger`: created once per run, found again on a retry."""
    from mlflow.exceptions import MlflowException

    mlflow_client = client(settings)
    name = settings.registered_model
    try:
        description = f"Probability of the positive class, from the level-3 flow (experiment {settings.experiment})."
        mlflow_client.create_registered_model(name, description=description)
    except MlflowException as exc:
        if "already exists" not in str(exc).lower() and "ALREADY_EXISTS" not in str(exc.error_code):
            raise
    version = version_of_run(settings, run_id)
    if version is None:
        # MLflow 3.17 resolves a logged model's `models:/m-...` source through the process-wide tracking URI
        # (a TODO in its SQLAlchemy registry store), whatever client is used: hence the fluent block.
        with mlflow_at(settings):
            created = mlflow_client.create_model_version(name, source=model_uri, run_id=run_id, model_id=model_id)
        version = str(created.version)
    else:
        logger.info("version %s was already registered from run %s: reused", version, run_id)
    # Why the version exists, on the version itself (the registry's UI lists version tags, not run tags).
    run_tags = mlflow_client.get_run(run_id).data.tags
    for key in ("trigger", "monitoring_run_id"):
        if key in run_tags:
            mlflow_client.set_model_version_tag(name, version, key, run_tags[key])
    mlflow_client.set_registered_model_alias(name, CHALLENGER, version)
    return version


def record_decision(
    settings: Level3Settings, version: str, run_id: str, text: str, promote: bool, judged_against: str | None = None
) -> None:
    """Tag the decision (and the champion it was judged against) on the version and its run; if promoted, move
    `champion` in one alias update. The caller holds the promotion lock (`locks.py`)."""
    from mlflow.exceptions import MlflowException

    mlflow_client = client(settings)
    name = settings.registered_model
    mlflow_client.set_model_version_tag(name, version, "promotion", text[:TAG_MAX])
    mlflow_client.set_model_version_tag(name, version, "judged_against", judged_against or "none")
    mlflow_client.set_tag(run_id, "promotion", text[:TAG_MAX])
    if promote:
        mlflow_client.set_registered_model_alias(name, CHAMPION, version)
        challenger = version_by_alias(settings, CHALLENGER)
        if challenger is not None and str(challenger.version) == version:  # another run's challenger stays
            with contextlib.suppress(MlflowException):  # already gone: a retry
                mlflow_client.delete_registered_model_alias(name, CHALLENGER)


def load_model(settings: Level3Settings, version: str) -> Any:
    """The registered sklearn model of a version (what the pyfunc wraps)."""
    import mlflow.sklearn

    with mlflow_at(settings):
        return mlflow.sklearn.load_model(f"models:/{settings.registered_model}/{version}")


def download(settings: Level3Settings, run_id: str, artifact_path: str, destination: Path | None = None) -> Path:
    """One artifact of a run, as a local file (raises MlflowException / OSError when it is not there)."""
    import mlflow.artifacts

    local = mlflow.artifacts.download_artifacts(
        run_id=run_id,
        artifact_path=artifact_path,
        dst_path=str(destination) if destination else None,
        tracking_uri=settings.resolved_tracking_uri,
    )
    return Path(local)


def run_metrics(settings: Level3Settings, run_id: str | None) -> dict[str, float]:
    return run_record(settings, run_id)[0]


def run_record(settings: Level3Settings, run_id: str | None) -> tuple[dict[str, float], dict[str, str]]:
    """A run's metrics and tags (one request)."""
    if not run_id:
        return {}, {}
    data = client(settings).get_run(run_id).data
    return {k: float(v) for k, v in data.metrics.items()}, dict(data.tags)
