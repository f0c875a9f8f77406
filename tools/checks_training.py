"""`make maturity`'s checks of the training side: training, pipeline, config, validation, tracking, registry,
promotion and continuous training. Each takes a Scope and returns Evidence (a file and line, or what is missing).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from tools.evidence import Evidence, Scope, Source, _absent, _rel


def check_training(scope: Scope) -> Evidence:
    """A model is fitted (`.fit(...)`): what every level, even a notebook, has — Google/Microsoft level 0."""

    def fits(src: Source) -> Iterator[ast.AST]:
        yield from (call for call, name in src.calls() if name.endswith(".fit"))

    return scope.first(fits) or _absent("no .fit( call")


def _decorated_flows(src: Source) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(src.tree):
        is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        if is_function and any(src.qualified(d) in {"prefect.flow", "prefect.flows.flow"} for d in node.decorator_list):
            yield node


def check_automated_pipeline(scope: Scope) -> Evidence:
    """Training is a pipeline a tool runs, not a script a person runs: a Prefect @flow or a Kedro pipeline registry."""

    def training_flows(src: Source) -> Iterator[ast.AST]:
        """Flows named for training first: a level may have others (monitoring, scoring)."""
        yield from (node for node in _decorated_flows(src) if "train" in node.name.lower())

    def pipelines(src: Source) -> Iterator[ast.AST]:
        yield from _decorated_flows(src)
        if src.imports("kedro"):
            for node in ast.walk(src.tree):
                if isinstance(node, ast.FunctionDef) and node.name == "register_pipelines":
                    yield node

    return scope.first(training_flows) or scope.first(pipelines) or _absent("no Prefect @flow, no Kedro pipelines")


def check_config_outside_code(scope: Scope) -> Evidence:
    """Parameters live in conf/ files the code loads (Kedro's config loader, OmegaConf, YAML); probe: they parse."""
    loaders = {
        "kedro.config.OmegaConfigLoader",
        "kedro.framework.startup.bootstrap_project",
        "omegaconf.OmegaConf.load",
        "yaml.safe_load",
        "yaml.load",
        "pydantic_settings.YamlConfigSettingsSource",
    }

    def loads(src: Source) -> Iterator[ast.AST]:
        for node in ast.walk(src.tree):
            if isinstance(node, ast.Name | ast.Attribute) and src.qualified(node) in loaders:
                yield node

    found = scope.first(loads)
    if found is None:
        return _absent("no config loader call")
    files = sorted((scope.root / "conf").rglob("*.y*ml")) if (scope.root / "conf").is_dir() else []
    if not files:
        return _absent(f"{found.where} loads config, but there is no conf/*.yml")
    import yaml  # a probe: the files the loader reads must parse

    for path in files:
        try:
            yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            return _absent(f"{_rel(path, scope.root)} does not parse: {exc}")
    return found


def check_data_validation(scope: Scope) -> Evidence:
    """Expectations are built and run on the data: Great Expectations (or pandera) in the training path."""

    def validations(src: Source) -> Iterator[ast.AST]:
        if not src.imports("great_expectations", "pandera"):
            return
        names = [(node, src.qualified(node)) for node in ast.walk(src.tree) if isinstance(node, ast.Attribute)]
        built = [
            node
            for node, name in names
            if name.startswith(("great_expectations.expectations", "great_expectations.ExpectationSuite"))
            or name.startswith("pandera.DataFrameSchema")
        ]
        runs = [call for call, name in src.calls() if name.rsplit(".", 1)[-1] in {"run", "validate"}]
        if built and runs:
            yield built[0]

    return scope.first(validations) or _absent("no expectations built and run")


def check_experiment_tracking(scope: Scope) -> Evidence:
    """Each training run records its parameters, metrics and model: `mlflow.start_run`, `log_metric(s)` and a
    `log_model` in the same file (a comparison that logs metrics only, like `make experiment`, is not the store
    of what was trained)."""

    def tracking(src: Source) -> Iterator[ast.AST]:
        calls = list(src.calls())
        starts = [call for call, name in calls if name == "mlflow.start_run"]
        names = {name.split(".")[-1] for _, name in calls}
        if starts and names & {"log_metric", "log_metrics"} and "log_model" in names:
            yield starts[0]

    return scope.first(tracking) or _absent("no mlflow.start_run with log_metric(s) and log_model")


def check_model_registry(scope: Scope) -> Evidence:
    """Models are versions in a registry: `create_model_version` / `register_model`."""

    def registers(src: Source) -> Iterator[ast.AST]:
        if src.imports("mlflow"):
            names = {"create_model_version", "register_model"}
            yield from (call for call, name in src.calls() if name.split(".")[-1] in names)

    return scope.first(registers) or _absent("no create_model_version / register_model")


def check_automated_promotion(scope: Scope) -> Evidence:
    """The serving alias (or stage) moves under an `if` on a decision: code, not a person, promotes a model."""

    def promotes(src: Source) -> Iterator[ast.AST]:
        if src.imports("mlflow"):
            names = {"set_registered_model_alias", "transition_model_version_stage"}
            for call, name in src.calls():
                branch = src.under_if(call) if name.split(".")[-1] in names else None
                if branch is not None and not isinstance(branch.test, ast.Constant):
                    yield call

    return scope.first(promotes) or _absent("no registry alias/stage set under a condition")


SCHEDULE_KEYWORDS = {"cron", "interval", "rrule", "schedule", "schedules", "triggers"}


TIMED_KEYWORDS = SCHEDULE_KEYWORDS - {"triggers"}


def check_continuous_training(scope: Scope) -> Evidence:
    """Training starts without a person: a flow deployed or served with a schedule (cron, interval, ...) or an event
    trigger whose event the level emits (a trigger on an event nobody sends starts nothing); or a scheduled CI job."""
    emits = any(name == "prefect.events.emit_event" for src in scope.sources for _, name in src.calls())

    def scheduled(src: Source) -> Iterator[ast.AST]:
        if not src.imports("prefect", "airflow", "dagster"):
            return
        for call, name in src.calls():
            if name.rpartition(".")[2] not in {"serve", "deploy", "to_deployment"}:
                continue
            keywords = {kw.arg for kw in call.keywords}
            if keywords & TIMED_KEYWORDS or ("triggers" in keywords and emits):
                yield call

    found = scope.first(scheduled)
    if found is not None:
        return found
    configs = [scope.root / "prefect.yaml", *sorted((scope.root / ".github" / "workflows").glob("*.y*ml"))]
    for path in (p for p in configs if p.is_file()):
        text = path.read_text(encoding="utf-8")
        match = re.search(r"^\s*(schedules?|cron|triggers)\s*:", text, re.MULTILINE)
        if match and scope.mentions_level(text):
            return Evidence(True, f"{_rel(path, scope.root)}:{text[: match.start()].count(chr(10)) + 2}")
    return _absent("no schedule, trigger or deployment of the training flow")
