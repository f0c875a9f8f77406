"""Kedro's configuration for `conf/`: how environments merge, and one-line errors naming the file and key.

Merging: `conf/local/` (or another environment such as `conf/mlc/`) overrides `conf/base/` **key by key** for
parameters and the level-3 settings (Kedro's soft merge), so a user who changes `model.C` keeps `max_iter`. Two
exceptions: the data contract is replaced whole (two contracts' columns merged would describe data nobody has),
and a key set to `null` removes the base value (`clean.fill_missing: null` in a fork with no gaps).

`make data`, level 3 and its service read the same files a Kedro run reads without paying for a session
(`config_loader`). Every parameter is checked against its typed model before work starts (`check_parameters`,
also run by a Kedro hook for `kedro run`): a bad value stops with one line such as
`conf/local/parameters_data_science.yml: model.C: expected greater than 0, found -1`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from kedro.config import OmegaConfigLoader
from pydantic import BaseModel, ValidationError

from level2_pipeline.errors import ConfigError, describe_invalid
from level2_pipeline.project import PROJECT_ROOT, shown

# The folder holding base/ and the environments: the project's conf/, or the one this variable names (a team's
# configuration kept outside the code, a test's own). The logging files stay the project's.
CONF_ROOT_VARIABLE = "CHURN_CONF_ROOT"
# Kedro's loader arguments (settings.py hands them to Kedro as CONFIG_LOADER_ARGS; everything outside a session
# reads them here): environments merge key by key, the data contract is read as parameters.
LOADER_ARGS: dict[str, Any] = {
    "base_env": "base",
    "default_run_env": "local",
    "config_patterns": {
        # The data contract is read as parameters so nodes receive it as `params:data_contract`.
        "parameters": ["parameters*", "parameters*/**", "**/parameters*", "data_contract*"],
        "level3": ["level3*", "level3/**"],
    },
    "merge_strategy": {"parameters": "soft", "level3": "soft"},
}
# Top-level keys an environment replaces whole instead of merging into base's.
REPLACED_WHOLE = {"parameters": ("data_contract",)}


class ProjectConfigLoader(OmegaConfigLoader):
    """Kedro's loader, with the data contract replaced whole even where the rest merges softly."""

    def _merge_configs(self, config: dict[str, Any], env_config: dict[str, Any], key: str, env_path: str) -> Any:
        whole = {name: env_config[name] for name in REPLACED_WHOLE.get(key, ()) if name in env_config}
        rest = {name: value for name, value in env_config.items() if name not in whole}
        merged = super()._merge_configs(config, rest, key, env_path)
        merged.update(whole)
        return merged


def conf_root() -> Path:
    """Read at each use (not at import), so that a command, a Kedro session and a test see the same root."""
    value = os.environ.get(CONF_ROOT_VARIABLE)
    return Path(value).expanduser().resolve() if value else PROJECT_ROOT / "conf"


def config_loader(
    env: str | None = None,
    data_dir: Path | str | None = None,
    extra_patterns: dict[str, list[str]] | None = None,
) -> OmegaConfigLoader:
    """The loader a Kedro session of `env` would use (base < local, or base < env), outside a session."""
    args = {
        **LOADER_ARGS,
        "config_patterns": {**LOADER_ARGS["config_patterns"], **(extra_patterns or {})},
    }
    check_env(env)
    runtime_params = {"data_dir": str(Path(data_dir).resolve())} if data_dir is not None else {}
    return ProjectConfigLoader(conf_source=str(conf_root()), env=env, runtime_params=runtime_params, **args)


def check_env(env: str | None) -> None:
    """An environment with no folder stops with one line (Kedro's own error is a traceback): a typo in
    KEDRO_ENV, or a fork not yet written."""
    root = conf_root()
    if not (root / "base").is_dir():
        raise ConfigError(
            f"{CONF_ROOT_VARIABLE}={os.environ.get(CONF_ROOT_VARIABLE)}: no base/ folder there; "
            "point it at a folder laid out as conf/ is (base/ and the environments), or unset it"
        )
    if env is None or (root / env).is_dir():
        return
    envs = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name[0].isalnum() and p.name != "base")
    raise ConfigError(
        f"environment {env!r} not found: {shown(root)}/ has {', '.join(envs) or 'base only'}; "
        f"check the name, or write it with `make init DATA=file.csv TARGET=column ENV={env}`"
    )


def run_env(env: str | None) -> str:
    return env or str(LOADER_ARGS["default_run_env"])


def _files(folder: Path, patterns: list[str]) -> list[Path]:
    found = {p for pattern in patterns for p in folder.glob(pattern) if p.suffix in (".yml", ".yaml", ".json")}
    return sorted(found)


def _holds(path: Path, keys: tuple[Any, ...]) -> int:
    """How many leading keys of `keys` the file's YAML holds (0: not even the first)."""
    try:
        node: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return 0
    depth = 0
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            break
        node, depth = node[key], depth + 1
    return depth


def locate(keys: tuple[Any, ...], patterns: list[str], env: str | None = None) -> str:
    """`conf/local/parameters_data_science.yml: model.C`: the file that sets a key (the run environment's first,
    then base's), or that holds the deepest part of its path when the key itself is missing."""
    dotted = ".".join(str(k) for k in keys)
    whole = {name for names in REPLACED_WHOLE.values() for name in names}
    best: tuple[int, Path | None] = (0, None)
    root = conf_root()
    for folder in (root / run_env(env), root / "base"):
        for path in _files(folder, patterns):
            depth = _holds(path, keys)
            # An environment that replaces a key whole is where all of that key's values come from.
            if depth == len(keys) or (depth and keys[0] in whole and folder.name != "base"):
                return f"{shown(path)}: {dotted}"
            if depth > best[0]:
                best = (depth, path)
    where = shown(best[1]) if best[1] is not None else f"{shown(root)}/{{base,{run_env(env)}}}"
    return f"{where}: {dotted}"


def parameter_models() -> dict[str, type[BaseModel]]:
    """The typed model of each top-level parameter key: what `check_parameters` validates."""
    from level2_pipeline.contract import DataContract
    from level2_pipeline.params import CleanParams, EvaluateParams, IngestionParams, ModelParams, SplitParams

    return {
        "data_contract": DataContract,
        "ingestion": IngestionParams,
        "clean": CleanParams,
        "split": SplitParams,
        "model": ModelParams,
        "evaluate": EvaluateParams,
    }


def check_parameters(
    parameters: dict[str, Any],
    env: str | None = None,
    keys: tuple[str, ...] | None = None,
    runtime: dict[str, Any] | None = None,
) -> None:
    """Validate the parameters (all known keys, or `keys`) against their models; ConfigError names file and key.

    `runtime` holds the run's runtime parameters (`kedro run --params`, level 3's): a key set there is named so.
    """
    patterns = list(LOADER_ARGS["config_patterns"]["parameters"])

    def where(loc: tuple[Any, ...]) -> str:
        if _holds_path(runtime or {}, loc):
            return f"runtime parameter (--params) {'.'.join(str(k) for k in loc)}"
        return locate(loc, patterns, env)

    errors: list[dict[str, Any]] = []
    for key, model in parameter_models().items():
        if (keys is not None and key not in keys) or key not in parameters:
            continue
        try:
            model.model_validate(parameters[key])
        except ValidationError as exc:
            errors += [{**e, "loc": (key, *e["loc"])} for e in exc.errors()]
    errors += _unknown_fill_columns(parameters)
    if errors:
        raise ConfigError(describe_invalid(errors, where))


def _holds_path(tree: dict[str, Any], keys: tuple[Any, ...]) -> bool:
    node: Any = tree
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return bool(keys)


def _unknown_fill_columns(parameters: dict[str, Any]) -> list[dict[str, Any]]:
    """A fill rule for a column the contract does not have: left over from base's rules in a fork, most likely."""
    rules = (parameters.get("clean") or {}).get("fill_missing") or {}
    columns = ((parameters.get("data_contract") or {}).get("columns")) or {}
    if not isinstance(rules, dict) or not isinstance(columns, dict) or not columns:
        return []
    return [
        {
            "loc": ("clean", "fill_missing", name),
            "type": "value_error",
            "msg": "a column of the data contract (set clean.fill_missing to null to drop base's rules)",
            "input": name,
        }
        for name, fill in rules.items()
        if name not in columns and fill is not None  # null: a base rule this environment drops
    ]


def load_parameters(env: str | None = None, data_dir: Path | str | None = None) -> dict[str, Any]:
    """All parameters of the environment (`conf/base` merged with `conf/<env>`), contract included, checked."""
    parameters = dict(config_loader(env, data_dir)["parameters"])
    check_parameters(parameters, env=env)
    return parameters


def load_contract_and_clean(env: str | None = None) -> tuple[Any, Any]:
    """Today's data contract and cleaning rules in conf/ (typed): what level 3 trains with."""
    from level2_pipeline.contract import DataContract
    from level2_pipeline.params import CleanParams

    parameters = load_parameters(env)
    return DataContract.model_validate(parameters["data_contract"]), CleanParams.model_validate(
        parameters.get("clean") or {}
    )


def load_contract(env: str | None = None) -> Any:
    """Today's data contract of the environment (typed)."""
    return load_contract_and_clean(env)[0]


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` on `base`, mapping by mapping (how Kedro applies runtime parameters to conf/'s)."""
    result = dict(base)
    for key, value in override.items():
        result[key] = (
            merged(result[key], value) if isinstance(value, dict) and isinstance(result.get(key), dict) else value
        )
    return result


def check_run_parameters(env: str | None, data_dir: Path | str | None, runtime: dict[str, Any]) -> None:
    """What a run with these runtime parameters will use, checked before it starts (ConfigError: one line)."""
    parameters = config_loader(env, data_dir)["parameters"]
    check_parameters(merged(parameters, runtime), env=env, runtime=runtime)
