"""The data contract as a typed object.

`conf/base/data_contract.yml` is the single description of a raw row. Level 2 derives its feature lists from
it so that a new column is declared once; level 3 derives its validation suites and API schema from the same
object. Parsing is strict (`extra="forbid"`) so a typo in the YAML fails before any work starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:  # only annotations: `make data` checks a file without paying for pandas (~0.4 s)
    import pandas as pd


class DataContractError(ValueError):
    """Raw data does not have the shape the contract promises (missing columns, ...)."""


class Bounds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min: float
    max: float


class Column(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["id", "target", "numeric", "categorical"]
    dtype: Literal["int", "float", "str"]
    nullable: bool = False
    nullable_when: str | None = None
    unique: bool = False
    min: float | None = None
    max: float | None = None
    categories: list[str] | None = None
    description: str = ""
    example: float | int | str | None = None  # shown in the API's schema; a real value, not a placeholder


class DataContract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    rows: Bounds
    positive_rate: Bounds
    target: str
    positive_class: str
    columns: dict[str, Column] = Field(min_length=2)

    @model_validator(mode="after")
    def _one_target_declared(self) -> DataContract:
        targets = [name for name, col in self.columns.items() if col.role == "target"]
        if targets != [self.target]:
            raise ValueError(f"exactly one column must have role 'target' and be named {self.target!r}")
        categories = self.columns[self.target].categories
        if categories is not None and self.positive_class not in categories:
            raise ValueError(f"positive_class {self.positive_class!r} is not among {categories}")
        return self

    def _with_role(self, role: str) -> list[str]:
        return [name for name, col in self.columns.items() if col.role == role]

    @property
    def id_column(self) -> str | None:
        ids = self._with_role("id")
        return ids[0] if ids else None

    @property
    def numeric_features(self) -> list[str]:
        return self._with_role("numeric")

    @property
    def categorical_features(self) -> list[str]:
        return self._with_role("categorical")

    @property
    def features(self) -> list[str]:
        return [name for name, col in self.columns.items() if col.role in ("numeric", "categorical")]

    def require_columns(self, data: pd.DataFrame, *, with_target: bool = True, with_id: bool = True) -> None:
        """Fail with one line naming every missing column, before any step trips over the first one.

        Training data needs all of them; rows to score (serving) have neither target nor id.
        """
        required = [*([self.id_column] if with_id and self.id_column else []), *self.features]
        required += [self.target] if with_target else []
        missing = [name for name in required if name not in data.columns]
        if missing:
            raise DataContractError(
                f"raw data is missing required column(s): {', '.join(missing)} "
                f"(the data contract in conf/base/data_contract.yml lists them)"
            )
