"""A registered version carries the contract and cleaning it was trained with; the service serves from them.

So editing conf/ (a category list, a fill rule) changes nothing the running service accepts or predicts until a
new version is trained and promoted; a version registered before contracts travelled is served from conf/ with a
warning. `from_conf` stands for what today's conf/ says: it is what the service would read from conf/.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import pytest
from level3_support import Store, apply_decision, log_and_register, make_settings

from level2_pipeline.contract import Column, DataContract
from level2_pipeline.params import CleanParams

EDITED_FILL = 999.0


def _contract_without(contract: DataContract, column: str, category: str) -> DataContract:
    kept = [c for c in contract.columns[column].categories or [] if c != category]
    columns = {**contract.columns, column: contract.columns[column].model_copy(update={"categories": kept})}
    return contract.model_copy(update={"columns": columns})


def _contract_with(contract: DataContract, column: str, category: str) -> DataContract:
    grown = [*(contract.columns[column].categories or []), category]
    columns: dict[str, Column] = {
        **contract.columns,
        column: contract.columns[column].model_copy(update={"categories": grown}),
    }
    return contract.model_copy(update={"columns": columns})


@pytest.fixture(scope="module")
def edited_conf(champion: Any) -> Callable[[], tuple[DataContract, CleanParams]]:
    """conf/ after a user edited it: month-to-month customers are no longer a category, gaps are filled with 999."""
    contract = _contract_without(champion.contract, "contract", "Month-to-month")
    return lambda: (contract, CleanParams(fill_missing={"total_charges": EDITED_FILL}))


def _new_customer(example: dict[str, Any], total: float | None) -> dict[str, Any]:
    return {**example, "contract": "Month-to-month", "tenure": 0, "total_charges": total}


def test_editing_conf_changes_nothing_the_service_accepts_or_predicts(
    champion: Any, serve: Any, edited_conf: Any, example_customer: dict[str, Any]
) -> None:
    # Given conf/ edited after the champion was trained, when the service (re)starts on that champion
    client = serve(champion.settings, from_conf=edited_conf)
    info = client.get("/model").json()
    # Then it serves the version's own contract and cleaning, not conf/'s
    assert info["contract_source"] == "version", info
    schema = client.app.openapi()["components"]["schemas"]["Customer"]
    assert "Month-to-month" in schema["properties"]["contract"]["enum"], "the schema follows conf/, not the version"
    missing = client.post("/predict", json=_new_customer(example_customer, None))
    assert missing.status_code == 200, f"a category the version was trained with was refused: {missing.text}"
    trained_fill = client.post("/predict", json=_new_customer(example_customer, 0.0)).json()["churn_probability"]
    assert missing.json()["churn_probability"] == trained_fill, "the gap was not filled with the trained rule (0.0)"


def test_a_version_without_its_contract_is_served_from_conf_with_a_warning(
    champion_outcome: Any,
    new_store: Callable[[str], Store],
    serve: Any,
    edited_conf: Any,
    example_customer: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a version registered the way older code did: no contract artifact
    monkeypatch.setattr("level3_system.training.tracking.log_trained_with", lambda contract, clean: None)
    settings = make_settings(champion_outcome.raw_path.parents[1], new_store("legacy"))
    log_and_register(settings, champion_outcome)
    # When the service starts on it
    with caplog.at_level(logging.WARNING, logger="level3_system"):
        client = serve(settings, from_conf=edited_conf)
    # Then it still serves, says so, and takes the schema and cleaning from today's conf/
    assert client.get("/ready").status_code == 200
    assert "carries no data contract" in caplog.text, caplog.text
    assert client.get("/model").json()["contract_source"] == "conf"
    refused = client.post("/predict", json=_new_customer(example_customer, 0.0))
    assert refused.status_code == 422 and "contract" in refused.text, refused.text
    two_year = {**_new_customer(example_customer, None), "contract": "Two year"}
    filled = client.post("/predict", json=two_year).json()["churn_probability"]
    with_conf_fill = client.post("/predict", json={**two_year, "total_charges": EDITED_FILL}).json()
    assert filled == with_conf_fill["churn_probability"], "conf/'s fill rule was not applied to a legacy version"


def test_a_promoted_version_with_another_contract_changes_the_schema_on_reload(
    champion_outcome: Any, new_store: Callable[[str], Store], serve: Any, example_customer: dict[str, Any]
) -> None:
    # Given the service on version 1, and a version 2 trained with a contract that adds a category
    settings = make_settings(champion_outcome.raw_path.parents[1], new_store("contract_change"))
    log_and_register(settings, champion_outcome)
    client = serve(settings)
    three_year = {**example_customer, "contract": "Three year"}
    assert client.post("/predict", json=three_year).status_code == 422, "version 1 accepted an unknown category"
    grown = dataclasses.replace(
        champion_outcome, contract=_contract_with(champion_outcome.contract, "contract", "Three year")
    )
    second = log_and_register(settings, grown, apply=False)
    # When it is promoted and the service reloads
    apply_decision(settings, second.version, second.run_id, second.decision)
    assert client.post("/admin/reload").json()["version"] == "2"
    # Then the schema is version 2's
    accepted = client.post("/predict", json=three_year)
    assert accepted.status_code == 200, f"version 2's contract was not applied: {accepted.text}"
    schema = client.app.openapi()["components"]["schemas"]["Customer"]
    assert "Three year" in schema["properties"]["contract"]["enum"], "/openapi.json still shows version 1's schema"
