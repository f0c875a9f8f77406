"""The levels' preprocessing (`StandardScaler` on the numeric columns, one-hot on the categorical ones) read out of
a fitted pipeline, so that a fast path can apply it without sklearn's per-call cost.

Both fast paths that reproduce the pipeline exactly start here: the linear fold turns it into weights, the tree
fold into the same float64 matrix the classifier was fitted on. Only this shape is folded; any other pipeline
goes to ONNX or stays on sklearn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


def scaler_onehot(model: Any) -> tuple[Any, list[str], Any, list[str], Any] | None:
    """(scaler, numeric columns, encoder, categorical columns, classifier) of a two-step
    `Pipeline(ColumnTransformer([StandardScaler, OneHotEncoder(handle_unknown="ignore")]), classifier)`, else None."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    steps = getattr(model, "steps", None)
    if not steps or len(steps) != 2:
        return None
    (_, preprocess), (_, classifier) = steps
    if not isinstance(preprocess, ColumnTransformer) or preprocess.remainder != "drop":
        return None
    fitted = [(t, list(cols)) for _, t, cols in getattr(preprocess, "transformers_", []) if t != "drop"]
    if [type(t) for t, _ in fitted] != [StandardScaler, OneHotEncoder]:
        return None
    (scaler, numeric), (encoder, categorical) = fitted
    if encoder.handle_unknown != "ignore" or encoder.drop is not None or not (scaler.with_mean and scaler.with_std):
        return None
    return scaler, numeric, encoder, categorical, classifier


def category_codes(values: pd.Series, keys: list[str]) -> np.ndarray:
    """Each value's position in `keys`, `len(keys)` for an unknown or missing one. Arrow's `index_in` on the
    string column: ~8× faster than `Series.map(dict)` on a 500 k-row batch partition."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not text (numbers in a categorical column): compare as text
        text = pa.array(values.astype(str).where(values.notna()), type=pa.string(), from_pandas=True)
    found = pc.index_in(text, value_set=pa.array(keys, type=pa.string())).fill_null(len(keys))
    return found.to_numpy(zero_copy_only=False)


@dataclass(frozen=True)
class ColumnFold:
    """The fitted preprocessing as numbers: per numeric column its mean and scale, per categorical column its
    categories in the encoder's order. `matrix` is the ColumnTransformer's dense output, bit for bit."""

    numeric: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    categorical: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, model: Any) -> ColumnFold | None:
        blocks = scaler_onehot(model)
        if blocks is None:
            return None
        scaler, numeric, encoder, categorical, _ = blocks
        return cls(
            numeric=tuple(numeric),
            mean=tuple(float(m) for m in scaler.mean_),
            scale=tuple(float(s) for s in scaler.scale_),
            categorical=tuple(categorical),
            categories=tuple(tuple(str(c) for c in cats) for cats in encoder.categories_),
        )

    @property
    def columns(self) -> list[tuple[str, str | None]]:
        """What each matrix column is: (numeric column, None) or (categorical column, category)."""
        out: list[tuple[str, str | None]] = [(name, None) for name in self.numeric]
        for name, cats in zip(self.categorical, self.categories, strict=True):
            out += [(name, c) for c in cats]
        return out

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """(x - mean) / scale in float64, as `StandardScaler.transform` computes it, then the one-hot blocks
        (an unknown category: all zeros, as `handle_unknown="ignore"`).

        Column-major: every column is written in one contiguous pass (1.7× faster than row-major on 300 k rows),
        and both native predictors read it without a copy (LightGBM takes Fortran order as its column-major)."""
        out = np.empty((len(frame), len(self.columns)), dtype=np.float64, order="F")
        for j, name in enumerate(self.numeric):
            np.subtract(frame[name].to_numpy(dtype=np.float64), self.mean[j], out=out[:, j])
            out[:, j] /= self.scale[j]
        at = len(self.numeric)
        for name, cats in zip(self.categorical, self.categories, strict=True):
            codes = category_codes(frame[name], list(cats))  # unknown: len(cats), equal to no column
            for k in range(len(cats)):
                np.equal(codes, k, out=out[:, at + k], casting="unsafe")
            at += len(cats)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "numeric": dict(zip(self.numeric, zip(self.mean, self.scale, strict=True), strict=True)),
            "categorical": dict(zip(self.categorical, self.categories, strict=True)),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnFold:
        numeric = {str(k): (float(m), float(s)) for k, (m, s) in data["numeric"].items()}
        categorical = {str(k): tuple(str(c) for c in v) for k, v in data["categorical"].items()}
        return cls(
            numeric=tuple(numeric),
            mean=tuple(m for m, _ in numeric.values()),
            scale=tuple(s for _, s in numeric.values()),
            categorical=tuple(categorical),
            categories=tuple(categorical.values()),
        )
