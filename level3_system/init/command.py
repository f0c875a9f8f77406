"""`make init DATA=file.csv TARGET=column ENV=name`: write `conf/<name>/` from a CSV file, and say what to review.

The command reads the file, infers a contract (or refuses with one line), measures a promotion floor, renders
the five conf files into a staged folder, loads them through the project's own loaders (what `make level3`
will read), copies the raw file where the new catalog points, and only then renames the folder into place: bad
input writes nothing, and an existing `conf/<name>/` is replaced only with `--force` (FORCE=1).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from level2_pipeline.config import check_parameters, conf_root, config_loader
from level2_pipeline.contract import DataContract
from level2_pipeline.ingestion import sha256_of
from level2_pipeline.params import CleanParams, ModelParams, SplitParams
from level2_pipeline.project import PROJECT_ROOT, shown
from level3_system.init import write
from level3_system.init.baseline import Baseline, measure
from level3_system.init.infer import Inference, InitRefused, infer
from level3_system.settings import Level3Settings, load_settings

_ENV = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
RESERVED = ("base", "local")  # conf/base is the project's; conf/local is the default run's overrides
FILES = ("data_contract.yml", "parameters_ingestion.yml", "parameters_data_processing.yml", "catalog.yml", "level3.yml")


def _checked_env(env: str | None) -> str:
    if not env:
        raise InitRefused("give ENV=name: the environment conf/<name>/ to write (make init DATA=… TARGET=… ENV=…)")
    if not _ENV.match(env) or env in RESERVED:
        raise InitRefused(f"ENV={env}: use a name of its own (letters, digits, _ and -; not {' or '.join(RESERVED)})")
    return env


def read_csv(data: str) -> pd.DataFrame:
    """The file as `make data` reads it (pandas' defaults), or one line saying why it cannot be read."""
    path = Path(data).expanduser()
    if not path.is_file():
        raise InitRefused(f"DATA={data}: {'a folder, not a file' if path.is_dir() else 'no such file'}")
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise InitRefused(f"DATA={data}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InitRefused(f"DATA={data}: not a CSV file ({' '.join(str(exc).split())[:120]})") from None


def _source(data: str) -> str:
    """The path for ingestion.csv: relative inside the project (ingestion resolves it so), else absolute."""
    path = Path(data).expanduser().resolve()
    return path.relative_to(PROJECT_ROOT).as_posix() if path.is_relative_to(PROJECT_ROOT) else str(path)


def _stage_raw(frame: pd.DataFrame, target: Path, force: bool) -> tuple[Path, str]:
    """The raw file as `make data` would write it, beside its target (renamed into place at the end)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}-", suffix=".csv.tmp")
    staged = Path(name)
    with open(handle, "wb") as stream:
        frame.to_csv(stream, index=False, lineterminator="\n")
    digest = sha256_of(staged)
    if target.exists() and not force and sha256_of(target) != digest:
        staged.unlink()
        raise InitRefused(f"{shown(target)} exists with other content: choose another ENV, or FORCE=1 to replace it")
    return staged, digest


def _check_loads(env: str, settings: Level3Settings, contract: DataContract, raw: Path) -> None:
    """The staged files through the loaders `make level3` uses: a bad value would be one line there, so here."""
    loader = config_loader(env, settings.data_root)
    parameters = loader["parameters"]
    check_parameters(parameters, env=env)
    if DataContract.model_validate(parameters["data_contract"]) != contract:
        raise AssertionError("the written data_contract.yml does not read back as the inferred contract")
    if Path(loader["catalog"]["raw_telco_churn"]["filepath"]) != raw:
        raise AssertionError(f"the written catalog does not point at {raw}")
    load_settings(kedro_env=env)


def _render(
    env: str, inference: Inference, baseline: Baseline, base: dict[str, Any], raw: dict[str, Any]
) -> dict[str, str]:
    source = Path(raw["csv"]).name
    texts = (
        write.data_contract(inference, source),
        write.ingestion(env, raw["csv"], raw["rename"], inference.rows, raw["sha256"]),
        write.processing(inference, list((base.get("clean") or {}).get("fill_missing") or {})),
        write.catalog(env),
        write.level3(env, inference, baseline, source),
    )
    return dict(zip(FILES, texts, strict=True))


def init(
    settings: Level3Settings,
    data: str,
    target: str,
    force: bool = False,
    id: str | None = None,  # the CLI's option name (make init ID=...)
    positive: str | None = None,
    env: str | None = None,
) -> int:
    env = _checked_env(env)
    folder = conf_root() / env
    if folder.exists() and not force:
        raise InitRefused(f"{shown(folder)} exists: choose another ENV, or FORCE=1 (--force) to replace it")
    frame = read_csv(data)
    raw_path = settings.data_root / "01_raw" / f"{env}.csv"
    staged = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f"_init-{env}-"))  # not hidden: Kedro skips dot-folders
    staged.chmod(0o755)  # mkdtemp's is private; conf/ folders are not
    staged_raw: Path | None = None
    try:
        loader = config_loader(staged.name, settings.data_root)  # conf/base's alone: nothing is staged yet
        base = dict(loader["parameters"])
        if Path(loader["catalog"]["raw_telco_churn"]["filepath"]) == raw_path:
            raise InitRefused(f"ENV={env}: its raw file would be conf/base's ({shown(raw_path)}): choose another name")
        rename = dict(base["ingestion"].get("rename") or {})
        renamed = [f"`{old}` is `{new}` (conf/base's ingestion.rename)" for old, new in rename.items() if old in frame]
        frame = frame.rename(columns=rename)
        identifier = rename.get(id, id) if id else None
        inference = infer(frame, rename.get(target, target), name=env, id_column=identifier, positive=positive)
        contract = DataContract.model_validate(inference.contract)
        clean = CleanParams(fill_missing={name: rule.value for name, rule in inference.fill.items()})
        baseline = measure(
            frame, contract, clean, ModelParams.model_validate(base["model"]), SplitParams.model_validate(base["split"])
        )
        staged_raw, digest = _stage_raw(frame, raw_path, force)
        raw = {"csv": _source(data), "rename": rename, "sha256": digest}
        write.write_files(staged, _render(env, inference, baseline, base, raw))
        _check_loads(staged.name, settings, contract, raw_path)
        staged_raw.replace(raw_path)
        raw_path.with_name(raw_path.name + ".meta.json").unlink(missing_ok=True)  # recorded again on first use
        write.install(staged, folder)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
        if staged_raw is not None:
            staged_raw.unlink(missing_ok=True)
    _report(env, data, inference, baseline, raw_path, digest, renamed)
    return 0


def _report(
    env: str, data: str, inference: Inference, baseline: Baseline, raw: Path, digest: str, renamed: list[str]
) -> None:
    contract = inference.contract
    print(f"init: {shown(conf_root() / env)}/ from {data} ({inference.rows} rows, {len(contract['columns'])} columns)")
    for line in inference.described:
        print(f"  {line}")
    rows, rate = contract["rows"], contract["positive_rate"]
    observed = inference.positive_rate
    print(f"  rows {rows['min']}–{rows['max']}, positive rate {rate['min']}–{rate['max']} (observed {observed:.3f})")
    print(f"  min_roc_auc {baseline.floor:.2f}: {baseline.describe()}")
    print(f"  raw file {shown(raw)} (sha256 {digest[:12]}…)")
    print(f"  written {', '.join(FILES)}")
    print("review before you train (then edit the files; FORKING.md, 'Start with make init'):")
    for note in [*renamed, *inference.review, "promotion: no invariance/directional check (level3.yml says how)"]:
        print(f"  - {note}")
    print(f"next: make level3 KEDRO_ENV={env}, then make serve KEDRO_ENV={env}")
