"""`make diff` (tools/level_map.py): every step has its counterpart at each level, and a rename on one side is
caught. The map is read from the code, so these tests pin the rules, not a copy of the map."""

from __future__ import annotations

import re

import pytest
from support import LEVEL1_SCRIPT, PROJECT_ROOT, run_python

from tools import level_map
from tools.level_map import Pipeline, app_routes, check_steps, flow_calls, map_level3, parse_level1

STEPS = ["load_raw", "clean", "build_features", "split", "train", "evaluate", "save"]
NODES = STEPS[1:-1]


@pytest.fixture(scope="module")
def the_map() -> level_map.LevelMap:
    return level_map.build_map()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """`python -m tools.level_map` once, writing its page to a temporary folder (not the repository's data/)."""
    html = tmp_path_factory.mktemp("level_map") / "level_map.html"
    result = run_python(["-m", "tools.level_map", "--html", str(html)], cwd=PROJECT_ROOT)
    assert result.returncode == 0, f"python -m tools.level_map failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout, html.read_text(encoding="utf-8")


def test_every_step_has_a_counterpart_at_each_level(the_map: level_map.LevelMap) -> None:
    assert the_map.problems == [], f"the level map is inconsistent: {the_map.problems}"
    assert [s.name for s in the_map.steps] == STEPS, "steps drifted from the shared vocabulary"
    for step in the_map.steps:
        assert step.level1 is not None and step.level1.lines, f"{step.name}: no level-1 code"
        assert step.level2 is not None, f"{step.name}: no level-2 counterpart"
        assert step.level3, f"{step.name}: level 3 wraps nothing around it"


def test_catalog_steps_are_derived_from_the_catalog(the_map: level_map.LevelMap) -> None:
    steps = {s.name: s for s in the_map.steps}

    loaded = [d.name for d in steps["load_raw"].level2.outputs]
    saved = {d.name: d.producer for d in steps["save"].level2.inputs}

    assert loaded == ["raw_telco_churn"], f"the pipelines' free input should be the raw file, got {loaded}"
    assert saved == {"model": "train", "metrics": "evaluate", "test_predictions": "evaluate"}, saved


def test_level3_wrappers_follow_the_flow(the_map: level_map.LevelMap) -> None:
    around = {s.name: {(w.kind, w.name) for w in s.level3} for s in the_map.steps}

    assert ("task", "ingest") in around["load_raw"]
    assert ("gate", "validate_raw") in around["clean"], "the raw gate runs before data_processing's first node"
    assert ("gate", "validate_model_input") in around["split"], "the model-input gate runs before data_science"
    assert all(("task", "data_science") in around[n] for n in ("split", "train", "evaluate"))
    assert ("endpoint", "POST /predict") in around["evaluate"]
    assert {("tracking", "track"), ("registry", "register"), ("registry", "promote")} <= around["save"]


def test_a_renamed_level1_marker_is_reported() -> None:
    # given the real script with one marker renamed
    text = LEVEL1_SCRIPT.read_text().replace("# %% clean\n", "# %% tidy\n")

    # when it is checked against the real node names
    problems = check_steps([s.name for s in parse_level1(text)], NODES)

    # then both sides of the broken pair are named
    assert any("'# %% tidy' has no level-2 counterpart" in p for p in problems), problems
    assert any("node 'clean' has no level-1 section" in p for p in problems), problems


def test_a_renamed_node_or_a_reordered_section_is_reported() -> None:
    sections = [s.name for s in parse_level1(LEVEL1_SCRIPT.read_text())]
    assert check_steps(sections, NODES) == [], "the real script and nodes should agree"

    renamed = check_steps(sections, ["clean", "build_features", "split", "fit", "evaluate"])
    reordered = check_steps(["load_raw", "build_features", "clean", "split", "train", "evaluate", "save"], NODES)
    without_save = check_steps(sections[:-1], NODES)

    assert any("'# %% train' has no level-2 counterpart" in p for p in renamed), renamed
    assert any("node 'fit' has no level-1 section" in p for p in renamed), renamed
    assert reordered and "runs its sections as" in reordered[0], reordered
    assert any("catalog step 'save' has no level-1 section" in p for p in without_save), without_save


def test_a_renamed_level3_task_is_reported() -> None:
    # given the flow's call order with the data_science task renamed
    pipelines = {
        "data_processing": Pipeline(("clean", "build_features"), ("raw_telco_churn",)),
        "data_science": Pipeline(("split", "train", "evaluate"), ("model_input_table",)),
    }
    tasks = ["ingest", "validate_raw", "data_processing", "validate_model_input", "modelling"]
    calls = [(t, f"{t}(settings)") for t in [*tasks, *level_map.AFTER_PIPELINES]]
    routes = [("POST", path, "handler") for path in level_map.ENDPOINT_STEPS]

    # when level 3 is mapped
    _, _, problems = map_level3(calls, pipelines, routes)

    # then the orphan task, the unrun pipeline and the gate left guarding nothing are all named
    assert "level-3 task 'modelling' matches no rule in tools/level_map.py" in problems, problems
    assert "level-2 pipeline 'data_science' is run by no level-3 task" in problems, problems
    assert any("gate 'validate_model_input' is called after the last pipeline" in p for p in problems), problems


def test_a_missing_endpoint_is_reported() -> None:
    pipelines = {"p": Pipeline(("clean",), ("raw",))}
    calls = [("p", "p()"), *((t, f"{t}()") for t in level_map.AFTER_PIPELINES)]

    _, _, problems = map_level3(calls, pipelines, [("POST", "/score", "predict")])

    assert "endpoint /predict (ENDPOINT_STEPS) is not a route of the level-3 service" in problems, problems


def test_flow_calls_are_read_from_source() -> None:
    flow = "def train(s):\n    raw = ingest.with_options(retries=2)(s)\n    if raw:\n        out = fit(s, raw)\n"

    assert flow_calls(flow, {"ingest": "ingest", "fit": "train"}) == [
        ("ingest", "ingest.with_options(retries=2)(s)"),
        ("train", "fit(s, raw)"),
    ]


def test_routes_are_read_from_the_app_wherever_their_routers_live() -> None:
    from fastapi import APIRouter, FastAPI

    admin = APIRouter(prefix="/admin")

    @admin.post("/reload")
    async def reload() -> None: ...

    app = FastAPI(docs_url=None, redoc_url=None)

    @app.get("/h")
    def h() -> None: ...

    app.include_router(admin)
    app.state.routers = [admin]

    assert app_routes(app) == [("POST", "/admin/reload", "reload"), ("GET", "/h", "h")]


def test_make_diff_prints_the_map_and_writes_an_offline_page(page: tuple[str, str]) -> None:
    stdout, html = page

    assert "7 steps, consistent" in stdout, stdout[:300]
    for step in STEPS:
        assert re.search(rf"│ {step}\s+│", stdout), f"the terminal table has no row for {step}"
        assert f'<div class="name">{step}</div>' in html, f"the page has no row for {step}"
    assert "http://" not in html and "https://" not in html, "the page must hold no URL (offline, no CDN)"
    assert not re.search(r"<script|<link|\bsrc=|\bhref=|@import|url\(", html), "the page must load nothing"


def test_level1_sections_are_read_with_their_lines() -> None:
    sections = parse_level1("X = 1\nLONG = [1, 2]\n# %% a\nprint(X)\n\n# %% b\ny = LONG\n")

    assert [(s.name, s.first, s.lines, s.constants) for s in sections] == [
        ("a", 4, ("print(X)",), ("X = 1",)),
        ("b", 7, ("y = LONG",), ("LONG = [1, 2]",)),
    ]
