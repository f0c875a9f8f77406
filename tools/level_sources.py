"""What each level says about each step, read from its own code: level 1's `# %% <step>` sections, level 2's
nodes with their catalog datasets and parameters (Kedro's pipeline registry and `conf/`), and level 3's wrappers
(the Prefect tasks of the `train` flow in call order, the routes of the service `create_app()` assembles).
`level_map.py` joins them into steps.
"""

from __future__ import annotations

import ast
import atexit
import inspect
import os
import re
import shutil
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from level2_pipeline.project import PROJECT_ROOT

LEVEL1_SCRIPT = PROJECT_ROOT / "level1_code" / "train.py"
MARKER = re.compile(r"^# %% (\w+)\s*$")
# The two level-1 sections that are no node at level 2: the catalog reads the pipelines' free inputs and
# writes what the nodes return.
LOAD, SAVE = "load_raw", "save"
# Kedro's data layers for a run's results (model, predictions, reports): the datasets level 1's `save` writes.
RESULT_LAYERS = ("06_models", "07_model_output", "08_reporting")


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
    body = textwrap.dedent(inspect.getsource(flow.train.fn))
    # The flow's steps, also those in the module's helpers the flow calls (`_learn`: ingest → data_science),
    # each helper's tasks where the flow calls it.
    calls: list[tuple[str, str]] = []
    for name, call in _calls_in_order(body, _helpers(flow) | set(tasks)):
        if name in tasks:
            calls.append((tasks[name], call))
        else:
            calls.extend(flow_calls(inspect.getsource(getattr(flow, name)), tasks))
    return calls


def _helpers(module: Any) -> set[str]:
    """The plain functions defined in `module` (not imported into it)."""
    return {n for n, o in vars(module).items() if inspect.isfunction(o) and o.__module__ == module.__name__}


def _calls_in_order(source: str, names: set[str]) -> list[tuple[str, str]]:
    """(Python name, call as written) of each call of one of `names` in `source`, in source order."""
    return flow_calls(source, {name: name for name in names})


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


# --------------------------------------------------------------------------------------------------------------
# The map: level_map.py builds it, level_render.py draws it (both import it from here, neither from the other).


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
