"""`make init` refuses, with one line naming the column and the fix, what no sound contract describes.

Each case changes one thing in a small valid frame (`customers()`), so the refusal is the one that case is about.
Command-level refusals (the file, ENV, an existing conf/) also leave nothing behind.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from init_support import customers
from support import environment_without, tree_snapshot

from level2_pipeline.config import conf_root
from level2_pipeline.errors import explain
from level2_pipeline.project import PROJECT_ROOT
from level3_system.init.command import init
from level3_system.init.infer import InitRefused, infer
from level3_system.settings import Level3Settings


def _with(**columns: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda frame: frame.assign(**columns)


def _separating(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(score=np.where(frame["churn"] == "yes", 10.0, 0.0) + np.linspace(0, 1, len(frame)))


# (case, change to the valid frame, infer's keyword arguments, what the one line must say)
CASES = [
    ("target missing", lambda f: f, {"target": "cancelled"}, "TARGET=cancelled: no such column"),
    ("target not binary", _with(churn=lambda f: np.resize(["no", "yes", "maybe"], len(f))), {}, "needs two"),
    ("ambiguous target", _with(churn=lambda f: f["churn"].map({"yes": "left", "no": "stayed"})), {}, "POSITIVE="),
    ("positive not a value", lambda f: f, {"positive": "Yes"}, "POSITIVE=Yes: not a value of `churn`"),
    ("0/1 target", _with(churn=lambda f: (f["churn"] == "yes").astype(int)), {}, "is read as 0/1"),
    ("gaps in the target", lambda f: f.assign(churn=f["churn"].where(f.index > 2)), {}, "has 3 gaps"),
    ("a gap in the target", lambda f: f.assign(churn=f["churn"].where(f.index > 0)), {}, "has 1 gap: drop"),
    ("constant column", _with(country="NL"), {}, "`country` has one value ('NL')"),
    ("empty column", _with(notes=np.nan), {}, "`notes` is empty"),
    ("ID not unique", lambda f: f, {"id_column": "plan"}, "ID=plan is not unique per row"),
    ("ID unknown", lambda f: f, {"id_column": "account"}, "ID=account: no such column"),
    ("free text", _with(comment=lambda f: [f"called on day {i}" for i in range(len(f))]), {}, "free text"),
    ("text of numbers", _with(spend=lambda f: [str(i) for i in range(len(f) - 1)] + ["n/a"]), {}, "numbers"),
    ("equals the target", _with(churned=lambda f: f["churn"]), {}, "`churned` equals the target"),
    ("determines the target", _with(status=lambda f: f["churn"].map({"yes": "gone", "no": "active"})), {}, "perfectly"),
    ("separates the classes", _separating, {}, "`score` separates the classes"),
    ("true/false column", _with(promo=lambda f: f.index % 2 == 0), {}, "`promo` is read as true/false"),
    ("too few rows", lambda f: f.head(50), {}, "50 rows: too few"),
    ("not identifiers", lambda f: f.rename(columns={"plan": "price plan"}), {}, "'price plan'"),
]


@pytest.mark.parametrize(("change", "kwargs", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refuses_with_one_line(change: Callable[..., pd.DataFrame], kwargs: dict[str, str], says: str) -> None:
    frame = change(customers())
    arguments = {"target": "churn", **kwargs}

    with pytest.raises(InitRefused) as refused:
        infer(frame, arguments.pop("target"), name="refused", **arguments)

    message = explain(refused.value)
    assert message is not None and "\n" not in message, f"not one line: {message!r}"
    assert says in message, f"the refusal does not say {says!r}: {message}"


def test_a_refusal_writes_nothing(env_name: str, settings: Level3Settings, write_csv: Callable[..., Path]) -> None:
    source = write_csv(customers().assign(churned=lambda f: f["churn"]))
    before = tree_snapshot(conf_root())  # the test's own root: nothing else writes there meanwhile
    with pytest.raises(InitRefused, match="equals the target"):
        init(settings, str(source), "churn", env=env_name)

    # init writes its env and, while it works, a staging folder `_init-<env>-*`: neither is left, nothing changed.
    left = sorted(p.name for p in conf_root().iterdir() if p.name == env_name or p.name.startswith("_init-"))
    assert left == [], f"a refused init left {left} in its configuration root"
    assert tree_snapshot(conf_root()) == before, "a refused init changed the configuration root"
    assert not settings.data_root.exists() or not any(settings.data_root.rglob("*.csv")), "a raw copy was written"


@pytest.mark.parametrize(
    ("data", "env", "says"),
    [
        ("missing.csv", "ok", "no such file"),
        ("binary.csv", "ok", "not a CSV file"),
        ("input.csv", None, "give ENV=name"),
        ("input.csv", "base", "ENV=base: use a name of its own"),
        ("input.csv", "../up", "ENV=../up: use a name of its own"),
    ],
)
def test_refuses_a_bad_file_or_env(
    data: str, env: str | None, says: str, settings: Level3Settings, write_csv: Callable[..., Path], tmp_path: Path
) -> None:
    write_csv(customers())
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)) * 8)

    with pytest.raises(InitRefused, match=re.escape(says)):
        init(settings, str(tmp_path / data), "churn", env=env)


def test_an_existing_conf_is_kept_unless_forced(
    env_name: str, settings: Level3Settings, write_csv: Callable[..., Path]
) -> None:
    first = write_csv(customers(seed=0), "first.csv")
    second = write_csv(customers(seed=1), "second.csv")
    assert init(settings, str(first), "churn", env=env_name) == 0
    written = tree_snapshot(conf_root() / env_name)

    with pytest.raises(InitRefused, match=f"conf/{env_name} exists: choose another ENV, or FORCE=1"):
        init(settings, str(second), "churn", env=env_name)
    assert tree_snapshot(conf_root() / env_name) == written, "a refused init changed the existing conf/"

    assert init(settings, str(second), "churn", env=env_name, force=True) == 0
    assert tree_snapshot(conf_root() / env_name) != written, "--force did not replace the conf/"
    assert not list(conf_root().glob(f"*{env_name}*replaced*")) and not list(conf_root().glob(f"_init-{env_name}-*"))


def test_another_raw_file_of_the_same_name_is_kept_unless_forced(
    env_name: str, settings: Level3Settings, write_csv: Callable[..., Path]
) -> None:
    raw = settings.data_root / "01_raw" / f"{env_name}.csv"
    raw.parent.mkdir(parents=True)
    raw.write_text("someone,else\n1,2\n")

    with pytest.raises(InitRefused, match="exists with other content"):
        init(settings, str(write_csv(customers())), "churn", env=env_name)

    assert raw.read_text() == "someone,else\n1,2\n" and not (conf_root() / env_name).exists()


def test_the_command_line_exits_1_with_one_line(tmp_path: Path) -> None:
    """What `make init` shows: `level 3 failed: <why>` on stderr, exit 1 (as every level-3 command's refusal)."""
    env = environment_without("CHURN_", "MLFLOW_", "PREFECT_")
    env |= {"CHURN_DATA_DIR": str(tmp_path / "data"), "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    completed = subprocess.run(
        [sys.executable, "-m", "level3_system", "init", str(tmp_path / "none.csv"), "churn", "--env", "pytest-x"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert completed.returncode == 1, completed.stderr
    assert lines == [f"level 3 failed: DATA={tmp_path / 'none.csv'}: no such file"], completed.stderr
