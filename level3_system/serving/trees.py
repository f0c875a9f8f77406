"""The tree fast path: a LightGBM or HistGradientBoosting pipeline scored exactly, without sklearn's per-call cost.

The sklearn pipeline costs 7–12 ms a row, nearly all of it in the ColumnTransformer's per-call checks, not in
the trees. Two evaluators of the same fitted trees, both in float64 with the libraries' own comparisons
(ADR 0012 has the measurements that chose them):

- one customer: the trees compiled into one Python function of nested `if`s (a split on a one-hot column
  becomes a string comparison; a numeric split compares the scaled value as `StandardScaler` computes it):
  ~0.02–0.04 ms a row, equal to `predict_proba` (0.0 measured on the Telco holdout).
- many customers: the fold's float64 matrix (bit for bit the ColumnTransformer's output) through the
  library's own native predictor (LightGBM's `Booster.predict`, HistGradientBoosting's predictors).

The exported trees are stored with the version (`TREES_PATH`) with the largest difference measured on the
contract sample and the holdout, and checked against the registered model at load, like the linear fold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from level3_system.serving.fold import ColumnFold, scaler_onehot

TREES_PATH = "fast_path/trees.json"
TREE_MAX_DIFFERENCE = 1e-9  # both evaluators are exact up to the order of a float64 sum (measured: 0.0)
MAX_DEPTH = 60  # the compiled function nests one block per tree level (CPython allows 100)
MAX_NODES = 300_000  # beyond this the compiled function takes seconds to build: the sklearn path instead
SMALL_BATCH = 64  # below this many rows the compiled function beats the native predictor's per-call cost

# A node: a leaf value, or [matrix column, threshold, where a missing value goes ("left", "right" or "zero":
# LightGBM without missing values treats NaN as 0.0), left child, right child]
Node = float | list[Any]


def export(model: Any) -> dict[str, Any] | None:
    """The pipeline's trees in one vocabulary for both libraries, or None when it is not a pipeline this fold
    reproduces (another preprocessing, categorical splits, a multi-class or non-logistic objective)."""
    blocks = scaler_onehot(model)
    if blocks is None:
        return None
    classifier = blocks[-1]
    kind = type(classifier).__name__
    if kind == "LGBMClassifier":
        return _from_lightgbm(classifier.booster_.dump_model())
    if kind == "HistGradientBoostingClassifier":
        return _from_hist_gradient_boosting(classifier)
    return None


def _from_lightgbm(dump: Mapping[str, Any]) -> dict[str, Any] | None:
    objective = str(dump.get("objective", "")).split()
    if dump.get("num_class", 1) != 1 or not objective or objective[0] != "binary" or dump.get("average_output"):
        return None
    sigmoid = next((float(o.split(":")[1]) for o in objective if o.startswith("sigmoid:")), 1.0)

    def node(n: Mapping[str, Any]) -> Node | None:
        if "leaf_value" in n:
            return float(n["leaf_value"])
        if n["decision_type"] != "<=" or n["missing_type"] not in ("None", "NaN"):
            return None  # categorical splits, zero-as-missing: not folded
        left, right = node(n["left_child"]), node(n["right_child"])
        if left is None or right is None:
            return None
        missing = "zero" if n["missing_type"] == "None" else ("left" if n["default_left"] else "right")
        return [int(n["split_feature"]), float(n["threshold"]), missing, left, right]

    trees = [node(t["tree_structure"]) for t in dump["tree_info"]]
    if any(t is None for t in trees):
        return None
    return {"library": "lightgbm", "base": 0.0, "sigmoid": sigmoid, "trees": trees}


def _from_hist_gradient_boosting(classifier: Any) -> dict[str, Any] | None:
    if getattr(classifier, "n_trees_per_iteration_", 1) != 1:
        return None

    def node(nodes: Any, i: int) -> Node | None:
        n = nodes[i]
        if n["is_leaf"]:
            return float(n["value"])
        if n["is_categorical"]:
            return None
        left, right = node(nodes, int(n["left"])), node(nodes, int(n["right"]))
        if left is None or right is None:
            return None
        missing = "left" if n["missing_go_to_left"] else "right"
        return [int(n["feature_idx"]), float(n["num_threshold"]), missing, left, right]

    trees = [node(predictor.nodes, 0) for (predictor,) in classifier._predictors]
    if any(t is None for t in trees):
        return None
    base = float(np.ravel(classifier._baseline_prediction)[0])
    return {"library": "hist_gradient_boosting", "base": base, "sigmoid": 1.0, "trees": trees}


def compile_trees(fold: ColumnFold, ensemble: Mapping[str, Any]) -> Any | None:
    """One Python function, customer mapping → probability, or None when the trees are too deep or too many.
    Generated from numbers and names only (each emitted with `repr` after a float/int/str conversion)."""
    columns = fold.columns
    numeric = {name: i for i, name in enumerate(fold.numeric)}
    lines: list[str] = []
    used: set[int] = set()
    nodes = 0

    def walk(node: Node, depth: int) -> bool:
        nonlocal nodes
        nodes += 1
        pad = " " * depth
        if not isinstance(node, list):
            lines.append(f"{pad}s += {float(node)!r}")
            return True
        if depth > MAX_DEPTH or nodes > MAX_NODES:
            return False
        feature, threshold, missing, left, right = int(node[0]), float(node[1]), str(node[2]), node[3], node[4]
        name, category = columns[feature]
        if category is None:
            used.add(numeric[name])
            to_left = missing == "left" or (missing == "zero" and threshold >= 0.0)
            x = f"x{numeric[name]}"
            test = f"not ({x} > {threshold!r})" if to_left else f"{x} <= {threshold!r}"  # NaN: the default side
        else:
            on, off = threshold >= 1.0, threshold >= 0.0  # the one-hot value: 1.0 for this category, else 0.0
            if on == off:
                return walk(left if on else right, depth)
            test = f"c[{str(name)!r}] {'==' if on else '!='} {str(category)!r}"
        lines.append(f"{pad}if {test}:")
        if not walk(left, depth + 1):
            return False
        lines.append(f"{pad}else:")
        return walk(right, depth + 1)

    for tree in ensemble["trees"]:
        if not walk(tree, 1):
            return None
    scaled = [f" x{i} = (c[{fold.numeric[i]!r}] - {fold.mean[i]!r}) / {fold.scale[i]!r}" for i in sorted(used)]
    sigmoid = float(ensemble.get("sigmoid", 1.0))
    source = "\n".join(
        ["def score(c):", *scaled, f" s = {float(ensemble['base'])!r}", *lines,
         f" z = -{sigmoid!r} * s", " return 0.0 if z > 709.0 else 1.0 / (1.0 + exp(z))"]
    )  # fmt: skip
    namespace: dict[str, Any] = {"exp": math.exp}
    exec(compile(source, "<tree fast path>", "exec"), namespace)  # generated above from numbers and names
    return namespace["score"]


class TreeScorer:
    """Churn probabilities from the exported trees: `predict_one` through the compiled function, `predict_many`
    through the library's native predictor on the fold's matrix (the compiled function when there is none)."""

    def __init__(self, fold: ColumnFold, ensemble: dict[str, Any], classifier: Any | None = None) -> None:
        score = compile_trees(fold, ensemble)
        if score is None:
            raise ValueError(f"trees deeper than {MAX_DEPTH} levels or over {MAX_NODES:,} nodes: not compiled")
        self.fold, self.ensemble, self._classifier, self._score = fold, ensemble, classifier, score

    @classmethod
    def from_pipeline(cls, model: Any, stored: Mapping[str, Any] | None = None) -> TreeScorer | None:
        """The scorer of `model`: from the trees stored at training (`stored`, the proof's JSON) or exported now;
        None when the fold does not apply. The native predictor is always the model's own classifier."""
        fold = ColumnFold.of(model)
        ensemble = dict(stored["ensemble"]) if stored else export(model)
        if fold is None or ensemble is None:
            return None
        if stored:
            fold = ColumnFold.from_dict(stored["fold"])
        try:
            return cls(fold, ensemble, model.steps[-1][1])
        except ValueError:
            return None

    def __reduce__(self) -> tuple[Any, ...]:
        """Picklable (Dask workers get it): the trees and the classifier, compiled again there (~0.1 s)."""
        return (TreeScorer, (self.fold, self.ensemble, self._classifier))

    def predict_one(self, customer: Mapping[str, Any]) -> float:
        return self._score(customer)

    def compiled_many(self, customers: pd.DataFrame) -> np.ndarray:
        records = customers.to_dict(orient="records")
        return np.fromiter((self._score(c) for c in records), dtype=np.float64, count=len(records))

    def native_many(self, customers: pd.DataFrame) -> np.ndarray:
        x = self.fold.matrix(customers)
        if self.ensemble["library"] == "lightgbm":
            # every core: rows are scored independently, so threads change the speed, never a probability
            return np.asarray(self._classifier.booster_.predict(x, num_threads=0), dtype=np.float64)
        return np.asarray(self._classifier.predict_proba(x)[:, 1], dtype=np.float64)

    def predict_many(self, customers: pd.DataFrame | Sequence[Mapping[str, Any]]) -> np.ndarray:
        if not isinstance(customers, pd.DataFrame):
            customers = pd.DataFrame.from_records(list(customers))
        if customers.empty:
            return np.empty(0)
        if self._classifier is None or len(customers) < SMALL_BATCH:
            return self.compiled_many(customers)
        return self.native_many(customers)

    def max_difference(self, data: pd.DataFrame, reference: np.ndarray) -> float:
        """Largest |p_sklearn - p| over `data` (`reference`: the model's own probabilities of it), through both
        evaluators: the contract this fast path keeps."""
        worst = float(np.abs(self.compiled_many(data) - reference).max())
        if self._classifier is not None:
            worst = max(worst, float(np.abs(self.native_many(data) - reference).max()))
        return worst

    def to_dict(self) -> dict[str, Any]:
        return {"fold": self.fold.to_dict(), "ensemble": self.ensemble}


def tree_proof(model: Any, sample: pd.DataFrame, holdout: pd.DataFrame) -> dict[str, Any] | None:
    """The exported trees with their proof, computed once at training and stored with the version: what the
    service loads (and checks again) instead of exporting the trees itself."""
    scorer = TreeScorer.from_pipeline(model)
    if scorer is None:
        return None
    return {
        "max_difference": scorer.max_difference(sample, model.predict_proba(sample)[:, 1]),
        "holdout_max_difference": scorer.max_difference(holdout, model.predict_proba(holdout)[:, 1]),
        "checked_on": "contract_sample(512, seed=0) and the holdout, both evaluators",
        **scorer.to_dict(),
    }
