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
import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from level2_pipeline.project import PROJECT_ROOT
from tools.checks_operations import (
    check_ci,
    check_drift_monitoring,
    check_reproducible_environment,
    check_service_metrics,
    check_serving,
)
from tools.checks_training import (
    check_automated_pipeline,
    check_automated_promotion,
    check_config_outside_code,
    check_continuous_training,
    check_data_validation,
    check_experiment_tracking,
    check_model_registry,
    check_training,
)
from tools.evidence import Evidence, Scope, _absent
from tools.levels import Level, discover_levels

REPORT = Path("data/08_reporting/maturity.md")


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
