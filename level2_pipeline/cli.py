"""Kedro's project CLI hook (`kedro run` loads `<package>.cli`): Kedro's own `run`, with the project's errors.

Kedro's CLI prints a traceback for any failure. A failure the user can fix (a bad setting in conf/, a missing raw
file, data that breaks the contract) is printed here as one line naming what to do, exit code 1; a real bug keeps
its traceback. Options and behaviour are otherwise those of `kedro run` (its own click command is reused).
"""

from __future__ import annotations

from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run

from level2_pipeline.errors import explain
from level2_pipeline.project import apply_quiet_environment


@click.group(name="churn-maturity")
def cli() -> None:
    """Project commands."""


def _run(**options: Any) -> Any:
    from level2_pipeline.config import check_env

    apply_quiet_environment()
    try:
        check_env(options.get("env"))
        return kedro_run.callback(**options)  # type: ignore[misc]
    except Exception as exc:
        message = explain(exc)
        if message is None:
            raise
        raise click.ClickException(message) from None


cli.add_command(click.Command("run", params=kedro_run.params, callback=_run, help=kedro_run.help))
