"""Unit tests of the data_science nodes (`split`, `make_model`/`train`, `evaluate`) on tiny inline frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from level2_pipeline.contract import DataContract
from level2_pipeline.params import EvaluateParams, ModelParams, SplitParams
from level2_pipeline.pipelines.data_science.nodes import classification_metrics, evaluate, make_model, split, train

SPLIT = SplitParams(test_size=0.2, random_state=0)
MODEL = ModelParams(C=1.0, max_iter=200)


def held_out_ids(parts: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]) -> list[int]:
    return parts[1]["customer_id"].tolist()


# --- split ---------------------------------------------------------------------------------------------------


def test_split_is_stratified_with_the_configured_size(tiny_table: pd.DataFrame, tiny_contract: DataContract) -> None:
    # given: 20 rows, 5 positive (25 %)
    positives = int(tiny_table["churn"].sum())

    # when
    x_train, x_test, y_train, y_test = split(tiny_table, tiny_contract, SPLIT)

    # then
    assert (len(x_train), len(x_test)) == (16, 4), "not an 80/20 split of 20 rows"
    assert (int(y_train.sum()), int(y_test.sum())) == (positives - 1, 1), "positives not spread 4/1 (stratified)"
    assert tiny_contract.target not in x_train.columns, "the target leaked into the features"
    assert x_test.index.equals(y_test.index) and x_train.index.equals(y_train.index), "features and labels misaligned"
    assert set(x_train["customer_id"]).isdisjoint(x_test["customer_id"]), "a customer is in both splits"


def test_split_is_deterministic_for_a_seed(tiny_table: pd.DataFrame, tiny_contract: DataContract) -> None:
    first = held_out_ids(split(tiny_table, tiny_contract, SPLIT))
    again = held_out_ids(split(tiny_table, tiny_contract, SPLIT))
    others = [
        held_out_ids(split(tiny_table, tiny_contract, SPLIT.model_copy(update={"random_state": s}))) for s in (1, 2)
    ]

    assert first == again, "the same seed gave two different test splits"
    assert any(other != first for other in others), "the seed does not change the split"


def test_split_without_stratify_ignores_class_balance(tiny_table: pd.DataFrame, tiny_contract: DataContract) -> None:
    # a single positive cannot be stratified, but can be split at random
    table = tiny_table.assign(churn=[1] + [0] * (len(tiny_table) - 1))

    x_train, x_test, _, _ = split(table, tiny_contract, SPLIT.model_copy(update={"stratify": False}))

    assert (len(x_train), len(x_test)) == (16, 4)


def test_split_refuses_to_stratify_a_class_of_one(tiny_table: pd.DataFrame, tiny_contract: DataContract) -> None:
    table = tiny_table.assign(churn=[1] + [0] * (len(tiny_table) - 1))

    with pytest.raises(ValueError, match="least populated class"):
        split(table, tiny_contract, SPLIT)


# --- make_model / train --------------------------------------------------------------------------------------


def test_make_model_takes_columns_from_contract_and_settings_from_params(tiny_contract: DataContract) -> None:
    model = make_model(tiny_contract, ModelParams(C=0.25, max_iter=77))

    assert isinstance(model, Pipeline)
    columns = {name: cols for name, _, cols in model.named_steps["preprocess"].transformers}
    assert columns == {
        "numeric": tiny_contract.numeric_features,
        "categorical": tiny_contract.categorical_features,
    }, "the preprocessing does not use the contract's feature lists"
    classifier = model.named_steps["classifier"]
    assert (classifier.C, classifier.max_iter) == (0.25, 77), "C/max_iter are not the params'"


@pytest.fixture
def fitted(tiny_table: pd.DataFrame, tiny_contract: DataContract):
    x_train, x_test, y_train, y_test = split(tiny_table, tiny_contract, SPLIT)
    return train(x_train, y_train, tiny_contract, MODEL), x_test, y_test, y_train


def test_train_gives_a_probability_for_an_unknown_category(fitted, tiny_contract: DataContract) -> None:
    # given: a model fitted on two contract types
    model, x_test, _, _ = fitted
    unseen = x_test.head(1).assign(contract="Three year")

    # when
    probability = model.predict_proba(unseen)[:, 1]

    # then
    assert probability.shape == (1,) and 0.0 <= probability[0] <= 1.0, f"not a probability: {probability}"


def test_trained_model_ignores_the_id_column(fitted) -> None:
    model, x_test, _, _ = fitted

    renumbered = x_test.assign(customer_id=x_test["customer_id"] + 10_000)

    np.testing.assert_array_equal(
        model.predict_proba(renumbered), model.predict_proba(x_test), err_msg="the customer id moves the score"
    )


def test_trained_model_finds_the_planted_signal(fitted, tiny_contract: DataContract) -> None:
    # month-to-month customers churn in the tiny table, two-year ones never do
    model, x_test, _, _ = fitted
    row = x_test.head(1)

    monthly = model.predict_proba(row.assign(contract="Month-to-month"))[0, 1]
    two_year = model.predict_proba(row.assign(contract="Two year"))[0, 1]

    assert monthly > two_year, f"two-year contract ({two_year:.3f}) not below month-to-month ({monthly:.3f})"


def test_train_fails_when_a_feature_is_missing(tiny_table: pd.DataFrame, tiny_contract: DataContract) -> None:
    x_train, _, y_train, _ = split(tiny_table, tiny_contract, SPLIT)

    with pytest.raises(ValueError, match="tenure"):
        train(x_train.drop(columns=["tenure"]), y_train, tiny_contract, MODEL)


# --- evaluate / classification_metrics -----------------------------------------------------------------------

# A 4-row example small enough to check by hand: ranked by probability the labels are 1, 0, 1, 0.
Y_TRUE = pd.Series([0, 0, 1, 1])
PROBABILITY = np.array([0.1, 0.4, 0.35, 0.8])


def test_classification_metrics_known_values() -> None:
    metrics = classification_metrics(Y_TRUE, PROBABILITY, threshold=0.5)

    # one of the four (positive, negative) pairs is ranked wrongly; at 0.5 only 0.8 is called positive
    expected = {
        "roc_auc": 3 / 4,
        "pr_auc": (1 + 2 / 3) / 2,
        "precision": 1.0,
        "recall": 1 / 2,
        "f1": 2 / 3,
        "accuracy": 3 / 4,
        "brier": (0.1**2 + 0.4**2 + 0.65**2 + 0.2**2) / 4,
        "threshold": 0.5,
    }
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value), f"{key}: {metrics[key]} != {value}"


def test_classification_metrics_respects_the_threshold() -> None:
    metrics = classification_metrics(Y_TRUE, PROBABILITY, threshold=0.3)

    # at 0.3 the three highest are called positive: both churners found, one false alarm
    assert metrics["threshold"] == 0.3
    assert (metrics["recall"], metrics["precision"]) == pytest.approx((1.0, 2 / 3)), "threshold not applied"
    assert metrics["roc_auc"] == pytest.approx(3 / 4), "ROC AUC must not depend on the threshold"


def test_classification_metrics_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        classification_metrics(Y_TRUE, PROBABILITY[:3], threshold=0.5)


def test_evaluate_returns_contract_metrics_and_predictions_per_test_row(fitted, tiny_contract: DataContract) -> None:
    model, x_test, y_test, y_train = fitted

    metrics, predictions = evaluate(model, x_test, y_test, y_train, tiny_contract, EvaluateParams(threshold=0.4))

    assert (metrics["n_train"], metrics["n_test"], metrics["threshold"]) == (len(y_train), len(y_test), 0.4)
    assert list(predictions.columns) == ["customer_id", "y_true", "churn_probability"]
    assert predictions["customer_id"].tolist() == x_test["customer_id"].tolist(), "predictions not in test order"
    assert predictions["y_true"].tolist() == y_test.tolist()
    np.testing.assert_allclose(predictions["churn_probability"], model.predict_proba(x_test)[:, 1])
    # scikit-learn's own functions on the written predictions, not the node's helper again
    from sklearn import metrics as sk

    p, y = predictions["churn_probability"].to_numpy(), predictions["y_true"].to_numpy()
    label = (p >= 0.4).astype(int)
    expected = {
        "roc_auc": sk.roc_auc_score(y, p),
        "pr_auc": sk.average_precision_score(y, p),
        "f1": sk.f1_score(y, label, zero_division=0),
        "precision": sk.precision_score(y, label, zero_division=0),
        "recall": sk.recall_score(y, label, zero_division=0),
        "accuracy": sk.accuracy_score(y, label),
        "brier": sk.brier_score_loss(y, p),
        "log_loss": sk.log_loss(y, p),
    }
    assert {k: metrics[k] for k in expected} == pytest.approx(expected, abs=1e-12), "not the predictions' metrics"


def test_evaluate_needs_the_id_column_the_contract_declares(fitted, tiny_contract: DataContract) -> None:
    model, x_test, y_test, y_train = fitted

    with pytest.raises(KeyError, match="customer_id"):
        evaluate(
            model, x_test.drop(columns=["customer_id"]), y_test, y_train, tiny_contract, EvaluateParams(threshold=0.5)
        )
