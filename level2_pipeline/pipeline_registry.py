"""Project pipelines: every folder under `pipelines/` is found by name; `__default__` runs them all.

Kedro 1.7 imports only the pipelines a run asks for, so `find_pipelines` may return a subset: the default
is the sum of whatever was found, which is all of them when `__default__` is requested.
"""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(
        (pipelines[name] for name in ("data_processing", "data_science") if name in pipelines), Pipeline([])
    )
    return pipelines
