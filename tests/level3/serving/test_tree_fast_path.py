"""The tree fast path (level3_system/serving/trees.py): LightGBM and HistGradientBoosting pipelines, built by level 2's
`make_model`, scored through the compiled trees and the native predictor exactly as `predict_proba` scores them,
on the real holdout, on the contract sample, and on the inputs where an exact copy is easiest to get wrong
(missing numbers, unknown categories, values exactly on a split). Refusals fall back, never serve wrong numbers.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest

from level2_pipeline.contract import DataContract
from level2_pipeline.params import ModelParams, TreeParams
from level2_pipeline.pipelines.data_science.nodes import make_model
from level3_system.serving import trees
from level3_system.serving.fastpath import choose, contract_sample
from level3_system.serving.fold import ColumnFold
from level3_system.serving.trees import TREE_MAX_DIFFERENCE, TreeScorer, tree_proof

FAMILIES = ["lightgbm", "hist_gradient_boosting"]
TREES = TreeParams(learning_rate=0.05, n_estimators=200, max_leaf_nodes=15, min_samples_leaf=40, random_state=42)


@pytest.fixture(scope="module")
def holdout_split(raw_csv: Any) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    from level2_pipeline.config import load_contract_and_clean
    from level2_pipeline.params import SplitParams
    from level2_pipeline.pipelines.data_processing.nodes import build_features, clean
    from level2_pipeline.pipelines.data_science.nodes import split

    contract, clean_params = load_contract_and_clean(None)
    table = build_features(clean(pd.read_csv(raw_csv), contract, clean_params), contract)
    x_train, x_test, y_train, _ = split(table, contract, SplitParams(test_size=0.2, random_state=42, stratify=True))
    return x_train, x_test, y_train


@pytest.fixture(scope="module", params=FAMILIES)
def fitted(request: pytest.FixtureRequest, holdout_split: Any, contract: DataContract) -> Any:
    x_train, _, y_train = holdout_split
    params = ModelParams(family=request.param, C=1.0, max_iter=1000, trees=TREES)
    return make_model(contract, params).fit(x_train, y_train)


def _reference(model: Any, frame: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(frame)[:, 1]


def test_the_fold_is_the_column_transformers_output_bit_for_bit(fitted: Any, holdout_split: Any) -> None:
    holdout = holdout_split[1]
    fold = ColumnFold.of(fitted)
    assert fold is not None
    assert np.array_equal(fold.matrix(holdout), fitted.steps[0][1].transform(holdout))


def test_both_evaluators_equal_predict_proba_on_the_holdout_and_the_contract_sample(
    fitted: Any, holdout_split: Any, contract: DataContract
) -> None:
    holdout = holdout_split[1][list(contract.features)]
    scorer = TreeScorer.from_pipeline(fitted)
    assert scorer is not None
    for frame in (holdout, contract_sample(contract)):
        expected = _reference(fitted, frame)
        one_by_one = np.array([scorer.predict_one(row) for row in frame.to_dict(orient="records")])
        assert np.abs(one_by_one - expected).max() <= TREE_MAX_DIFFERENCE
        assert np.abs(scorer.native_many(frame) - expected).max() <= TREE_MAX_DIFFERENCE
        assert np.abs(scorer.predict_many(frame) - expected).max() <= TREE_MAX_DIFFERENCE


def test_values_on_a_split_unknown_categories_and_missing_numbers_go_where_the_library_sends_them(
    fitted: Any, holdout_split: Any, contract: DataContract
) -> None:
    holdout = holdout_split[1][list(contract.features)].reset_index(drop=True)
    fold = ColumnFold.of(fitted)
    scorer = TreeScorer.from_pipeline(fitted)
    assert fold is not None and scorer is not None
    # a customer whose scaled value lands exactly on each numeric threshold the trees use (x = t·scale + mean,
    # then kept only where it scales back to t exactly): `<=` against `<` is the easiest bug to make
    on_split = []
    for tree in scorer.ensemble["trees"]:
        stack = [tree]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                feature, threshold = node[0], node[1]
                if feature < len(fold.numeric):
                    raw = threshold * fold.scale[feature] + fold.mean[feature]
                    if (raw - fold.mean[feature]) / fold.scale[feature] == threshold:
                        row = holdout.iloc[len(on_split) % len(holdout)].to_dict()
                        on_split.append({**row, fold.numeric[feature]: raw})
                stack += [node[3], node[4]]
    assert len(on_split) > 20, "too few exact thresholds to test"
    odd = holdout.head(50).copy()
    odd.loc[::2, contract.categorical_features[0]] = "a category never seen"
    frames = {"on a split": pd.DataFrame(on_split), "unknown category": odd}
    if type(fitted.steps[-1][1]).__name__ == "HistGradientBoostingClassifier":
        missing = holdout.head(50).copy()
        missing.loc[::3, contract.numeric_features[0]] = np.nan  # HistGradientBoosting scores NaN itself
        frames["missing number"] = missing
    for what, frame in frames.items():
        expected = _reference(fitted, frame)
        compiled = np.array([scorer.predict_one(row) for row in frame.to_dict(orient="records")])
        assert np.abs(compiled - expected).max() <= TREE_MAX_DIFFERENCE, what
        assert np.abs(scorer.native_many(frame) - expected).max() <= TREE_MAX_DIFFERENCE, what


def test_the_stored_proof_rebuilds_the_same_scorer_and_it_pickles(
    fitted: Any, holdout_split: Any, contract: DataContract
) -> None:
    import json

    holdout = holdout_split[1][list(contract.features)]
    proof = tree_proof(fitted, contract_sample(contract), holdout)
    assert proof is not None and proof["max_difference"] <= TREE_MAX_DIFFERENCE
    assert proof["holdout_max_difference"] <= TREE_MAX_DIFFERENCE
    stored = json.loads(json.dumps(proof))  # what the registry hands back
    rebuilt = TreeScorer.from_pipeline(fitted, stored)
    shipped = pickle.loads(pickle.dumps(rebuilt))  # what a Dask worker gets
    expected = _reference(fitted, holdout)
    for scorer in (rebuilt, shipped):
        assert scorer is not None and np.abs(scorer.predict_many(holdout) - expected).max() <= TREE_MAX_DIFFERENCE


def test_the_service_rule_picks_the_tree_fold_and_a_wrong_stored_tree_is_refused(
    fitted: Any, holdout_split: Any, contract: DataContract
) -> None:
    holdout = holdout_split[1][list(contract.features)]
    chosen = choose(fitted, contract, "auto", lambda: b"", lambda _: 1.0)
    assert chosen.kind == "trees" and isinstance(chosen.scorer, TreeScorer), chosen.reasons
    assert choose(fitted, contract, "sklearn", lambda: b"").kind == "sklearn"
    # a stored export that is not this model's (one leaf changed): the check at load refuses it
    proof = tree_proof(fitted, contract_sample(contract), holdout)
    assert proof is not None
    tampered = pickle.loads(pickle.dumps(proof))
    tree = tampered["ensemble"]["trees"][0]
    while isinstance(tree[3], list):
        tree = tree[3]
    tree[3] += 0.1
    refused = choose(fitted, contract, "trees", lambda: b"", lambda _: 1.0, lambda: tampered)
    assert refused.kind == "sklearn"
    assert any("tree fold disagrees" in reason for reason in refused.reasons), refused.reasons


def test_what_the_fold_cannot_copy_is_refused_not_guessed(
    fitted: Any, holdout_split: Any, contract: DataContract, monkeypatch: pytest.MonkeyPatch
) -> None:
    x_train, _, y_train = holdout_split
    linear = make_model(contract, ModelParams(family="logistic_regression", C=1.0, max_iter=1000)).fit(x_train, y_train)
    assert trees.export(linear) is None and TreeScorer.from_pipeline(linear) is None
    monkeypatch.setattr(trees, "MAX_DEPTH", 1)  # a fork's deep trees would not compile
    assert TreeScorer.from_pipeline(fitted) is None
    chosen = choose(fitted, contract, "auto", lambda: b"", lambda _: 1.0)
    assert chosen.kind != "trees" and "no exact tree fold of this pipeline" in chosen.reasons
