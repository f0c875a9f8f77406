"""Run the Kedro pipelines from Python: what `make level2` and level 3 call.

`kedro run` works too, but goes through the CLI's plugin discovery; this path opens one session directly
(~2 s less here) and turns the errors a user can fix into one line instead of a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from level2_pipeline.errors import UserFacingError, explain
from level2_pipeline.project import PROJECT_ROOT

__all__ = ["RunOutputs", "UserFacingError", "explain", "run"]


class RunOutputs:
    """The outputs of one run, in memory, with the run's catalog for anything the run did not produce."""

    def __init__(self, context: Any, outputs: dict[str, Any]) -> None:
        self.context = context
        self.outputs = dict(outputs)

    @property
    def params(self) -> dict[str, Any]:
        """The run's parameters as its nodes received them (validated: typed models where nodes ask for them)."""
        return self.context.params

    def load(self, name: str) -> Any:
        if name in self.outputs:
            return self.outputs[name]
        if name == "parameters":
            return self.params
        return self.context.catalog.load(name)

    def exists(self, name: str) -> bool:
        return name in self.outputs or self.context.catalog.exists(name)


_bootstrapped: list[Path] = []  # the project Kedro is set up for in this process (one at a time)


def bootstrap(project_path: Path = PROJECT_ROOT) -> None:
    """Kedro's project setup, once per process while the project stays the same (`kedro run` does it once too).

    Its settings loader walks the call stack and scans `sys.modules` for every frame: in a level-3 process
    (~5,000 modules imported) that is ~0.4 s a call here, paid again by each pipeline a flow runs. Nothing it sets
    depends on the run: the session is given its configuration root, environment and parameters itself.
    """
    resolved = Path(project_path).resolve()
    if _bootstrapped != [resolved]:
        from kedro.framework.startup import bootstrap_project

        bootstrap_project(resolved)
        _bootstrapped[:] = [resolved]


def _runtime_params(data_dir: Path | str | None, extra: dict[str, Any] | None) -> dict[str, Any]:
    params = dict(extra or {})
    if data_dir is not None:
        params["data_dir"] = str(Path(data_dir).resolve())
    return params


def run(
    pipelines: Iterable[str] = ("__default__",),
    *,
    env: str | None = None,
    data_dir: Path | str | None = None,
    runtime_params: dict[str, Any] | None = None,
    project_path: Path = PROJECT_ROOT,
    node_names: Iterable[str] = (),
    from_nodes: Iterable[str] = (),
) -> Any:
    """Run the named pipelines in one Kedro session; returns what they produced (`RunOutputs.load(name)`).

    `node_names` / `from_nodes` slice them as `kedro run --nodes / --from-nodes` do: level 3 runs level 2's `split`,
    adds the outcomes that arrived to the training split, then runs from `train` on (the catalog hands over).
    """
    # The project's logging (one line per node) from any working directory; a caller's choice wins.
    os.environ.setdefault("KEDRO_LOGGING_CONFIG", str(PROJECT_ROOT / "conf" / "logging.yml"))
    from kedro.framework.session import KedroSession

    from level2_pipeline.config import check_env, conf_root
    from level2_pipeline.hooks import RECORDER

    check_env(env)
    bootstrap(project_path)
    params = _runtime_params(data_dir, runtime_params)
    try:
        with KedroSession.create(
            project_path=project_path, env=env, runtime_params=params, conf_source=str(conf_root())
        ) as session:
            session.run(
                pipeline_names=list(pipelines), node_names=list(node_names) or None, from_nodes=list(from_nodes) or None
            )
            return RunOutputs(RECORDER.context, RECORDER.outputs)
    except Exception as exc:
        message = explain(exc)
        if message is None:
            raise
        raise UserFacingError(message) from exc
