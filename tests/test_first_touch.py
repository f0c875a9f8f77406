"""Every target the README's entry-point table names works as the first command of a fresh clone.

What each target needs on a fresh clone (the environment, the raw data, a champion, a running service) must be
provided by its Makefile prerequisites, by the command's own `needs` (level3_system/cli.py, set up by
bootstrap.py), or by the code it runs (checked to still call what provides it). The cheap targets are run for
real; the champion's bootstrap is run once for real, as `score` on an empty registry and an empty data root.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from support import PROJECT_ROOT, RAW_RELATIVE, RAW_ROWS

from level3_system.cli import COMMANDS

README = PROJECT_ROOT / "README.md"
MAKEFILE = PROJECT_ROOT / "Makefile"
ENV, DATA, CHAMPION, SERVICE = "env", "data", "champion", "service"

# What each target needs on a fresh clone. A target the README adds must be added here, with what it needs.
NEEDS: dict[str, set[str]] = {
    "data": {ENV},
    "level1": {ENV, DATA},
    "level2": {ENV, DATA},
    "level3": {ENV, DATA},
    "validate": {ENV, DATA},
    "serve": {ENV, CHAMPION},
    "traffic": {ENV, DATA, CHAMPION, SERVICE},
    "monitor": {ENV, CHAMPION},
    "feedback": {ENV, CHAMPION},
    "score": {ENV, CHAMPION},
    "synth": {ENV, DATA},
    "platform": {ENV, CHAMPION},
    "demo-loop": {ENV, DATA, CHAMPION},
    "ui": {ENV},
    "bench": {ENV, DATA, CHAMPION},
    "experiment": {ENV, DATA},
    "soak": {ENV, DATA},  # trains its own versions in stores of its own
    "bench-scoring": {ENV, DATA, CHAMPION},
    "diff": {ENV},
    "maturity": {ENV},
    "wheelhouse": {ENV},
    "init": {ENV},
    "lint": {ENV},
    "test": {ENV},
    "check": {ENV},
    "compare": {ENV, DATA},
    "viz": {ENV},
    "help": set(),
    "clean": set(),
    "image": set(),  # the Dockerfile's own environment, not .venv
    "image-check": set(),
}
# Provided by the code a target runs: (file, what it must still call to provide it).
IN_CODE: dict[tuple[str, str], tuple[str, str]] = {
    ("level3", DATA): ("level3_system/training/flow.py", "ingestion.ingest("),
    ("validate", DATA): ("level3_system/training/command.py", "ingestion.ingest("),
    ("demo-loop", DATA): ("level3_system/operations/demo.py", "bootstrap.raw_data(settings)"),
    ("demo-loop", CHAMPION): ("level3_system/operations/demo.py", "bootstrap.champion(settings"),
    ("platform", CHAMPION): ("level3_system/operations/platform.py", "bootstrap.champion(settings)"),
    ("bench", CHAMPION): ("benchmarks/bench_serving.py", "bootstrap.champion(settings)"),
    ("bench-scoring", CHAMPION): ("benchmarks/bench_scoring.py", "bootstrap.champion(settings)"),
}


def readme_targets() -> set[str]:
    """The targets of the README's entry-point table (`| `make x …` | … |` rows; `make …` is a variant)."""
    targets = set()
    for line in README.read_text().splitlines():
        if line.startswith("| `make "):
            targets |= set(re.findall(r"`make ([a-z0-9-]+)", line.split("|")[1]))
    return targets


def prerequisites() -> dict[str, set[str]]:
    rules = re.findall(r"^([a-z0-9-]+):([^#\n=]*)##", MAKEFILE.read_text(), flags=re.MULTILINE)
    return {name: set(prereqs.split()) for name, prereqs in rules}


def closure(target: str, rules: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [target]
    while todo:
        for prereq in rules.get(todo.pop(), set()) - seen:
            seen.add(prereq)
            todo.append(prereq)
    return seen


def command_of(target: str) -> str | None:
    """The `python -m level3_system <command>` a target's recipe runs, if any."""
    recipe = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", MAKEFILE.read_text(), flags=re.MULTILINE)
    found = re.search(r"-m level3_system ([a-z-]+)", recipe.group(1)) if recipe else None
    return found.group(1) if found else None


def test_every_readme_target_gets_what_it_needs_as_a_first_command() -> None:
    targets = readme_targets()
    assert {"level1", "serve", "experiment", "demo-loop", "traffic"} <= targets, f"table not read: {targets}"
    assert targets <= NEEDS.keys(), f"README targets with no declared needs here: {targets - NEEDS.keys()}"
    rules = prerequisites()
    gaps = []
    for target in sorted(targets):
        assert target in rules, f"the README names `make {target}`, the Makefile has no such target"
        provided = closure(target, rules)
        command = command_of(target)
        if command is not None:
            provided |= set(COMMANDS[command].needs)
        for need in sorted(NEEDS[target] - provided):
            where = IN_CODE.get((target, need))
            if where is None or where[1] not in (PROJECT_ROOT / where[0]).read_text():
                gaps.append(f"make {target}: nothing provides {need!r}")
    assert not gaps, "\n".join(gaps)


def test_make_help_lists_every_readme_target() -> None:
    shown = subprocess.run(["make", "-s", "help"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    listed = set(re.findall(r"make ([a-z0-9-]+)", shown.stdout))
    assert readme_targets() <= listed, f"make help misses {readme_targets() - listed}"


def test_the_data_need_fetches_into_an_empty_data_root(tmp_path: Path) -> None:
    # What `make experiment` (and synth, traffic) does first on a fresh clone
    from level3_system.operations import bootstrap
    from level3_system.settings import load_settings

    settings = load_settings(data_dir=str(tmp_path / "data"))
    with bootstrap.prepare(settings, COMMANDS["experiment"].needs, {}):
        pass
    raw = tmp_path / "data" / RAW_RELATIVE
    assert raw.is_file(), "the raw file was not fetched"
    assert len(pd.read_csv(raw)) == RAW_ROWS


@pytest.mark.slow
def test_score_on_an_empty_registry_trains_the_first_champion_then_scores(
    raw_frame: pd.DataFrame, tmp_path: Path
) -> None:
    # Given a fresh clone's state: no raw data, an empty registry, no Prefect server
    data, out = tmp_path / "data", tmp_path / "out"
    customers = tmp_path / "customers.csv"
    raw_frame.drop(columns=["churn"]).head(200).to_csv(customers, index=False)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("CHURN_", "MLFLOW_", "PREFECT_"))}
    env = {
        **inherited,
        "CHURN_DATA_DIR": str(data),
        "CHURN_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "CHURN_PREFECT_HOME": str(tmp_path / "prefect"),
    }
    # When `make score` is the first command
    scored = subprocess.run(
        [sys.executable, "-m", "level3_system", "score", str(customers), str(out)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = f"stdout:\n{scored.stdout[-3000:]}\nstderr:\n{scored.stderr[-3000:]}"
    # Then it says it trains the first champion, does, and scores with it
    assert scored.returncode == 0, output
    assert "training the first one" in scored.stdout, output
    assert "→ champion" in scored.stdout, output
    assert (data / RAW_RELATIVE).is_file() and (out / "_SUCCESS").is_file(), output
    predictions = pd.concat(pd.read_parquet(p) for p in sorted((out / "predictions").glob("*.parquet")))
    assert len(predictions) == 200, output
