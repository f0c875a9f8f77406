"""The serving fast paths: the registered sklearn pipeline, scored without sklearn's per-call overhead.

One row through sklearn's `ColumnTransformer` costs 5–15 ms here (per-call validation in every transformer).
Three faster representations of the same fitted pipeline, each checked against it before it serves:

- `LinearScorer`: a scaler + one-hot + logistic regression pipeline *is* one dot product. Folded at load time
  it scores a row in ~2 µs, exact to float64 rounding. Only for that pipeline shape.
- `TreeScorer` (trees.py): the same preprocessing with LightGBM or HistGradientBoosting, its trees compiled
  (one row, ~0.03 ms) or run natively on the folded matrix (a batch), exact in float64.
- `OnnxScorer`: any pipeline skl2onnx converts, ~0.05 ms a row, float32 (differences ~1e-7). The export is
  made at training time and logged beside the MLflow model with its largest difference on the holdout.

The service uses the first that applies and agrees with the registered model (`MAX_DIFFERENCE`) on a sample
drawn from the data contract; the sklearn model stays the source of truth, and a test scores the whole
holdout through the API, the batch endpoint and the MLflow model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from level2_pipeline.contract import DataContract
from level3_system.serving.fold import category_codes, scaler_onehot
from level3_system.serving.trees import TREE_MAX_DIFFERENCE, TreeScorer

ARTIFACT_PATH = "fast_path/model.onnx"
LINEAR_PATH = "fast_path/linear.json"  # the folded weights and their proof, logged at training
MAX_DIFFERENCE = 1e-6  # ONNX computes in float32: measured ~1.4e-7 on this pipeline (the linear fold: ~1e-15)
_OUTPUT = "probabilities"


def export_onnx(model: Any, contract: DataContract) -> bytes:
    """Convert the fitted pipeline; numeric columns become float32 inputs, categorical ones strings."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    _register_lightgbm(model)
    inputs = [(name, FloatTensorType([None, 1])) for name in contract.numeric_features]
    inputs += [(name, StringTensorType([None, 1])) for name in contract.categorical_features]
    classifier = model.steps[-1][1]
    options = {id(classifier): {"zipmap": False}}
    # ai.onnx.ml 3: the tree ensembles' domain as onnxruntime and onnxmltools both support it
    graph = to_onnx(model, initial_types=inputs, options=options, target_opset={"": 17, "ai.onnx.ml": 3})
    return graph.SerializeToString()


def _register_lightgbm(model: Any) -> None:
    """skl2onnx converts scikit-learn's estimators; LightGBM's converter comes from onnxmltools, registered here."""
    if type(model.steps[-1][1]).__name__ != "LGBMClassifier":
        return
    from lightgbm import LGBMClassifier
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

    update_registered_converter(
        LGBMClassifier,
        "LightGbmLGBMClassifier",
        calculate_linear_classifier_output_shapes,
        convert_lightgbm,
        options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
    )


class OnnxScorer:
    """Churn probabilities from an ONNX graph, for one customer (a mapping) or many (a DataFrame)."""

    def __init__(self, onnx_bytes: bytes, contract: DataContract) -> None:
        import onnxruntime as ort

        self._bytes, self._contract = onnx_bytes, contract
        options = ort.SessionOptions()
        # One request is one tiny graph: thread pools only add hand-off latency.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
        self._numeric = list(contract.numeric_features)
        self._categorical = list(contract.categorical_features)

    def __reduce__(self) -> tuple[Any, ...]:
        """Picklable (batch scoring ships the scorer to Dask workers): the graph's bytes, rebuilt there."""
        return (OnnxScorer, (self._bytes, self._contract))

    def predict_one(self, customer: Mapping[str, Any]) -> float:
        feeds = {name: np.array([[customer[name]]], dtype=np.float32) for name in self._numeric}
        feeds.update({name: np.array([[customer[name]]], dtype=object) for name in self._categorical})
        return float(self._session.run([_OUTPUT], feeds)[0][0, 1])

    def predict_many(self, customers: pd.DataFrame | Sequence[Mapping[str, Any]]) -> np.ndarray:
        if not isinstance(customers, pd.DataFrame):
            customers = pd.DataFrame.from_records(list(customers))
        if customers.empty:
            return np.empty(0)
        feeds = {name: customers[name].to_numpy(dtype=np.float32).reshape(-1, 1) for name in self._numeric}
        feeds.update(
            {name: customers[name].astype(str).to_numpy(dtype=object).reshape(-1, 1) for name in self._categorical}
        )
        return self._session.run([_OUTPUT], feeds)[0][:, 1].astype(np.float64)


def max_difference(model: Any, scorer: OnnxScorer, data: pd.DataFrame) -> float:
    """Largest |p_sklearn - p_onnx| over `data`: the fast path's contract with the registered model."""
    return float(np.abs(model.predict_proba(data)[:, 1] - scorer.predict_many(data)).max())


class LinearScorer:
    """`Pipeline(ColumnTransformer([StandardScaler, OneHotEncoder]), LogisticRegression)` folded into weights.

    p = sigmoid(bias + Σ w_j · x_j + Σ w[column][category]): the scaler's mean and scale fold into the numeric
    weights and the bias; each one-hot block becomes a lookup table (an unknown category adds 0, exactly as
    `handle_unknown="ignore"` encodes it as all zeros).
    """

    def __init__(self, bias: float, numeric: dict[str, float], categorical: dict[str, dict[str, float]]) -> None:
        self.bias = bias
        self._numeric = list(numeric.items())
        self._categorical = list(categorical.items())

    @classmethod
    def from_pipeline(cls, model: Any) -> LinearScorer | None:
        """The folded scorer, or None when the pipeline is not exactly that shape."""
        from sklearn.linear_model import LogisticRegression

        blocks = scaler_onehot(model)
        if blocks is None:
            return None
        scaler, numeric_columns, encoder, categorical_columns, classifier = blocks
        if not isinstance(classifier, LogisticRegression) or classifier.coef_.shape[0] != 1:
            return None
        weights = classifier.coef_[0].astype(float)
        width = len(numeric_columns)
        numeric_weights = weights[:width] / scaler.scale_
        bias = float(classifier.intercept_[0]) - float(np.dot(numeric_weights, scaler.mean_))
        categorical: dict[str, dict[str, float]] = {}
        at = width
        for column, categories in zip(categorical_columns, encoder.categories_, strict=True):
            categorical[column] = {str(c): float(weights[at + i]) for i, c in enumerate(categories)}
            at += len(categories)
        return cls(bias, dict(zip(numeric_columns, numeric_weights.tolist(), strict=True)), categorical)

    def to_dict(self) -> dict[str, Any]:
        return {"bias": self.bias, "numeric": dict(self._numeric), "categorical": dict(self._categorical)}

    @classmethod
    def from_dict(cls, weights: Mapping[str, Any]) -> LinearScorer:
        return cls(
            float(weights["bias"]), dict(weights["numeric"]), {k: dict(v) for k, v in weights["categorical"].items()}
        )

    def predict_one(self, customer: Mapping[str, Any]) -> float:
        z = self.bias
        for name, weight in self._numeric:
            z += weight * customer[name]
        for name, table in self._categorical:
            z += table.get(customer[name], 0.0)
        return 1.0 / (1.0 + math.exp(-z))

    def predict_many(self, customers: pd.DataFrame | Sequence[Mapping[str, Any]]) -> np.ndarray:
        if not isinstance(customers, pd.DataFrame):
            customers = pd.DataFrame.from_records(list(customers))
        if customers.empty:
            return np.empty(0)
        z = np.full(len(customers), self.bias)
        for name, weight in self._numeric:
            z += weight * customers[name].to_numpy(dtype=np.float64)
        for name, table in self._categorical:
            z += _lookup(customers[name], table)
        return 1.0 / (1.0 + np.exp(-z))


def _lookup(values: pd.Series, table: dict[str, float]) -> np.ndarray:
    """Each value's weight, 0 for an unknown or missing one."""
    weights = np.append(np.fromiter(table.values(), dtype=np.float64, count=len(table)), 0.0)
    return weights[category_codes(values, list(table))]


def contract_sample(contract: DataContract, rows: int = 512, seed: int = 0) -> pd.DataFrame:
    """Random customers within the contract (every category, the whole numeric ranges): the load-time check
    that a fast path agrees with the model everywhere the API accepts input, not only on one example."""
    rng = np.random.default_rng(seed)
    sample: dict[str, Any] = {}
    for name in contract.features:
        column = contract.columns[name]
        if column.role == "categorical" and column.categories:
            sample[name] = rng.choice(column.categories, size=rows)
        else:
            low = column.min if column.min is not None else 0.0
            high = column.max if column.max is not None else low + 1000.0
            values = rng.uniform(low, high, size=rows)
            sample[name] = np.round(values).astype(np.int64) if column.dtype == "int" else values
    return pd.DataFrame(sample)


@dataclass(frozen=True)
class Choice:
    """The scorer the rule picked, and why each faster one was passed over."""

    scorer: Any | None  # None: the sklearn pipeline itself
    kind: str  # "linear", "trees", "onnx" or "sklearn"
    reasons: tuple[str, ...]
    onnx: OnnxScorer | None = None  # the ONNX scorer, also when it disagreed (what it would have cost)
    onnx_bytes: int = 0


def choose(
    model: Any,
    contract: DataContract,
    mode: str,
    onnx_graph: Callable[[], bytes],
    recorded_difference: Callable[[OnnxScorer], float] = lambda _: 0.0,
    stored_trees: Callable[[], Mapping[str, Any] | None] = lambda: None,
) -> Choice:
    """The service's rule, in one place (the service at load, `make experiment` for each family): the first of
    the linear fold, the tree fold and ONNX that `mode` allows and that agrees with the model on the contract
    sample — the folds within `TREE_MAX_DIFFERENCE`/`MAX_DIFFERENCE`, ONNX also within `recorded_difference` (its
    largest difference on the holdout) — else the sklearn pipeline. The tree fold is the one stored at training
    (`stored_trees`, with the holdout difference it recorded) or, for a version without one, exported now."""
    sample = contract_sample(contract)
    reference = model.predict_proba(sample)[:, 1]

    def off(scorer: Any) -> float:
        return float(np.abs(scorer.predict_many(sample) - reference).max())

    reasons: list[str] = []
    if mode in ("auto", "linear"):
        linear = LinearScorer.from_pipeline(model)
        if linear is not None and off(linear) <= MAX_DIFFERENCE:
            return Choice(linear, "linear", ())
        reasons.append("no exact linear fold of this pipeline")
    if mode in ("auto", "trees"):
        trees, why = _trees(model, sample, reference, stored_trees)
        if trees is not None:
            return Choice(trees, "trees", tuple(reasons))
        reasons.append(why)
    onnx, size = None, 0
    if mode in ("auto", "onnx"):
        try:
            graph = onnx_graph()
            onnx, size = OnnxScorer(graph, contract), len(graph)
            worst = max(recorded_difference(onnx), off(onnx))
            if worst <= MAX_DIFFERENCE:
                return Choice(onnx, "onnx", tuple(reasons), onnx, size)
            reasons.append(f"the ONNX export disagrees with the model (max |Δp| {worst:.3g} > {MAX_DIFFERENCE:g})")
        except Exception as exc:  # no export (older version, unconvertible model)
            reasons.append(f"no ONNX fast path ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})")
    if mode != "sklearn":
        reasons.append("scoring with the sklearn pipeline itself (slow path)")
    return Choice(None, "sklearn", tuple(reasons), onnx, size)


def _trees(
    model: Any, sample: pd.DataFrame, reference: np.ndarray, stored: Callable[[], Mapping[str, Any] | None]
) -> tuple[TreeScorer | None, str]:
    """The tree fold if it applies and agrees (both evaluators, the sample and the recorded holdout), else why not."""
    try:
        proof = stored()
    except Exception:  # a version trained before the tree fold, or no tree model: export it from the model
        proof = None
    scorer = TreeScorer.from_pipeline(model, proof)
    if scorer is None:
        return None, "no exact tree fold of this pipeline"
    recorded = float(proof.get("holdout_max_difference", 0.0)) if proof else 0.0
    worst = max(recorded, scorer.max_difference(sample, reference))
    if worst <= TREE_MAX_DIFFERENCE:
        return scorer, ""
    return None, f"the tree fold disagrees with the model (max |Δp| {worst:.3g} > {TREE_MAX_DIFFERENCE:g})"


def disagreement(model: Any, scorer: Any, contract: DataContract) -> float:
    """Largest |p_sklearn - p_fast| on the contract sample: what a fast path must keep under `MAX_DIFFERENCE`."""
    sample = contract_sample(contract)
    return float(np.abs(scorer.predict_many(sample) - model.predict_proba(sample)[:, 1]).max())


def linear_proof(model: Any, contract: DataContract) -> dict[str, Any] | None:
    """The folded weights with their proof, computed once at training and stored with the version: a service
    starting on it serves without loading sklearn first (~4 s of imports and unpickling), and checks it after."""
    scorer = LinearScorer.from_pipeline(model)
    if scorer is None:
        return None
    return {"max_difference": disagreement(model, scorer, contract), "checked_on": "contract_sample(512, seed=0)",
            "weights": scorer.to_dict()}  # fmt: skip
