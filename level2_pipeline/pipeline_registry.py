"""Project pipelines: every folder under `pipelines/` is found by name; `__default__` runs them all."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = pipelines["data_processing"] + pipelines["data_science"]
    return pipelines
