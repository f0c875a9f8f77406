"""Level-3 fixtures: the contract of conf/base, level 2's model input table, and a champion in a registry of its
own (trained by level 2's pipelines, logged, registered and promoted as the flow does, without Prefect).

The flow fixtures (private MLflow stores, the session's Prefect test server, `first_run`) are in
tests/conftest.py, because the cross-level parity test uses the first level-3 run too.

Cost here (2 cores): level 2's pipelines ~3 s, logging a run ~2 s (~10 s for the first: ONNX export and plotting).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from level3_support import Registered, Store, log_and_register, make_settings, train
from support import CONF_BASE

from level2_pipeline.contract import DataContract
from level2_pipeline.params import CleanParams
from level2_pipeline.pipelines.data_processing.nodes import build_features, clean
from level3_system.settings import Level3Settings
from level3_system.training.compose import TrainingOutcome


def conf_base(name: str) -> dict[str, Any]:
    return yaml.safe_load((CONF_BASE / name).read_text())


@pytest.fixture(scope="session")
def contract() -> DataContract:
    """The contract of conf/base (not conf/local): what the project ships."""
    return DataContract.model_validate(conf_base("data_contract.yml")["data_contract"])


@pytest.fixture(scope="session")
def model_input_table(raw_frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """Level 2's model input table of the real raw file, built by its node functions (no Kedro session)."""
    rules = CleanParams.model_validate(conf_base("parameters_data_processing.yml")["clean"])
    return build_features(clean(raw_frame, contract, rules), contract)


@dataclass(frozen=True)
class Champion:
    settings: Level3Settings
    outcome: TrainingOutcome
    registered: Registered

    @property
    def contract(self) -> DataContract:
        return self.outcome.contract


@pytest.fixture(scope="session")
def champion_outcome(new_data_root: Callable[[str], Path], new_store: Callable[[str], Store]) -> TrainingOutcome:
    """The default model, trained once by level 2's pipelines (the holdout is the design's 1,409 rows)."""
    return train(make_settings(new_data_root("champion"), new_store("training_only")))


@pytest.fixture(scope="session")
def champion(champion_outcome: TrainingOutcome, new_store: Callable[[str], Store]) -> Champion:
    """A private registry whose `@champion` is version 1, the default model, logged and promoted as the flow does."""
    settings = make_settings(champion_outcome.raw_path.parents[1], new_store("champion"))
    registered = log_and_register(settings, champion_outcome)
    assert registered.version == "1", f"a fresh registry gave version {registered.version}, not 1"
    assert registered.decision.promote, f"the default model was not promoted: {registered.decision.text}"
    return Champion(settings=settings, outcome=champion_outcome, registered=registered)
