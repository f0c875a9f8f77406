"""Level-3 fixtures of the data: the contract of conf/base and level 2's model input table.

The flow and registry fixtures (private MLflow stores, the session's Prefect test server, `first_run`, the
`champion` registered without Prefect) are in tests/conftest.py: tests outside tests/level3 use them too.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
import yaml
from support import CONF_BASE

from level2_pipeline.contract import DataContract
from level2_pipeline.params import CleanParams
from level2_pipeline.pipelines.data_processing.nodes import build_features, clean


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
