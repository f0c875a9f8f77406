"""Typed parameters, declared once.

Kedro validates `conf/base/parameters_*.yml` against these models before a run starts (nodes type-hint
them), and level 3 reuses them; a misspelt key fails fast instead of silently falling back to a default.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CleanParams(_Params):
    fill_missing: dict[str, float | int | str] = Field(default_factory=dict)

    @field_validator("fill_missing", mode="before")
    @classmethod
    def _none_is_no_rule(cls, value: Any) -> Any:
        """`fill_missing: null` in an environment drops base's rules (environments merge key by key)."""
        return {} if value is None else value


class SplitParams(_Params):
    test_size: float = Field(gt=0, lt=1)
    random_state: int
    stratify: bool = True


class ModelParams(_Params):
    C: float = Field(gt=0)
    max_iter: int = Field(gt=0)


class EvaluateParams(_Params):
    threshold: float = Field(gt=0, lt=1)
