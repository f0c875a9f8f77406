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
import ast
import atexit
import html
import inspect
import os
import re
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from level2_pipeline.project import PROJECT_ROOT

LEVEL1_SCRIPT = PROJECT_ROOT / "level1_code" / "train.py"
DEFAULT_HTML = PROJECT_ROOT / "data" / "08_reporting" / "level_map.html"

MARKER = re.compile(r"^# %% (\w+)\s*$")
# The two level-1 sections that are no node at level 2: the catalog reads the pipelines' free inputs and
# writes what the nodes return.
LOAD, SAVE = "load_raw", "save"
# Kedro's data layers for a run's results (model, predictions, reports): the datasets level 1's `save` writes.
RESULT_LAYERS = ("06_models", "07_model_output", "08_reporting")
GATE_PREFIX = "validate_"
# Tasks the flow calls after the last pipeline: what kind of wrapper each is, the steps whose outputs it
# takes, and what it adds.
AFTER_PIPELINES = {
    "track": ("tracking", ("evaluate", SAVE), "MLflow run: parameters, metrics, plots, gate reports, the model"),
    "register": ("registry", (SAVE,), "a new registry version of the model, alias 'challenger'"),
    "promote": ("registry", (SAVE,), "behaviour checks vs the champion, then alias 'champion' or not"),
    "model_card": ("tracking", ("evaluate", SAVE), "the version's model card: bootstrap intervals, segments"),
}
# Routes that do one step's work on request; the others (probes, docs) serve the service as a whole.
ENDPOINT_STEPS = {"/predict": "evaluate", "/predict/batch": "evaluate", "/model": SAVE, "/admin/reload": SAVE}
CODE_LINES_SHOWN = 3  # per level-1 section in the terminal; the HTML page shows them all


# ---------------------------------------------------------------------------------------------------- level 1
@dataclass(frozen=True)
class Section:
    name: str
    first: int  # line number of the marker's first code line
    lines: tuple[str, ...]
    constants: tuple[str, ...]  # the script's module constants it reads, as `NAME = value` when short


def parse_level1(text: str) -> list[Section]:
    """The `# %% <name>` sections of the level-1 script, in file order (code before the first one is setup)."""
    source = text.splitlines()
    marks = [(i, m.group(1)) for i, line in enumerate(source) if (m := MARKER.match(line))]
    constants: dict[str, str] = {}
    for statement in ast.parse(text).body:
        if isinstance(statement, ast.Assign) and statement.lineno <= (marks[0][0] if marks else len(source)):
            value = ast.get_source_segment(text, statement.value) or ""
            for target in statement.targets:
                if isinstance(target, ast.Name) and target.id.isupper():
                    constants[target.id] = f"{target.id} = {value}" if len(value) <= 24 else target.id
    sections = []
    for k, (start, name) in enumerate(marks):
        end = marks[k + 1][0] if k + 1 < len(marks) else len(source)
        body = source[start + 1 : end]
        while body and not body[-1].strip():
            body.pop()
        used = dict.fromkeys(w for w in re.findall(r"\b[A-Z][A-Z0-9_]*\b", "\n".join(body)) if w in constants)
        sections.append(Section(name, start + 2, tuple(body), tuple(constants[w] for w in used)))
    return sections


# ---------------------------------------------------------------------------------------------------- level 2
@dataclass(frozen=True)
class Dataset:
    name: str
    type: str
    filepath: str | None = None
    versioned: bool = False
    producer: str | None = None  # the node that returns it, for the datasets `save` writes


@dataclass(frozen=True)
class Level2:
    kind: str  # "node", or "catalog" for the reads and writes level 1 does in `load_raw` and `save`
    name: str
    pipeline: str = ""
    source: str = ""  # file:line of a node's function
    function: str = ""
    inputs: tuple[Dataset, ...] = ()
    params: tuple[str, ...] = ()
    outputs: tuple[Dataset, ...] = ()


@dataclass(frozen=True)
class Pipeline:
    nodes: tuple[str, ...]  # in the order Kedro runs them
    inputs: tuple[str, ...]  # free dataset inputs (parameters left out)


def _layer(filepath: str | None) -> str:
    return next((part for part in Path(filepath or "").parts if re.fullmatch(r"\d\d_\w+", part)), "")


def _param(name: str, parameters: dict[str, Any]) -> str:
    value = parameters.get(name)
    if not isinstance(value, dict):
        return name if value is None else f"{name} = {value}"
    text = ", ".join(f"{k}: {v}" for k, v in value.items())
    keys = ", ".join(list(value)[:3]) + (", …" if len(value) > 3 else "")
    return f"{name} {{{text}}}" if len(text) <= 48 else f"{name} {{{keys}}}"


def read_level2() -> tuple[list[Level2], dict[str, Pipeline], Level2, Level2]:
    """Nodes (run order), pipelines, and the catalog's load and save steps, from Kedro and `conf/`."""
    from kedro.framework.startup import bootstrap_project

    from level2_pipeline.config import config_loader

    bootstrap_project(PROJECT_ROOT)
    from level2_pipeline.pipeline_registry import register_pipelines

    registered = register_pipelines()
    everything = registered.pop("__default__")
    config = config_loader()
    catalog, parameters = config["catalog"], config["parameters"]
    producer = {out: node.name for node in everything.nodes for out in node.outputs}

    def dataset(name: str) -> Dataset:
        entry = catalog.get(name, {})
        return Dataset(
            name,
            entry.get("type", "MemoryDataset"),
            entry.get("filepath"),
            bool(entry.get("versioned")),
            producer.get(name),
        )

    owner = {node.name: name for name, pipeline in registered.items() for node in pipeline.nodes}
    nodes = []
    for node in everything.nodes:
        function = inspect.unwrap(node.func)
        path = Path(inspect.getsourcefile(function) or "?").resolve()
        relative = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path
        where = f"{relative}:{inspect.getsourcelines(function)[1]}"
        nodes.append(
            Level2(
                "node",
                node.name,
                owner.get(node.name, "?"),
                where,
                f"{function.__qualname__}()",
                tuple(dataset(d) for d in node.inputs if not d.startswith("params:")),
                tuple(_param(d.removeprefix("params:"), parameters) for d in node.inputs if d.startswith("params:")),
                tuple(dataset(d) for d in node.outputs),
            )
        )
    pipelines = {
        name: Pipeline(
            tuple(n.name for n in pipeline.nodes),
            tuple(sorted(d for d in pipeline.inputs() if not d.startswith("params:"))),
        )
        for name, pipeline in registered.items()
    }
    free = sorted(d for d in everything.inputs() if not d.startswith("params:"))
    results = [n for n in catalog if n in producer and _layer(catalog[n].get("filepath")) in RESULT_LAYERS]
    load = Level2("catalog", "catalog load", outputs=tuple(dataset(d) for d in free))
    save = Level2("catalog", "catalog save", inputs=tuple(dataset(d) for d in results))
    return nodes, pipelines, load, save


# ---------------------------------------------------------------------------------------------------- level 3
@dataclass(frozen=True)
class Wrapper:
    kind: str  # "task", "gate", "tracking", "registry" or "endpoint"
    name: str
    detail: str
    call: str = ""  # as the flow writes it


def flow_calls(flow_source: str, task_names: dict[str, str]) -> list[tuple[str, str]]:
    """(task name, call as written) for each task the flow body calls, in source order.

    `task_names` maps the Python names of the tasks to their Prefect names (`register_model` -> `register`);
    a call through `.with_options(...)` counts as a call of the task.
    """
    found = []
    for node in ast.walk(ast.parse(textwrap.dedent(flow_source))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Call) and isinstance(func.func, ast.Attribute) and func.func.attr == "with_options":
            func = func.func.value
        if isinstance(func, ast.Name) and func.id in task_names:
            found.append(((node.lineno, node.col_offset), task_names[func.id], ast.unparse(node)))
    return [(name, call) for _, name, call in sorted(found)]


def read_flow() -> list[tuple[str, str]]:
    """The tasks of level 3's `train` flow, in call order, read from the imported module."""
    if "PREFECT_HOME" not in os.environ:  # importing Prefect creates its home: a throw-away one, not ~/.prefect
        home = tempfile.mkdtemp(prefix="level-map-prefect-")
        atexit.register(shutil.rmtree, home, ignore_errors=True)
        os.environ["PREFECT_HOME"] = home
    from prefect import Task

    from level3_system.training import flow

    tasks = {name: obj.name for name, obj in vars(flow).items() if isinstance(obj, Task)}
    return flow_calls(inspect.getsource(flow.train.fn), tasks)


def app_routes(app: Any) -> list[tuple[str, str, str]]:
    """(method, path, handler) of every route of a FastAPI app: its own and its routers' (`app.state.routers`).

    Read from the assembled app, so routes are found wherever their modules live (serving/routes/*.py).
    """
    routes = [*app.routes, *(r for router in getattr(app.state, "routers", ()) for r in router.routes)]
    found = {
        (method, route.path, route.endpoint.__name__)
        for route in routes
        if getattr(route, "include_in_schema", False) and hasattr(route, "endpoint")
        for method in sorted(getattr(route, "methods", None) or ())
        if method != "HEAD"
    }
    return sorted(found, key=lambda r: (r[1], r[0]))


def read_routes() -> list[tuple[str, str, str]]:
    """The level-3 service's routes, from the app `create_app()` assembles (no model is loaded)."""
    from level3_system.serving.app import create_app

    return app_routes(create_app())


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


# ---------------------------------------------------------------------------------------------------- the map
@dataclass
class Step:
    name: str
    level1: Section | None
    level2: Level2 | None
    level3: list[Wrapper] = field(default_factory=list)


@dataclass
class LevelMap:
    steps: list[Step]
    service: list[Wrapper]
    problems: list[str]


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


# ---------------------------------------------------------------------------------------------------- terminal
def _dataset_text(d: Dataset) -> str:
    versioned = ", versioned" if d.versioned else ""
    return f"{d.name} ({d.type}{versioned})"


def level1_lines(section: Section | None, limit: int | None) -> list[str]:
    if section is None:
        return ["(no section)"]
    code = [line for line in section.lines if line.strip() and not line.lstrip().startswith("#")]
    last = section.first + len(section.lines) - 1
    head = [f"train.py:{section.first}-{last}, {len(code)} lines of code"]
    shown = code if limit is None else code[:limit]
    more = [f"… {len(code) - len(shown)} more"] if len(shown) < len(code) else []
    consts = ["reads " + ", ".join(section.constants)] if section.constants else []
    return head + [f"> {line}" for line in shown] + more + consts


def level2_lines(step: Level2 | None) -> list[str]:
    if step is None:
        return ["(no node)"]

    def listed(label: str, datasets: Iterable[Dataset], arrow: bool = False, paths: bool = False) -> list[str]:
        out = []
        for d in datasets:
            out.append(f"{label} {_dataset_text(d)}" + (f" <- node {d.producer}" if arrow and d.producer else ""))
            out += [f"    {d.filepath}"] if paths and d.filepath else []
        return out

    if step.kind == "catalog":
        head = ["catalog reads the pipelines' free input"] if step.outputs else ["catalog writes what nodes return"]
        return head + listed("out", step.outputs, paths=True) + listed("in ", step.inputs, arrow=True, paths=True)
    return (
        [f"node {step.name} (pipeline {step.pipeline})", f"{Path(step.source).name} {step.function}"]
        + listed("in ", step.inputs)
        + [f"par {p}" for p in step.params]
        + listed("out", step.outputs)
    )


def level3_lines(wrappers: list[Wrapper]) -> list[str]:
    return [f"{w.kind} {w.name}: {w.detail}" for w in wrappers] or ["(nothing: level 2 as is)"]


def _cell(lines: list[str], width: int) -> list[str]:
    out = []
    for line in lines:
        if line.startswith("> "):  # code: cut, not wrapped
            out.append(line if len(line) <= width else line[: width - 1] + "…")
        else:
            out += textwrap.wrap(line, width, subsequent_indent="  ") or [""]
    return out


def render_text(level_map: LevelMap, columns: int | None = None) -> str:
    total = max(110, min(columns or shutil.get_terminal_size((160, 40)).columns, 220))
    step_width = max(len(s.name) for s in level_map.steps)
    width = (total - step_width - 10) // 3
    widths = (step_width, width, width, width)

    def row(cells: list[list[str]]) -> list[str]:
        cells = [_cell(c, w) for c, w in zip(cells, widths, strict=True)]
        height = max(len(c) for c in cells)
        return [
            "│ " + " │ ".join((c[i] if i < len(c) else "").ljust(w) for c, w in zip(cells, widths, strict=True)) + " │"
            for i in range(height)
        ]

    def rule(left: str, mid: str, right: str) -> str:
        return left + mid.join("─" * (w + 2) for w in widths) + right

    status = "consistent" if not level_map.problems else f"{len(level_map.problems)} problem(s), see below"
    out = [f"Each step at the three levels, read from the code ({len(level_map.steps)} steps, {status})"]
    out.append(rule("┌", "┬", "┐"))
    out += row([["step"], ["level 1: train.py section"], ["level 2: Kedro node + catalog"], ["level 3: wraps it"]])
    for step in level_map.steps:
        out.append(rule("├", "┼", "┤"))
        out += row(
            [
                [step.name],
                level1_lines(step.level1, CODE_LINES_SHOWN),
                level2_lines(step.level2),
                level3_lines(step.level3),
            ]
        )
    out.append(rule("└", "┴", "┘"))
    if level_map.service:
        out.append("level 3, service-wide: " + ", ".join(w.name for w in level_map.service))
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------- HTML
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
header{padding:18px 24px 8px}h1{font-size:20px;margin:0 0 4px}header p{margin:0;color:#555}
.cols,.step{display:grid;grid-template-columns:136px minmax(0,1.4fr) minmax(0,1fr) minmax(0,.85fr);
gap:10px;padding:0 24px}
.cols{position:sticky;top:0;background:#f4f5f7;padding-top:10px;padding-bottom:8px;font-weight:600;z-index:1}
.cols div{padding:6px 10px;border-radius:6px;color:#fff}.cols div:first-child{background:#6b7280}
.l1h{background:#b45309}.l2h{background:#1d4ed8}.l3h{background:#047857}
.step{margin-bottom:10px}.name{font:600 15px ui-monospace,Menlo,Consolas,monospace;padding:10px 4px}
.card{background:#fff;border-radius:6px;padding:8px 10px;border-top:3px solid;box-shadow:0 1px 2px #0002}
.l1{border-color:#b45309}.l2{border-color:#1d4ed8}.l3{border-color:#047857}
pre{margin:6px 0 0;padding:6px 8px;background:#fbf7f0;border-radius:4px;font-size:12px;white-space:pre-wrap;
overflow-wrap:anywhere}.meta{color:#555;font-size:12px}code{font:12px ui-monospace,Menlo,Consolas,monospace}
ul{margin:4px 0 0;padding-left:0;list-style:none}li{margin:3px 0}
.tag{display:inline-block;min-width:58px;font:600 11px ui-monospace,monospace;padding:1px 5px;margin-right:6px;
border-radius:3px;background:#e5e7eb;text-align:center}.gate{background:#fde68a}.task{background:#bfdbfe}
.tracking{background:#ddd6fe}.registry{background:#fbcfe8}.endpoint{background:#bbf7d0}.none{color:#999}
.in{background:#e0e7ff}.out{background:#dcfce7}.par{background:#fef3c7}
footer{padding:8px 24px 24px;color:#555}
"""


def _h(text: object) -> str:
    """Escaped text; `://` is written as an entity so the page holds no literal URL (it loads nothing anyway)."""
    return html.escape(str(text)).replace("://", "&#58;//")


def _html_level1(section: Section | None) -> str:
    if section is None:
        return '<div class="card l1 none">no level-1 section</div>'
    last = section.first + len(section.lines) - 1
    consts = f'<div class="meta">reads {_h(", ".join(section.constants))}</div>' if section.constants else ""
    numbered = "\n".join(f"{section.first + i:>3}  {line}" for i, line in enumerate(section.lines))
    return (
        f'<div class="card l1"><div class="meta">level1_code/train.py lines {section.first}–{last}</div>'
        f"{consts}<pre>{_h(numbered)}</pre></div>"
    )


def _html_datasets(tag: str, datasets: Iterable[Dataset], arrow: bool = False) -> str:
    items = []
    for d in datasets:
        path = f' <span class="meta">{_h(d.filepath)}</span>' if d.filepath else ""
        by = f" ← node <code>{_h(d.producer)}</code>" if arrow and d.producer else ""
        versioned = ", versioned" if d.versioned else ""
        items.append(
            f'<li><span class="tag {tag}">{tag}</span><code>{_h(d.name)}</code> '
            f'<span class="meta">{_h(d.type)}{versioned}</span>{path}{by}</li>'
        )
    return "".join(items)


def _html_level2(step: Level2 | None) -> str:
    if step is None:
        return '<div class="card l2 none">no level-2 counterpart</div>'
    if step.kind == "catalog":
        what = "reads the pipelines' free input" if step.outputs else "writes what the nodes return"
        body = _html_datasets("out", step.outputs) + _html_datasets("in", step.inputs, arrow=True)
        source = '<span class="meta">(conf/base/catalog.yml)</span>'
        return f'<div class="card l2"><b>catalog</b> {what} {source}<ul>{body}</ul></div>'
    params = "".join(f'<li><span class="tag par">param</span><code>{_h(p)}</code></li>' for p in step.params)
    body = _html_datasets("in", step.inputs) + params + _html_datasets("out", step.outputs)
    return (
        f'<div class="card l2"><b>node <code>{_h(step.name)}</code></b> · pipeline <code>{_h(step.pipeline)}</code>'
        f'<div class="meta">{_h(step.source)} <code>{_h(step.function)}</code></div><ul>{body}</ul></div>'
    )


def _html_level3(wrappers: list[Wrapper]) -> str:
    if not wrappers:
        return '<div class="card l3 none">nothing: level 2 runs as is</div>'
    items = "".join(
        f'<li><span class="tag {w.kind}">{w.kind}</span><code>{_h(w.name)}</code> {_h(w.detail)}'
        + (f'<div class="meta">training/flow.py: <code>{_h(w.call)}</code></div>' if w.call else "")
        + "</li>"
        for w in wrappers
    )
    return f'<div class="card l3"><ul>{items}</ul></div>'


def render_html(level_map: LevelMap) -> str:
    rows = "".join(
        f'<section class="step"><div class="name">{_h(s.name)}</div>'
        f"{_html_level1(s.level1)}{_html_level2(s.level2)}{_html_level3(s.level3)}</section>"
        for s in level_map.steps
    )
    service = ", ".join(f"<code>{_h(w.name)}</code>" for w in level_map.service)
    status = "consistent" if not level_map.problems else "INCONSISTENT: " + _h("; ".join(level_map.problems))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Churn: one problem, three levels</title><style>{CSS}</style></head><body>
<header><h1>Churn: each step at the three levels</h1>
<p>Read from the code by <code>make diff</code> (tools/level_map.py): level 1's <code># %% step</code> markers,
level 2's Kedro pipelines and catalog, level 3's Prefect flow and service routes. {len(level_map.steps)} steps,
{status}.</p></header>
<div class="cols"><div>step</div><div class="l1h">level 1 · script section</div>
<div class="l2h">level 2 · Kedro node, catalog, parameters</div>
<div class="l3h">level 3 · gate, task, tracking, endpoint</div></div>
{rows}
<footer>Level 3, service-wide routes (no single step): {service}</footer>
</body></html>
"""


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
