"""Which failures are worth a retry: transient I/O only, never data, contract or configuration errors.

A flaky network, a server restarting, a SQLite store that is briefly locked can succeed on a second try; a raw
file that breaks the contract, a missing column or a bad setting fails the same way every time, so retrying only
prints the same traceback again. `transient` is the `retry_condition_fn` of every task that retries.
"""

from __future__ import annotations

from typing import Any

# Failures of the environment that a later attempt may not see (MLflow wraps its REST errors in MlflowException).
_TRANSIENT_TEXT = (
    "max retries exceeded",
    "connection refused",
    "connection reset",
    "connection aborted",
    "temporarily unavailable",
    "timed out",
    "database is locked",
    "bad gateway",
    "service unavailable",
    "too many requests",
)
_TRANSIENT_CODES = {"TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED"}
# OSErrors about the data itself: a retry reads the same missing or forbidden file.
_PERMANENT_OS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def is_transient(exc: BaseException | None) -> bool:
    """True when `exc` (or what caused it) is an I/O failure that may pass on its own."""
    from level2_pipeline.contract import DataContractError
    from level2_pipeline.errors import UserFacingError

    seen = exc
    while seen is not None:
        if isinstance(seen, UserFacingError | DataContractError):
            return False
        if isinstance(seen, OSError) and not isinstance(seen, _PERMANENT_OS):
            return True
        text = str(seen).lower()
        if type(seen).__name__ == "MlflowException" and (
            getattr(seen, "error_code", None) in _TRANSIENT_CODES or any(t in text for t in _TRANSIENT_TEXT)
        ):
            return True
        if type(seen).__name__ == "OperationalError" and any(t in text for t in _TRANSIENT_TEXT):
            return True  # SQLAlchemy: a locked or restarting database
        seen = seen.__cause__ or seen.__context__
    return False


def transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's `retry_condition_fn`: retry the task only when it failed on transient I/O."""
    try:
        error = state.result(raise_on_failure=False)
    except Exception as exc:  # the state's result could not be read: judge what reading it raised
        error = exc
    return isinstance(error, BaseException) and is_transient(error)


def io_options(settings: Any) -> dict[str, Any]:
    """`with_options(**io_options(settings))` for a task that talks to a server or store: the settings' retries,
    on transient failures only."""
    return {
        "retries": settings.retries,
        "retry_delay_seconds": settings.retry_delay_seconds,
        "retry_condition_fn": transient,
    }
