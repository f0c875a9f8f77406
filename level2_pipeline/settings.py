"""Kedro project settings: https://docs.kedro.org/en/stable/kedro_project_setup/settings.html"""

from level2_pipeline.config import LOADER_ARGS, ProjectConfigLoader, conf_root
from level2_pipeline.hooks import RECORDER, ConfigCheckHook, StepLogHook

HOOKS = (ConfigCheckHook(), RECORDER, StepLogHook())

# Telemetry is off by project (the .telemetry file says consent: false); the viz plugin's dataset-stats hook
# is only useful while kedro-viz runs, which `make viz` does on its own.
DISABLE_HOOKS_FOR_PLUGINS = ("kedro-telemetry", "kedro-viz")

# conf/local (or another environment) overrides conf/base key by key; the data contract is replaced whole
# (level2_pipeline/config.py says why, and holds the loader's arguments: make data and level 3 read them too).
CONFIG_LOADER_CLASS = ProjectConfigLoader
CONFIG_LOADER_ARGS = LOADER_ARGS
# conf/, or the folder CHURN_CONF_ROOT names: `kedro run` and `kedro viz` read the root the project's commands read.
CONF_SOURCE = str(conf_root())
