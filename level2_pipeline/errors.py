"""Errors a user can fix, and how each becomes one line.

A failure the user can act on (a missing file, a bad setting, data that breaks the contract) is reported as one
line that says what is wrong and what to do, never as a traceback; a real bug keeps its traceback. Every entry
point (make data, make level2, kedro run, the level-3 commands, the service) goes through `explain`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class UserFacingError(RuntimeError):
    """An error whose message alone tells the user what is wrong and what to do."""


class ConfigError(UserFacingError):
    """A setting in conf/ or the environment is invalid: the message names where, the key, expected and found."""


def _problem(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "required, but not set"
    if kind == "extra_forbidden":
        return "unknown key (a typo? check the spelling)"
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    expected = message.removeprefix("Input should be ").removeprefix("input should be ")
    value = error.get("input")
    found = "a mapping" if isinstance(value, dict) and len(repr(value)) > 60 else repr(value)
    return f"expected {expected}, found {found if len(found) <= 60 else found[:57] + '...'}"


SHOWN_ERRORS = 3


def describe_invalid(errors: list[dict[str, Any]], where: Callable[[tuple[Any, ...]], str]) -> str:
    """`conf/local/parameters_data_science.yml: model.C: expected greater than 0, found -1` (one line).

    `errors` are pydantic's `ValidationError.errors()`; `where(loc)` names the file or variable holding the key
    (and the key itself) for an error's location. The first few errors are shown, the rest counted.
    """
    parts = [f"{where(tuple(e.get('loc', ())))}: {_problem(e)}" for e in errors[:SHOWN_ERRORS]]
    more = f" (+{len(errors) - SHOWN_ERRORS} more)" if len(errors) > SHOWN_ERRORS else ""
    return "; ".join(parts) + more


def explain(exc: BaseException) -> str | None:
    """The one-line explanation of a failure a user can fix, or None for a real bug (keep its traceback)."""
    from level2_pipeline.contract import DataContractError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DataContractError | UserFacingError):
            return str(seen)
        if isinstance(seen, FileNotFoundError):
            name = seen.filename or str(seen)
            hint = "run `make data` first" if "01_raw" in str(name) else "run the step that writes it first"
            return f"file not found: {name}: {hint}"
        if type(seen).__name__ in {"ParameterValidationError", "ValidationError"}:
            return f"invalid configuration in conf/: {' '.join(str(seen).split())}"
        if type(seen).__module__.startswith(("yaml", "omegaconf")):  # a file in conf/ that does not parse
            return f"invalid configuration file: {' '.join(str(seen).split())} (fix its YAML)"
        seen = seen.__cause__ or seen.__context__
    return None
