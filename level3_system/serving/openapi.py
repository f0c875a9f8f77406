"""The OpenAPI document of the version being served: its request schemas, title and description.

The scoring routes validate bodies against the served version's request models (`RequestModels`), so the
document is built from them too, and rebuilt when a reload brings a version with another contract. Before any
version is loaded it shows today's conf/ contract.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from level2_pipeline.contract import DataContract
from level3_system.serving.schemas import RequestModels
from level3_system.settings import Level3Settings

REF = "#/components/schemas/{model}"


def title_of(contract: DataContract) -> str:
    return f"{contract.name.replace('_', ' ').capitalize()} API"  # "Telco churn API" for telco_churn


def describe(contract: DataContract, settings: Level3Settings) -> str:
    return (
        f"Probability that {contract.target} is {contract.positive_class!r}, from the registry's "
        f"{settings.registered_model}@{settings.serving.model_alias} model. {contract.description} "
        "Request schema generated from the data contract the served version was trained with."
    )


def install(app: FastAPI, settings: Level3Settings) -> None:
    cache: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        store = app.state.store
        current = store.current
        key = f"{current.version}:{current.trained_with.source}" if current is not None else "conf"
        if cache.get("key") != key:
            contract = current.contract if current is not None else store.conf_contract()
            models = current.requests if current is not None else RequestModels.of(contract, settings.serving.max_batch)
            cache.update(key=key, schema=_document(app, settings, contract, models))
        app.openapi_schema = cache["schema"]
        return cache["schema"]

    app.openapi = openapi  # type: ignore[method-assign]


def _document(app: FastAPI, settings: Level3Settings, contract: DataContract, models: RequestModels) -> dict[str, Any]:
    document = get_openapi(
        title=title_of(contract), version=app.version, description=describe(contract, settings), routes=app.routes
    )
    # Every body the routes declare by name (`body_schema`): the customers' and the outcomes' models.
    bodies = [(model, "validation") for model in (models.customer, models.batch, models.outcome, models.outcomes)]
    _, schemas = models_json_schema(bodies, ref_template=REF)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.update(schemas.get("$defs", {}))
    return document
