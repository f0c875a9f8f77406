"""Kedro's configuration loader for `conf/`, outside a Kedro session.

`make data`, level 3 and its service read the same files a Kedro run reads (with the same environments:
`conf/base` < `conf/local` or `--env`), without paying for a session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from level2_pipeline.runner import PROJECT_ROOT


def config_loader(
    env: str | None = None,
    data_dir: Path | str | None = None,
    extra_patterns: dict[str, list[str]] | None = None,
) -> Any:
    from kedro.config import OmegaConfigLoader

    from level2_pipeline.settings import CONFIG_LOADER_ARGS

    args = {
        **CONFIG_LOADER_ARGS,
        "config_patterns": {**CONFIG_LOADER_ARGS["config_patterns"], **(extra_patterns or {})},
    }
    runtime_params = {"data_dir": str(Path(data_dir).resolve())} if data_dir is not None else {}
    return OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), env=env, runtime_params=runtime_params, **args)
