"""Data science: split, train, evaluate.

The model is one scikit-learn `Pipeline(ColumnTransformer, classifier)`: the preprocessing travels with the
estimator, so serving applies exactly what training fitted. The classifier is the configured family's
(`model.family`: a logistic regression by default, or gradient-boosted trees).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from level2_pipeline.contract import DataContract
from level2_pipeline.params import EvaluateParams, ModelParams, SplitParams


def split(
    model_input_table: pd.DataFrame, data_contract: DataContract, split: SplitParams
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """Stratified holdout: the test split is the same rows at every level, so metrics are comparable."""
    features = model_input_table.drop(columns=[data_contract.target])
    target = model_input_table[data_contract.target]
    x_train, x_test, y_train, y_test = train_test_split(
        features,
        target,
        test_size=split.test_size,
        random_state=split.random_state,
        stratify=target if split.stratify else None,
    )
    return x_train, x_test, y_train, y_test


def make_model(data_contract: DataContract, model: ModelParams) -> Pipeline:
    """The unfitted model of the configured family, behind the same preprocessing: unknown categories at predict
    time encode as all zeros instead of failing. The trees get the one-hot block dense (they take no sparse input)."""
    dense = model.family != "logistic_regression"
    preprocess = ColumnTransformer(
        [
            ("numeric", StandardScaler(), data_contract.numeric_features),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", **({"sparse_output": False} if dense else {})),
                data_contract.categorical_features,
            ),
        ],
        remainder="drop",
    )
    return Pipeline([("preprocess", preprocess), ("classifier", _classifier(model))])


def _classifier(model: ModelParams) -> Any:
    if model.family == "logistic_regression":
        return LogisticRegression(C=model.C, max_iter=model.max_iter)
    trees = model.trees
    assert trees is not None  # ModelParams requires it for a tree family
    if model.family == "hist_gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            learning_rate=trees.learning_rate,
            max_iter=trees.n_estimators,
            max_leaf_nodes=trees.max_leaf_nodes,
            min_samples_leaf=trees.min_samples_leaf,
            early_stopping=False,  # the same number of trees at every level and every data size
            random_state=trees.random_state,
        )
    from lightgbm import LGBMClassifier

    return LGBMClassifier(
        learning_rate=trees.learning_rate,
        n_estimators=trees.n_estimators,
        num_leaves=trees.max_leaf_nodes,
        min_child_samples=trees.min_samples_leaf,
        random_state=trees.random_state,
        n_jobs=1,  # one thread: the same trees on every machine (and no oversubscription beside Dask)
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )


def train(x_train: pd.DataFrame, y_train: pd.Series, data_contract: DataContract, model: ModelParams) -> Pipeline:
    """Fit on the training split only; the id column is ignored by the column transformer."""
    return make_model(data_contract, model).fit(x_train, y_train)


def classification_metrics(y_true: pd.Series, probability: np.ndarray, threshold: float) -> dict[str, float]:
    """The metrics contract of design.md (plus log loss), from labels and probabilities alone."""
    predicted = (probability >= threshold).astype(int)
    return {
        "roc_auc": float(roc_auc_score(y_true, probability)),
        "pr_auc": float(average_precision_score(y_true, probability)),
        "f1": float(f1_score(y_true, predicted, zero_division=0)),
        "precision": float(precision_score(y_true, predicted, zero_division=0)),
        "recall": float(recall_score(y_true, predicted, zero_division=0)),
        "accuracy": float(accuracy_score(y_true, predicted)),
        "brier": float(brier_score_loss(y_true, probability)),
        "log_loss": float(log_loss(y_true, probability)),
        "threshold": float(threshold),
    }


def evaluate(
    model: Pipeline,
    x_test: pd.DataFrame,
    y_test: pd.Series,
    y_train: pd.Series,
    data_contract: DataContract,
    evaluate: EvaluateParams,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Score the holdout: metrics for the comparison, and per-row probabilities for the parity tests."""
    probability = model.predict_proba(x_test)[:, 1]
    metrics = {
        **classification_metrics(y_test, probability, evaluate.threshold),
        "n_train": len(y_train),
        "n_test": len(y_test),
    }
    predictions = pd.DataFrame({"y_true": y_test.to_numpy(), "churn_probability": probability})
    if data_contract.id_column is not None:
        predictions.insert(0, data_contract.id_column, x_test[data_contract.id_column].to_numpy())
    return metrics, predictions
