"""`make maturity`: which MLOps maturity capabilities each level has, and the file that provides each.

Why: "level 3 is MLOps" is a claim; this table is the evidence. Each capability has a check that reads the level's
code (ast, not grep: comments and docstrings prove nothing) and, where it is cheap, probes it (a dry run of the CI
target, the lock file against pyproject.toml and the level's imports, the conf/ files parsed, and — with `--probe`,
which `make maturity` uses — importing the module that holds each piece of evidence and finding the symbol in it).
A cell is `✓ file:line` (where the evidence is) or `✗`. Nothing is declared by hand, so a fork gets an honest
answer: delete the flow's schedule and continuous training turns ✗; add one and it turns ✓.

A level is what `tools.levels` finds for `make compare` too (a `level<N>_*` directory with code and a `make
level<N>` target), and like there, importing another level's package composes it: level 3 runs level 2's nodes,
so it trains a model through them. The report is also written to `data/08_reporting/maturity.md`.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata
from pathlib import Path

from level2_pipeline.project import PROJECT_ROOT
from tools.levels import Level, count_tests, discover_levels, imported_modules

REPORT = Path("data/08_reporting/maturity.md")


@dataclass(frozen=True)
class Evidence:
    """The answer of one check: found or not, and where (a file and line, relative to the root) or what was missing."""

    found: bool
    where: str
    symbol: str | None = None  # the module-level name holding the evidence, for the import probe

    def cell(self) -> str:
        return f"✓ {self.where}" if self.found else "✗"


def _absent(what: str) -> Evidence:
    return Evidence(False, what)


class Source:
    """One parsed Python file: its tree, what its local names are imported from, each node's parent."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        self.tree = ast.parse(path.read_text(encoding="utf-8"))
        self.origins: dict[str, str] = {}  # local name -> dotted origin: gx -> great_expectations, flow -> prefect.flow
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
            if isinstance(node, ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    self.origins[bound] = alias.name if alias.asname else bound
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    self.origins[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def imports(self, *packages: str) -> bool:
        return any(origin.split(".")[0] in packages for origin in self.origins.values())

    def qualified(self, node: ast.AST) -> str:
        """`gx.expectations.X` -> `great_expectations.expectations.X`; a call's name is its function's."""
        parts: list[str] = []
        while True:
            if isinstance(node, ast.Call):
                node = node.func
            elif isinstance(node, ast.Attribute):
                parts.append(node.attr)
                node = node.value
            elif isinstance(node, ast.Name):
                parts.append(self.origins.get(node.id, node.id))
                return ".".join(reversed(parts))
            else:
                return ".".join(reversed(parts))

    def calls(self) -> Iterator[tuple[ast.Call, str]]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                yield node, self.qualified(node)

    def evidence(self, node: ast.AST) -> Evidence:
        top = node
        while top in self.parents and not isinstance(self.parents[top], ast.Module):
            top = self.parents[top]
        symbol = top.name if isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) else None
        return Evidence(True, f"{self.rel}:{getattr(node, 'lineno', 1)}", symbol)

    def under_if(self, node: ast.AST) -> ast.If | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.If):
                return node
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return None
        return None


class Scope:
    """What a check may read for one level: its Python files, then those of the levels it imports, and the root."""

    def __init__(self, level: Level, root: Path, levels: Iterable[Level] = ()) -> None:
        self.level = level
        self.root = root
        packages = {lv.path.name: lv for lv in levels}
        order, pending, seen = [], [level], set()
        while pending:
            current = pending.pop(0)
            if current.path.name in seen:
                continue
            seen.add(current.path.name)
            order.append(current)
            imports = imported_modules(current.python_files())
            pending += [packages[name] for name in sorted(imports & packages.keys())]
        self.levels = order

    @cached_property
    def sources(self) -> list[Source]:
        """Own files first: evidence is reported from the level itself when it has it, else from what it composes."""
        return [Source(path, self.root) for lv in self.levels for path in lv.python_files()]

    def first(self, predicate: Callable[[Source], Iterator[ast.AST]]) -> Evidence | None:
        for source in self.sources:
            for node in predicate(source):
                return source.evidence(node)
        return None

    def mentions_level(self, text: str) -> bool:
        """A repository file (a CI workflow, prefect.yaml) is about this level when it names its package or target."""
        return self.level.path.name in text or re.search(rf"\b{self.level.name}\b", text) is not None


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


# ---- the checks: each takes a Scope and returns Evidence -------------------------------------------------------


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

    def pipelines(src: Source) -> Iterator[ast.AST]:
        yield from _decorated_flows(src)
        if src.imports("kedro"):
            for node in ast.walk(src.tree):
                if isinstance(node, ast.FunctionDef) and node.name == "register_pipelines":
                    yield node

    return scope.first(pipelines) or _absent("no Prefect @flow, no Kedro register_pipelines")


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
    """Each run records its parameters and metrics: `mlflow.start_run` and `log_metric(s)`."""

    def tracking(src: Source) -> Iterator[ast.AST]:
        calls = list(src.calls())
        starts = [call for call, name in calls if name == "mlflow.start_run"]
        if starts and any(name.split(".")[-1] in {"log_metric", "log_metrics"} for _, name in calls):
            yield starts[0]

    return scope.first(tracking) or _absent("no mlflow.start_run with log_metric(s)")


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


def check_continuous_training(scope: Scope) -> Evidence:
    """Training starts without a person: a flow served/deployed with a schedule or trigger, or a scheduled CI job."""

    def scheduled(src: Source) -> Iterator[ast.AST]:
        if not src.imports("prefect", "airflow", "dagster"):
            return
        flows = {node.name for node in _decorated_flows(src)}
        schedule_apis = ("prefect.schedules", "prefect.client.schemas.schedules", "prefect.events")
        for call, name in src.calls():
            target, _, method = name.rpartition(".")
            served = method in {"serve", "deploy"} and (target in flows or target == "prefect")
            timed = bool({kw.arg for kw in call.keywords} & SCHEDULE_KEYWORDS)
            if served or timed or name.startswith(schedule_apis):
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


def check_serving(scope: Scope) -> Evidence:
    """An HTTP service scores requests: a FastAPI app, and a POST route with "predict" in its path (on the app or
    on a router it includes, in any module of the level)."""
    has_app = any(name == "fastapi.FastAPI" for src in scope.sources for _, name in src.calls())

    def routes(src: Source) -> Iterator[ast.AST]:
        if not (has_app and src.imports("fastapi")):
            return
        for node in ast.walk(src.tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute) and deco.args:
                    path = deco.args[0]
                    if isinstance(path, ast.Constant) and "predict" in str(path.value) and deco.func.attr == "post":
                        yield deco

    return scope.first(routes) or _absent("no FastAPI app with a POST /predict route")


def check_service_metrics(scope: Scope) -> Evidence:
    """The service is measured: Prometheus metrics (latency, predictions) exposed for scraping."""
    kinds = {f"prometheus_client.{k}" for k in ("Counter", "Histogram", "Gauge", "Summary")}
    exposers = {
        "prometheus_client.generate_latest",
        "prometheus_client.make_asgi_app",
        "prometheus_client.start_http_server",
    }

    def metrics(src: Source) -> Iterator[ast.AST]:
        if src.imports("prometheus_client"):
            yield from (call for call, name in src.calls() if name == "prometheus_client.Histogram")
            yield from (call for call, name in src.calls() if name in kinds)

    found = scope.first(metrics)
    exposed = any(name in exposers for src in scope.sources for _, name in src.calls())
    if found is None or not exposed:
        return _absent("no Prometheus metrics" if found is None else f"{found.where} defines metrics, none exposed")
    return found


DRIFT_PACKAGES = ("evidently", "alibi_detect", "nannyml", "whylogs", "deepchecks", "frouros")
DRIFT_TESTS = {"scipy.stats.ks_2samp", "scipy.stats.wasserstein_distance", "scipy.spatial.distance.jensenshannon"}


def check_drift_monitoring(scope: Scope) -> Evidence:
    """Live inputs or scores are compared with the training data: a drift library, a drift test, a `*drift*` name."""

    def is_drift(src: Source, node: ast.AST) -> bool:
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            return any(m.split(".")[0] in DRIFT_PACKAGES for m in modules)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return "drift" in node.name.lower()
        if isinstance(node, ast.Call):
            name = src.qualified(node)
            first = node.args[0] if node.args else None
            metric = name.startswith("prometheus_client.") and isinstance(first, ast.Constant)
            return name in DRIFT_TESTS or (metric and "drift" in str(first.value).lower())
        return False

    def drift(src: Source) -> Iterator[ast.AST]:
        yield from (node for node in ast.walk(src.tree) if is_drift(src, node))

    return scope.first(drift) or _absent("no drift detection")


CI_FILES = (".ci/run", ".gitlab-ci.yml", "azure-pipelines.yml", "Jenkinsfile")


def _make_dry_run(root: Path, target: str) -> str:
    dry = subprocess.run(["make", "-n", "--no-print-directory", target], cwd=root, capture_output=True, text=True)
    return dry.stdout if dry.returncode == 0 else ""


def check_ci(scope: Scope) -> Evidence:
    """A CI entry point runs the test suite (probe: `make -n test` reaches pytest) and the suite tests this level."""
    root = scope.root
    candidates = [root / name for name in CI_FILES] + sorted((root / ".github" / "workflows").glob("*.y*ml"))
    entry = None
    for path in (p for p in candidates if p.is_file()):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            runs_make = re.search(r"\bmake\s+(test|ci)\b", code)
            if "pytest" in code or (runs_make and "pytest" in _make_dry_run(root, runs_make.group(1))):
                entry = f"{_rel(path, root)}:{number}"
                break
        if entry:
            break
    if entry is None:
        return _absent("no CI file that runs pytest")
    tests = count_tests(root / "tests" / scope.level.name)
    if tests == 0:
        return _absent(f"{entry} runs the suite, but tests/{scope.level.name}/ has no tests")
    return Evidence(True, f"{entry} (tests/{scope.level.name}: {tests} tests)")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(spec: str) -> str:
    return _normalise(re.split(r"[\s\[<>=!~;@(]", spec.strip(), maxsplit=1)[0])


def check_reproducible_environment(scope: Scope) -> Evidence:
    """A lock file pins every dependency: uv.lock covers pyproject.toml's dependencies and every package the level
    imports (mapped to its distribution through the installed metadata)."""
    root = scope.root
    lock_path = root / "uv.lock"
    if not lock_path.is_file():
        return _absent("no uv.lock")
    locked = {_normalise(p["name"]) for p in tomllib.loads(lock_path.read_text(encoding="utf-8")).get("package", [])}
    project_file = root / "pyproject.toml"
    project = tomllib.loads(project_file.read_text(encoding="utf-8")) if project_file.is_file() else {}
    declared = list(project.get("project", {}).get("dependencies", []))
    for group in project.get("dependency-groups", {}).values():
        declared += [spec for spec in group if isinstance(spec, str)]
    unlocked = sorted({_requirement_name(spec) for spec in declared} - locked)
    if unlocked:
        return _absent(f"uv.lock misses {', '.join(unlocked)}: run `uv lock`")
    local = {p.name for p in root.iterdir() if p.is_dir()} | {p.stem for p in root.glob("*.py")}
    third_party = imported_modules(s.path for s in scope.sources) - set(sys.stdlib_module_names) - local
    distributions = metadata.packages_distributions()
    missing = sorted(
        module
        for module in third_party
        if not any(_normalise(dist) in locked for dist in distributions.get(module, []))
    )
    if missing:
        return _absent(f"imports {', '.join(missing)}, not in uv.lock")
    return Evidence(True, f"uv.lock ({len(locked)} packages; the level's {len(third_party)} imported packages locked)")


@dataclass(frozen=True)
class Capability:
    name: str
    check: Callable[[Scope], Evidence]
    google: int | None  # the Google level that requires it (None: not one of Google's criteria)
    microsoft: int


# The mapping, with its justification. A level of ours reaches a maturity level when it has every capability
# required at that level and below (the models are cumulative).
#
# Google, "MLOps: Continuous delivery and automation pipelines in machine learning":
#   0 manual process: a script trains a model by hand; nothing else is required.
#   1 ML pipeline automation: an orchestrated training pipeline, *continuous training* (the pipeline runs in
#     production on a schedule or a trigger), data validation and model validation before a model is promoted
#     (our conditional promotion is the model-validation gate), a metadata store (experiment tracking), a model
#     registry, and continuous delivery of the model to a prediction service (serving).
#   2 CI/CD pipeline automation: the pipeline itself is tested and built automatically (CI, a locked, rebuildable
#     environment), and production is monitored: service statistics and drift that trigger the pipeline.
#   Config outside code is not one of Google's criteria (it is Microsoft's reproducibility at 2).
# Microsoft, "Machine Learning operations maturity model" (Azure Architecture Center):
#   0 no MLOps: manual training.
#   1 DevOps but no MLOps: automated builds and tests of the code (CI, a reproducible environment).
#   2 automated training: managed, traceable, reproducible training: a training pipeline, parameters outside the
#     code, experiment tracking, versioned models in a registry; releases are still manual.
#   3 automated model deployment: release without hand-offs: data checked before training, a model promoted by
#     a rule, served by an application that loads the promoted model.
#   4 full MLOps, automated retraining: retraining triggered automatically (continuous training) from production
#     metrics: the service and its drift are monitored.
CAPABILITIES: list[Capability] = [
    Capability("model training (a script run by hand)", check_training, 0, 0),
    Capability("automated training pipeline", check_automated_pipeline, 1, 2),
    Capability("config outside code", check_config_outside_code, None, 2),
    Capability("data validation", check_data_validation, 1, 3),
    Capability("experiment tracking (metadata store)", check_experiment_tracking, 1, 2),
    Capability("model registry", check_model_registry, 1, 2),
    Capability("automated promotion (model validation gate)", check_automated_promotion, 1, 3),
    Capability("continuous training (schedule / trigger)", check_continuous_training, 1, 4),
    Capability("serving (prediction API)", check_serving, 1, 3),
    Capability("service metrics (Prometheus)", check_service_metrics, 2, 4),
    Capability("drift monitoring", check_drift_monitoring, 2, 4),
    Capability("CI runs the tests", check_ci, 2, 1),
    Capability("reproducible environment (lock file)", check_reproducible_environment, 2, 1),
]
GOOGLE_LEVELS = (0, 1, 2)
MICROSOFT_LEVELS = (0, 1, 2, 3, 4)


def assess(scope: Scope) -> dict[str, Evidence]:
    return {cap.name: cap.check(scope) for cap in CAPABILITIES}


def reached(evidence: dict[str, Evidence], framework: str) -> tuple[int | None, list[str]]:
    """The highest level whose capabilities (and those of every level below) are all present, and what the next
    level still needs."""
    levels = GOOGLE_LEVELS if framework == "google" else MICROSOFT_LEVELS
    best = None
    for level in levels:
        needed = [c.name for c in CAPABILITIES if getattr(c, framework) is not None and getattr(c, framework) <= level]
        missing = [name for name in needed if not evidence[name].found]
        if missing:
            return best, missing
        best = level
    return best, []


_PROBE = """
import importlib, json, sys
failures = []
for module, symbol in json.loads(sys.argv[1]):
    try:
        if not hasattr(importlib.import_module(module), symbol):
            failures.append(f"{module}.{symbol}: no such name")
    except Exception as exc:
        failures.append(f"{module}: {type(exc).__name__}: {exc}"[:300])
print(json.dumps(failures))
"""


def probe_imports(results: dict[str, dict[str, Evidence]], root: Path) -> dict[str, dict[str, Evidence]]:
    """Import every module that holds evidence (in one subprocess) and find the symbol in it: code that no longer
    imports is not a capability. Evidence whose module does not import turns ✗ with the reason."""
    wanted: set[tuple[str, str]] = set()
    for evidence in (e for per_level in results.values() for e in per_level.values()):
        located = re.fullmatch(r"(.+)\.py:\d+", evidence.where)
        if evidence.found and evidence.symbol and located:
            wanted.add((located.group(1).replace("/", ".").removesuffix(".__init__"), evidence.symbol))
    if not wanted:
        return results
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(sorted(wanted))], cwd=root, capture_output=True, text=True
    )
    failures = json.loads(run.stdout) if run.returncode == 0 else [f"probe crashed: {run.stderr[-300:]}"]
    if not failures:
        return results
    checked = {}
    for level, per_level in results.items():
        checked[level] = {}
        for name, evidence in per_level.items():
            module = evidence.where.rsplit(":", 1)[0].removesuffix(".py").replace("/", ".")
            bad = [f for f in failures if f.startswith(module) or f.startswith("probe crashed")]
            checked[level][name] = _absent(f"{evidence.where}: {bad[0]}") if evidence.found and bad else evidence
    return checked


def build_report(levels: list[Level], results: dict[str, dict[str, Evidence]], probed: bool) -> str:
    header = ["capability", "Google", "Microsoft", *(f"{lv.name} ({lv.path.name})" for lv in levels)]
    rows = []
    for cap in CAPABILITIES:
        google = "–" if cap.google is None else str(cap.google)
        rows.append([cap.name, google, str(cap.microsoft), *(results[lv.name][cap.name].cell() for lv in levels)])
    summary, next_needs = [], []
    for framework, label in (("google", "Google MLOps level"), ("microsoft", "Microsoft MLOps level")):
        cells = []
        for lv in levels:
            best, missing = reached(results[lv.name], framework)
            cells.append(f"**{'–' if best is None else best}**")
            if missing:
                step = 0 if best is None else best + 1
                next_needs.append(f"- {lv.name} → {label.split()[0]} {step} needs: {', '.join(missing)}")
        summary.append([label, "", "", *cells])
    table = _left_aligned_table(header, rows + summary)
    gaps = [
        f"- {lv.name} {name}: {e.where}"
        for lv in levels
        for name, e in results[lv.name].items()
        if not e.found and not e.where.startswith("no ")
    ]
    notes = [
        "The Google and Microsoft columns give the maturity level that first requires the capability; a level of ours "
        "reaches a maturity level when it has every capability required there and below (the mapping and its "
        "justification: `tools/maturity.py`).",
        "Each ✓ names the file and line of the evidence, found by reading the code (ast); importing another level's "
        "package composes it (level 3 trains through level 2's nodes). "
        + (
            "Probed: every evidence module imported and its symbol found; `make -n test` reaches pytest; uv.lock "
            "covers pyproject.toml and the level's imports; conf/ parses."
            if probed
            else "Not import-probed (`--no-probe`)."
        ),
    ]
    parts = [table, "", "What the next level needs:", *next_needs, "", *notes]
    return "\n".join(parts + (["", "Why some checks failed:", *gaps] if gaps else [])) + "\n"


def _left_aligned_table(header: list[str], rows: list[list[str]]) -> str:
    """compare's `markdown_table` right-aligns its level columns (numbers); file:line evidence reads better left."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |" for cells in [header, *rows]
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.maturity", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="repository root (default: this checkout)")
    parser.add_argument("--no-probe", action="store_true", help="read the code only; do not import evidence modules")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    levels = discover_levels(root)
    if not levels:
        print("no level found (level<N>_* directories with code and a `make level<N>` target)")
        return 1
    results = {lv.name: assess(Scope(lv, root, levels)) for lv in levels}
    if not args.no_probe:
        results = probe_imports(results, root)
    report = build_report(levels, results, probed=not args.no_probe)
    out = root / REPORT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report, encoding="utf-8")
    print(report)
    print(f"(written to {REPORT})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
