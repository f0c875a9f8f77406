"""`make maturity`'s checks of the operations side: serving, service metrics, drift monitoring, CI and a
reproducible environment. Each takes a Scope and returns Evidence (a file and line, or what is missing).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from tools.evidence import Evidence, Scope, Source, _absent, _rel
from tools.levels import count_tests, imported_modules


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
    """Live inputs or scores are compared with the training data: a drift library or test is *called* (an import,
    a name or a metric called "drift" detects nothing)."""

    def drift(src: Source) -> Iterator[ast.AST]:
        for call, name in src.calls():
            if (name.split(".")[0] in DRIFT_PACKAGES and name.count(".") >= 1) or name in DRIFT_TESTS:
                yield call

    return scope.first(drift) or _absent("no drift test called")


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
