"""Promotion through the flow: each case trains into a store of its own, then reads the registry's aliases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from level3_support import RULES, WEAK_MODEL, FlowRun, Store, make_settings

from level3_system.settings import InvarianceCheck

pytestmark = pytest.mark.slow

NewStore = Callable[[str], Store]
NewRoot = Callable[[str], Path]


def test_a_better_model_replaces_the_champion(
    new_store: NewStore, new_data_root: NewRoot, run_flow: Callable[..., FlowRun]
) -> None:
    store, root = new_store("better"), new_data_root("better")
    weak = run_flow(make_settings(root, store, kedro_params=WEAK_MODEL), store)
    assert weak.summary.status == "champion", f"the weak model alone should still be champion: {weak.describe()}"

    strong = run_flow(make_settings(root, store), store)

    assert strong.summary.metrics["roc_auc"] > weak.summary.metrics["roc_auc"] + RULES.champion_tolerance
    assert strong.summary.status == "champion", strong.describe()
    assert strong.aliases == {"champion": "2"}, "the better version 2 should be the only aliased version"


def test_a_worse_model_stays_challenger(
    new_store: NewStore, new_data_root: NewRoot, run_flow: Callable[..., FlowRun]
) -> None:
    store, root = new_store("worse"), new_data_root("worse")
    strong = run_flow(make_settings(root, store), store)
    assert strong.summary.status == "champion", strong.describe()

    weak = run_flow(make_settings(root, store, kedro_params=WEAK_MODEL), store)

    assert weak.summary.status == "challenger", weak.describe()
    assert weak.aliases == {"champion": "1", "challenger": "2"}, "champion must stay on version 1"
    comparison = next(reason for reason in weak.summary.decision if reason.startswith("vs champion v1"))
    assert " < " in comparison, comparison
    client = store.client()
    assert client.get_run(weak.summary.run_id).data.params["model.C"] == "0.0001", "kedro_params did not reach level 2"
    assert client.get_model_version("telco-churn", "2").tags["promotion"].startswith("stays challenger")


def test_a_model_failing_a_behaviour_check_is_not_promoted(
    new_store: NewStore, new_data_root: NewRoot, run_flow: Callable[..., FlowRun]
) -> None:
    """Even with no champion to beat: a rule that allows no movement with `female` refuses the first model."""
    store, root = new_store("behaviour"), new_data_root("behaviour")
    no_movement = InvarianceCheck(column="female", max_mean_delta=0.0, max_delta=0.0)
    strict = RULES.model_copy(update={"invariance": no_movement})

    run = run_flow(make_settings(root, store, promotion=strict), store)

    assert run.state.is_completed(), "a refused promotion is a decision, not a failed flow"
    assert run.summary.status == "challenger", run.describe()
    assert run.aliases == {"challenger": "1"}, "no champion may exist after the only model failed a check"
    assert any(reason.startswith("invariance(female) FAILED") for reason in run.summary.decision), run.summary.decision
