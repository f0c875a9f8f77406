"""Typed parameters: conf/base validates, bad values and misspelt keys are refused before any work."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError
from support import CONF_BASE

from level2_pipeline.params import CleanParams, EvaluateParams, ModelParams, SplitParams

# The parameter key each model validates, and the file that holds it.
MODELS = {
    "clean": (CleanParams, "parameters_data_processing.yml"),
    "split": (SplitParams, "parameters_data_science.yml"),
    "model": (ModelParams, "parameters_data_science.yml"),
    "evaluate": (EvaluateParams, "parameters_data_science.yml"),
}


def conf_params(key: str) -> dict[str, Any]:
    return yaml.safe_load((CONF_BASE / MODELS[key][1]).read_text())[key]


@pytest.mark.parametrize("key", MODELS)
def test_conf_base_parameters_validate(key: str) -> None:
    model = MODELS[key][0]

    params = model.model_validate(conf_params(key))

    held = params.model_dump()
    for name, value in conf_params(key).items():
        assert held[name] == value, f"{key}.{name}: conf says {value!r}, the model holds another value"


@pytest.mark.parametrize(
    ("key", "field", "bad"),
    [
        ("split", "test_size", 1.5),
        ("split", "test_size", 0),
        ("split", "random_state", "forty-two"),
        ("model", "C", 0),
        ("model", "max_iter", -1),
        ("evaluate", "threshold", 1.0),
        ("clean", "fill_missing", ["total_charges"]),
    ],
)
def test_bad_value_is_rejected(key: str, field: str, bad: Any) -> None:
    model: type[BaseModel] = MODELS[key][0]

    with pytest.raises(ValidationError, match=field):
        model.model_validate({**conf_params(key), field: bad})


@pytest.mark.parametrize("key", MODELS)
def test_misspelt_key_is_rejected(key: str) -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        MODELS[key][0].model_validate({**conf_params(key), "random_sate": 1})


def test_params_are_frozen() -> None:
    split = SplitParams.model_validate(conf_params("split"))

    with pytest.raises(ValidationError, match="frozen"):
        split.test_size = 0.5
