"""`make diff`: each step of the churn problem at the three levels, side by side, read from the code itself.

Level 1's sections come from the `# %% <step>` markers of `level1_code/train.py`; level 2's nodes, their catalog
datasets and parameters from Kedro's pipeline registry and `conf/`; level 3's wrappers from the Prefect tasks of
`level3_system/training/flow.py` (in the order the `train` flow calls them) and the routes of the service that
`level3_system.serving.app.create_app()` assembles. Nothing is a hand-written copy: a marker, node or task renamed
on one side only leaves a step without its counterpart, and the command exits 1 with one line naming it
(tests/tools/test_level_map.py fails the same way).

The rules that join the levels are the few constants below, all of them names: a section matches the node of
the same name; `load_raw` and `save` are the catalog's reads and writes; a task named like a pipeline runs its
nodes; a `validate_*` task gates the pipeline called after it.

Prints the map; writes a self-contained HTML page (inline CSS, no script, no external URL) unless `--html ''`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from level2_pipeline.project import PROJECT_ROOT
from tools.level_render import render_html, render_text
from tools.level_sources import (
    LEVEL1_SCRIPT,
    LOAD,
    SAVE,
    Level2,
    LevelMap,
    Pipeline,
    Section,
    Step,
    Wrapper,
    app_routes,
    flow_calls,
    parse_level1,
    read_flow,
    read_level2,
    read_routes,
)

__all__ = ["Pipeline", "app_routes", "build_map", "check_steps", "flow_calls", "map_level3", "parse_level1"]

DEFAULT_HTML = PROJECT_ROOT / "data" / "08_reporting" / "level_map.html"
GATE_PREFIX = "validate_"
# Tasks the flow calls after the last pipeline: what kind of wrapper each is, the steps whose outputs it
# takes, and what it adds.
AFTER_PIPELINES = {
    "decide": ("decision", ("evaluate",), "who gets an offer: threshold chosen out of the holdout, valued on it"),
    "track": ("tracking", ("evaluate", SAVE), "MLflow run: parameters, metrics, plots, gate reports, the model"),
    "register": ("registry", (SAVE,), "a new registry version of the model, alias 'challenger'"),
    "promote": ("registry", (SAVE,), "behaviour checks vs the champion, then alias 'champion' or not"),
    "model_card": ("tracking", ("evaluate", SAVE), "the version's model card: bootstrap intervals, segments"),
}
# Routes that do one step's work on request; the others (probes, docs) serve the service as a whole.
ENDPOINT_STEPS = {"/predict": "evaluate", "/predict/batch": "evaluate", "/model": SAVE, "/admin/reload": SAVE}


def map_level3(
    calls: list[tuple[str, str]], pipelines: dict[str, Pipeline], routes: list[tuple[str, str, str]]
) -> tuple[dict[str, list[Wrapper]], list[Wrapper], list[str]]:
    """What level 3 wraps around each step, the service-wide routes, and what no rule explains."""
    around: dict[str, list[Wrapper]] = {}
    problems: list[str] = []
    runs = [i for i, (task, _) in enumerate(calls) if task in pipelines]
    first, last = (runs[0], runs[-1]) if runs else (len(calls), -1)
    for i, (task, call) in enumerate(calls):
        if task in pipelines:
            for node in pipelines[task].nodes:
                around.setdefault(node, []).append(Wrapper("task", task, f"runs the {task} pipeline", call))
        elif task.startswith(GATE_PREFIX):
            guarded = next((t for t, _ in calls[i + 1 :] if t in pipelines), None)
            if guarded is None:
                problems.append(f"level-3 gate {task!r} is called after the last pipeline: it guards nothing")
                continue
            checks = ", ".join(pipelines[guarded].inputs)
            detail = f"before the {guarded} pipeline, checks {checks} (GX)"
            around.setdefault(pipelines[guarded].nodes[0], []).append(Wrapper("gate", task, detail, call))
        elif i < first:
            around.setdefault(LOAD, []).append(Wrapper("task", task, "first, before any gate or pipeline", call))
        elif i > last and task in AFTER_PIPELINES:
            kind, steps, adds = AFTER_PIPELINES[task]
            for step in steps:
                around.setdefault(step, []).append(Wrapper(kind, task, adds, call))
        else:
            problems.append(f"level-3 task {task!r} matches no rule in tools/level_map.py")
    problems += [
        f"level-2 pipeline {p!r} is run by no level-3 task" for p in pipelines if not any(t == p for t, _ in calls)
    ]
    problems += [
        f"level-3 task {t!r} (AFTER_PIPELINES) is not called by the flow"
        for t in AFTER_PIPELINES
        if t not in dict(calls)
    ]
    declared = {path: (method, handler) for method, path, handler in routes}
    for path, step in ENDPOINT_STEPS.items():
        if path not in declared:
            problems.append(f"endpoint {path} (ENDPOINT_STEPS) is not a route of the level-3 service")
            continue
        method, handler = declared[path]
        around.setdefault(step, []).append(
            Wrapper("endpoint", f"{method} {path}", f"serves it on request ({handler}())")
        )
    service = [Wrapper("endpoint", f"{m} {p}", f"{h}()") for m, p, h in routes if p not in ENDPOINT_STEPS]
    return around, service, problems


def check_steps(sections: list[str], nodes: list[str]) -> list[str]:
    """Every level-1 section has a level-2 counterpart (a node of its name, or the catalog for load/save) and
    every node a section, in the same order."""
    expected = [LOAD, *nodes, SAVE]
    problems = [
        f"level-1 section '# %% {n}' appears {sections.count(n)} times"
        for n in dict.fromkeys(sections)
        if sections.count(n) > 1
    ]
    problems += [
        f"level-1 section '# %% {n}' has no level-2 counterpart (no node {n!r}; not {LOAD}/{SAVE})"
        for n in sections
        if n not in expected
    ]
    problems += [
        f"level-2 {'node' if n in nodes else 'catalog step'} {n!r} has no level-1 section '# %% {n}'"
        for n in expected
        if n not in sections
    ]
    if not problems and sections != expected:
        problems.append(f"level 1 runs its sections as {sections}, level 2 as {expected}")
    return problems


def assemble(
    sections: list[Section],
    nodes: list[Level2],
    load: Level2,
    save: Level2,
    level3: tuple[dict[str, list[Wrapper]], list[Wrapper], list[str]],
) -> LevelMap:
    around, service, level3_problems = level3
    problems = check_steps([s.name for s in sections], [n.name for n in nodes])
    level2 = {LOAD: load, SAVE: save} | {n.name: n for n in nodes}
    level1 = {s.name: s for s in sections}
    names = list(dict.fromkeys([LOAD, *(n.name for n in nodes), SAVE, *level1]))
    problems += [f"level-3 wrappers point at {n!r}, which is no step" for n in around if n not in names]
    steps = [Step(n, level1.get(n), level2.get(n), around.get(n, [])) for n in names]
    return LevelMap(steps, service, problems + level3_problems)


def build_map(script: Path = LEVEL1_SCRIPT, routes: list[tuple[str, str, str]] | None = None) -> LevelMap:
    sections = parse_level1(script.read_text())
    nodes, pipelines, load, save = read_level2()
    routes = read_routes() if routes is None else routes
    return assemble(sections, nodes, load, save, map_level3(read_flow(), pipelines, routes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.level_map", description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", default=str(DEFAULT_HTML), help="where to write the HTML page ('' for none)")
    args = parser.parse_args(argv)
    level_map = build_map()
    print(render_text(level_map))
    if level_map.problems:
        print("level map inconsistent: " + "; ".join(level_map.problems), file=sys.stderr)
        return 1
    if args.html:
        page = Path(args.html)
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(render_html(level_map), encoding="utf-8")
        shown = page.resolve().relative_to(PROJECT_ROOT) if page.resolve().is_relative_to(PROJECT_ROOT) else page
        print(f"wrote {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
