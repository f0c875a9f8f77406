"""The data contract (conf/base/data_contract.yml) as a typed, strict object."""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd
import pytest
import yaml
from pydantic import ValidationError
from support import CONF_BASE

from level2_pipeline.contract import DataContract, DataContractError
from level2_pipeline.ingestion import load_config


@pytest.fixture(scope="module")
def contract_yaml() -> dict[str, Any]:
    return yaml.safe_load((CONF_BASE / "data_contract.yml").read_text())["data_contract"]


@pytest.fixture
def contract_dict(contract_yaml: dict[str, Any]) -> dict[str, Any]:
    """A fresh copy of the YAML's content, free to edit."""
    return copy.deepcopy(contract_yaml)


def roles_in_yaml_order(contract_yaml: dict[str, Any], *roles: str) -> list[str]:
    return [name for name, column in contract_yaml["columns"].items() if column["role"] in roles]


def test_conf_contract_parses_into_feature_lists_in_file_order(contract_yaml: dict[str, Any]) -> None:
    contract = DataContract.model_validate(contract_yaml)

    assert contract.numeric_features == roles_in_yaml_order(contract_yaml, "numeric")
    assert contract.categorical_features == roles_in_yaml_order(contract_yaml, "categorical")
    assert contract.features == roles_in_yaml_order(contract_yaml, "numeric", "categorical")
    assert contract.numeric_features and contract.categorical_features, "a feature list is empty"
    assert (contract.target, contract.positive_class) == ("churn", "Yes"), "design.md: target churn, positive Yes"
    assert contract.id_column == "customer_id"
    assert contract.target not in contract.features and contract.id_column not in contract.features


def test_kedro_reads_the_same_contract_as_the_file(contract_yaml: dict[str, Any], tmp_path) -> None:
    # settings.py adds data_contract* to the parameters patterns: nodes get it as params:data_contract
    assert load_config(data_dir=tmp_path).contract == DataContract.model_validate(contract_yaml)


def test_unknown_top_level_key_is_rejected(contract_dict: dict[str, Any]) -> None:
    contract_dict["targte"] = "churn"

    with pytest.raises(ValidationError, match="targte"):
        DataContract.model_validate(contract_dict)


def test_unknown_column_key_is_rejected(contract_dict: dict[str, Any]) -> None:
    contract_dict["columns"]["tenure"]["nulable"] = True

    with pytest.raises(ValidationError, match="nulable"):
        DataContract.model_validate(contract_dict)


def test_contract_without_target_column_is_rejected(contract_dict: dict[str, Any]) -> None:
    del contract_dict["columns"][contract_dict["target"]]

    with pytest.raises(ValidationError, match="role 'target'"):
        DataContract.model_validate(contract_dict)


def test_contract_without_target_key_is_rejected(contract_dict: dict[str, Any]) -> None:
    del contract_dict["target"]

    with pytest.raises(ValidationError, match="target"):
        DataContract.model_validate(contract_dict)


def test_second_target_column_is_rejected(contract_dict: dict[str, Any]) -> None:
    contract_dict["columns"]["partner"]["role"] = "target"

    with pytest.raises(ValidationError, match="exactly one column"):
        DataContract.model_validate(contract_dict)


def test_positive_class_outside_the_target_categories_is_rejected(contract_dict: dict[str, Any]) -> None:
    contract_dict["positive_class"] = "yes"

    with pytest.raises(ValidationError, match="positive_class"):
        DataContract.model_validate(contract_dict)


def test_unknown_role_is_rejected(contract_dict: dict[str, Any]) -> None:
    contract_dict["columns"]["tenure"]["role"] = "feature"

    with pytest.raises(ValidationError, match="role"):
        DataContract.model_validate(contract_dict)


def test_require_columns_names_every_missing_column(contract_yaml: dict[str, Any]) -> None:
    contract = DataContract.model_validate(contract_yaml)
    present = [c for c in contract_yaml["columns"] if c not in ("tenure", "payment_method", "churn")]

    with pytest.raises(DataContractError) as caught:
        contract.require_columns(pd.DataFrame(columns=present))

    for column in ("tenure", "payment_method", "churn"):
        assert column in str(caught.value), f"{column} not named in: {caught.value}"


def test_require_columns_without_target_accepts_unlabelled_rows(contract_yaml: dict[str, Any]) -> None:
    contract = DataContract.model_validate(contract_yaml)
    unlabelled = pd.DataFrame(columns=contract.features)

    contract.require_columns(unlabelled, with_target=False, with_id=False)  # serving rows: no label, no id

    with pytest.raises(DataContractError, match="churn"):
        contract.require_columns(unlabelled)
