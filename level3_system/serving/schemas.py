"""Request models, generated from the data contract of the served version (the answers: `responses.py`).

Categories become enums, ranges become bounds, unknown fields are rejected, and types are strict (no "5" for
5, no true or 1.5 for a 0/1 flag, no NaN; 1.0 is 1, as JSON Schema has it). Each loaded version builds its
own (`RequestModels`), from the contract it was trained with: a fork that edits its data contract and trains
gets a matching API, and editing conf/ alone changes nothing a running service accepts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from level2_pipeline.contract import Column, DataContract
from level3_system.validation.checks import OPERATORS, negate


def _whole(value: Any) -> Any:
    """1.0 is an integer in JSON Schema (and so to a client generated from the document): taken as 1. 1.5, "1"
    and true are still refused by the strict check after this."""
    return int(value) if type(value) is float and value.is_integer() else value


KINDS: dict[str, Any] = {"int": int, "float": float, "str": str}


def _value_type(column: Column, *, ge: float | None = None, le: float | None = None) -> Any:
    """The type of a column's value, its bounds on it. The bounds come before the whole-number step and sit on
    the value, not on an optional of it: either way round pydantic writes unknown "ge"/"le" keywords into the
    document instead of "minimum"/"maximum"."""
    if column.role == "categorical" and column.categories:
        return Literal[tuple(column.categories)]
    bounds = Field(ge=ge, le=le)
    if column.dtype == "int":
        return Annotated[int, bounds, BeforeValidator(_whole)]
    return Annotated[KINDS[column.dtype], bounds]


def _example(column: Column) -> Any:
    if column.example is not None:
        return column.example
    if column.categories:
        return column.categories[0]
    low, high = column.min or 0, column.max if column.max is not None else (column.min or 0)
    return int((low + high) / 2) if column.dtype == "int" else (low + high) / 2


def example_customer(contract: DataContract) -> dict[str, Any]:
    return {name: _example(contract.columns[name]) for name in contract.features}


def _id_field(contract: DataContract) -> dict[str, Any]:
    """The contract's id column as an optional field: not a model input, but logged, so feedback can name the
    customer instead of the request."""
    name = contract.id_column
    if name is None:
        return {}
    column = contract.columns[name]
    kind = _value_type(column, ge=column.min if column.dtype != "str" else None)
    described = Field(
        description="your id of this customer (optional): kept in the prediction log, so feedback can name it",
    )
    return {name: (Annotated[kind | None, described], None)}


def customer_model(contract: DataContract) -> type[BaseModel]:
    """A pydantic model with one field per feature of the contract (and the optional id)."""
    fields: dict[str, Any] = _id_field(contract)
    for name in contract.features:
        column = contract.columns[name]
        numeric = column.role == "numeric"
        kind = _value_type(column, ge=column.min if numeric else None, le=column.max if numeric else None)
        constraints = Field(description=column.description or None, examples=[_example(column)])
        if column.nullable or column.nullable_when:
            # Allowed to be missing where the source allows it; the cleaning rule fills it as in training.
            fields[name] = (Annotated[kind | None, constraints], None)
        else:
            fields[name] = (Annotated[kind, constraints], ...)
    config = ConfigDict(
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        json_schema_extra={"examples": [example_customer(contract)], **_conditional_nulls_schema(contract)},
    )
    return create_model(
        "Customer",
        __config__=config,
        __doc__="One customer, as the data contract describes it.",
        __validators__=_conditional_nulls(contract),
        **fields,
    )


def _required_unless(other: str, op: str, value: Any, *, rule: str) -> Any:
    def check(given: Any, info: ValidationInfo) -> Any:
        if given is None and other in info.data and OPERATORS[op](info.data[other], value):
            raise ValueError(f"may be null only when {rule}")
        return given

    return check


def _conditional_nulls(contract: DataContract) -> dict[str, Any]:
    """A column null only under a condition (`total_charges` when `tenure == 0`) is required elsewhere.

    One field validator per such column, so the error names the column. It reads the condition's column from
    the fields validated before it (the contract lists `tenure` before `total_charges`).
    """
    validators = {}
    for name, column in contract.columns.items():
        if not column.nullable_when or column.nullable or name not in contract.features:
            continue
        check = _required_unless(*negate(column.nullable_when), rule=column.nullable_when)
        validators[f"_null_only_when_{name}"] = field_validator(name, mode="after")(check)
    return validators


JSON_TYPES = {"int": "integer", "float": "number", "str": "string"}
# A condition as a JSON Schema on its column: what the document says where the validators say it in Python.
_JSON_CONDITIONS = {
    "==": lambda v: {"const": v},
    "!=": lambda v: {"not": {"const": v}},
    "<": lambda v: {"exclusiveMaximum": v},
    "<=": lambda v: {"maximum": v},
    ">": lambda v: {"exclusiveMinimum": v},
    ">=": lambda v: {"minimum": v},
}


def _conditional_nulls_schema(contract: DataContract) -> dict[str, Any]:
    """`_conditional_nulls` in the OpenAPI document: a client generated from it (or a fuzzer) knows that
    `total_charges` may be null or missing only when `tenure == 0`."""
    rules = []
    for name, column in contract.columns.items():
        if not column.nullable_when or column.nullable or name not in contract.features:
            continue
        other, required_op, value = negate(column.nullable_when)
        allowed_op = negate(f"{other} {required_op} {value!r}")[1]  # back to the condition itself
        given = {"required": [name], "properties": {name: {"not": {"type": "null"}}}}
        rules.append({"anyOf": [given, {"properties": {other: _JSON_CONDITIONS[allowed_op](value)}}]})
    return {"allOf": rules} if rules else {}


def batch_model(customer: type[BaseModel], max_batch: int, contract: DataContract) -> type[BaseModel]:
    config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"customers": [example_customer(contract)]}]})
    return create_model(
        "CustomerBatch",
        __config__=config,
        customers=(Annotated[list[customer], Field(min_length=1, max_length=max_batch)], ...),
    )


class InvalidBody(ValueError):
    """A request body that does not validate: pydantic's errors, located as FastAPI locates them."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} validation error(s)")
        self.errors = errors


def outcome_model(contract: DataContract) -> type[BaseModel]:
    """An observed outcome: the target's value for a request id, or for a customer (the contract's id column)."""
    target = contract.columns[contract.target]
    kind = Literal[tuple(target.categories)] if target.categories else str
    fields: dict[str, Any] = {
        "request_id": (Annotated[str | None, Field(max_length=128, description="as /predict returned it")], None),
        **_id_field(contract),
        contract.target: (Annotated[kind, Field(description="what was observed, in the contract's values")], ...),
        "observed_at": (datetime | None, Field(default=None, description="when it was observed (default: now, UTC)")),
    }
    keys = ["request_id", *([contract.id_column] if contract.id_column else [])]
    kinds = {
        "request_id": "string",
        **({contract.id_column: JSON_TYPES[contract.columns[contract.id_column].dtype]} if contract.id_column else {}),
    }
    # "exactly one of the keys is given (not null)", as the document says it: a oneOf of one branch per key
    exactly_one = [{"required": [key], "properties": {key: {"type": kinds[key]}}} for key in keys]

    def one_key(self: Any) -> Any:
        given = [k for k in keys if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {' or '.join(keys)}")
        return self

    return create_model(
        "Outcome",
        __config__=ConfigDict(extra="forbid", strict=True, json_schema_extra={"oneOf": exactly_one}),
        __doc__="One observed outcome, named by exactly one of its keys.",
        __validators__={"_one_key": model_validator(mode="after")(one_key)},
        **fields,
    )


@dataclass(frozen=True)
class RequestModels:
    """The request models of one data contract: one customer, a batch of up to `max_batch` of them, and their
    observed outcomes (one, or a batch)."""

    customer: type[BaseModel]
    batch: type[BaseModel]
    outcome: type[BaseModel]
    outcomes: type[BaseModel]

    @classmethod
    def of(cls, contract: DataContract, max_batch: int) -> RequestModels:
        customer = customer_model(contract)
        outcome = outcome_model(contract)
        outcomes = create_model(
            "OutcomeBatch",
            __config__=ConfigDict(extra="forbid"),
            outcomes=(Annotated[list[outcome], Field(min_length=1, max_length=max_batch)], ...),
        )
        return cls(customer, batch_model(customer, max_batch, contract), outcome, outcomes)


def parse_body(model: type[BaseModel], body: bytes) -> BaseModel:
    """Validate a JSON body in one pass (pydantic's parser); InvalidBody with every error, each named by field.

    A body pydantic's strict JSON parser refuses (a bare NaN, which Python's json writes) is read by Python's json
    and validated again, so that the error names the field rather than a position in the text.
    """
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if not errors or errors[0]["type"] != "json_invalid":
            raise InvalidBody(errors) from None
    try:
        data = json.loads(body)
    except RecursionError:  # nested deeper than Python's parser goes: a hostile body, not a server error
        raise InvalidBody([{"loc": ("body",), "msg": "JSON nested too deeply", "type": "json_invalid"}]) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidBody([{"loc": ("body",), "msg": f"Invalid JSON: {exc}", "type": "json_invalid"}]) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidBody(exc.errors(include_url=False)) from None


def body_schema(schema: str) -> dict[str, Any]:
    """A route's request body as OpenAPI documents it: the served version's schema (serving/openapi.py)."""
    reference = {"$ref": f"#/components/schemas/{schema}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": reference}}}}


def validated(model: Any, body: bytes) -> Any:
    """`parse_body` for a route: an invalid body is FastAPI's validation error (a 422 naming each field)."""
    from fastapi.exceptions import RequestValidationError

    try:
        return parse_body(model, body)
    except InvalidBody as exc:
        raise RequestValidationError(exc.errors) from None
