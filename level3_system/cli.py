"""`python -m level3_system <command>`: the level-3 system's entry point (the Makefile calls it).

train      run the Prefect flow: gates, level-2 pipelines, MLflow tracking, registry, promotion
validate   run the two validation gates alone (no training, no registry)
serve      serve the champion model with FastAPI on 127.0.0.1:8000
ui         start the MLflow UI and the Prefect UI on 127.0.0.1
monitor    drift and realized performance of the served version's traffic (the monitor flow)
feedback   record observed outcomes from a CSV or Parquet file
traffic    replay real customers (a scenario of conf/) to the running service, and their outcomes
platform   a persistent Prefect server, the deployments (scheduled and drift-triggered training, the monitor)
           and the service, on 127.0.0.1, until Ctrl-C
demo-loop  the platform, baseline then shifted traffic, the alert, the triggered training, the new champion served
score      score a CSV/Parquet file, folder or glob with one pinned version: predictions/, rejects/, _SUCCESS
synth      write a partitioned Parquet input drawn from the real data (ROWS=, OUTPUT=)
init       write conf/<env>/ (contract, source, cleaning, catalog, level-3 settings) inferred from a CSV file

Each command imports only what it needs (`validate` never loads Prefect or MLflow). A failure the user can fix
(bad settings, a registry server without a champion) is one line on stderr and a non-zero exit, never a traceback.
What a command needs and does not find (the data, a first champion, a running service) it sets up itself and
says so (`needs`, bootstrap.py): every command works as the first one of a fresh clone.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError

from level2_pipeline.errors import ConfigError, describe_invalid, explain
from level3_system.operations import bootstrap
from level3_system.operations.bootstrap import CHAMPION, DATA, SERVICE
from level3_system.runtime.reachability import require_servers
from level3_system.runtime.tracelog import details
from level3_system.settings import Level3Settings, ServingSettings, apply_environment, load_settings

logger = logging.getLogger("level3_system")


@dataclass(frozen=True)
class Command:
    """A command: its function (`module:function`, imported when it runs: it gets the settings and the arguments
    by name), one line of help, its arguments (positional, `--flags`, `--options value`), and what it needs that
    `bootstrap.py` sets up when missing."""

    target: str
    help: str
    positional: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # set up first when missing (bootstrap.py): data, champion, service

    @property
    def arguments(self) -> tuple[str, ...]:
        return (*self.positional, *self.flags, *self.options)


COMMANDS: dict[str, Command] = {
    "train": Command("level3_system.training.command:train", "train through the level-3 flow"),
    "validate": Command("level3_system.training.command:validate", "run the two validation gates alone"),
    "serve": Command(
        "level3_system.serving.command:serve", "serve the champion", flags=("wait_for_champion",), needs=(CHAMPION,)
    ),
    "ui": Command("level3_system.operations.ui:ui", "start the MLflow and Prefect UIs"),
    "monitor": Command(
        "level3_system.monitoring.command:monitor", "drift and performance of the served version", needs=(CHAMPION,)
    ),
    "feedback": Command(
        "level3_system.monitoring.command:feedback", "record outcomes from a file", ("file",), needs=(CHAMPION,)
    ),
    "traffic": Command(
        "level3_system.monitoring.command:traffic",
        "replay real customers",
        ("scenario",),
        needs=(DATA, CHAMPION, SERVICE),
    ),
    "platform": Command(
        "level3_system.operations.platform:platform", "Prefect server, deployments, service: until Ctrl-C"
    ),
    "demo-loop": Command(
        "level3_system.operations.demo:demo_loop", "the loop closed in a few minutes, with a timeline"
    ),
    "score": Command(
        "level3_system.scoring.command:score",
        "score a batch",
        ("input", "output"),
        options=("version", "alias", "budget"),
        needs=(CHAMPION,),
    ),
    "experiment": Command(
        "level3_system.experiment.command:experiment", "compare the model families, recommend one", needs=(DATA,)
    ),
    "synth": Command(
        "level3_system.scoring.command:synth",
        "write a large input",
        ("rows", "output"),
        options=("seed",),
        needs=(DATA,),
    ),
    "init": Command(
        "level3_system.init.command:init",
        "write conf/<env>/ inferred from a CSV file",
        ("data", "target"),
        flags=("force",),
        options=("id", "positive", "env"),
    ),
}
EXIT_CONFIG = 2
# Commands that reach the configured MLflow and Prefect servers (checked first: reachability.py).
NEEDS_SERVERS = ("train", "serve", "monitor", "feedback", "score", "experiment")
# Commands that run a Prefect flow: Prefect installs its own console format (task states, run names).
PREFECT_COMMANDS = ("train", "monitor", "demo-loop", "score", "experiment")


def _command(name: str) -> Callable[..., int]:
    module, function = COMMANDS[name].target.split(":")
    return getattr(importlib.import_module(module), function)


def _configure_logging(command: str) -> None:
    """Plain lines, except under Prefect, which installs its own console format when no root handler exists."""
    if command not in PREFECT_COMMANDS:
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
    for name in ("level2_pipeline", "level3_system"):
        logging.getLogger(name).setLevel(logging.INFO)
    for name in ("great_expectations", "kedro", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m level3_system", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, spec in COMMANDS.items():
        command = commands.add_parser(name, help=spec.help)
        for argument in spec.positional:
            command.add_argument(argument, nargs="?", help=f"{argument} (make {name} {argument.upper()}=...)")
        for flag in spec.flags:
            command.add_argument(f"--{flag.replace('_', '-')}", action="store_true")
        for option in spec.options:
            command.add_argument(f"--{option}", help=f"(make {name} {option.upper()}=...)")
        if name == "serve":
            command.add_argument("--host", help="bind address (make serve HOST=...)")
            command.add_argument("--port", help="port (make serve PORT=...)")
    return parser


def _settings(args: argparse.Namespace) -> Level3Settings:
    """The settings, with `serve --host/--port` (make serve HOST=... PORT=...) validated as the YAML's would be.

    `init` reads conf/base's: the environment it writes may be the one CHURN_KEDRO_ENV already names."""
    settings = load_settings(kedro_env=None) if args.command == "init" else load_settings()
    options = {key: value for key in ("host", "port") if (value := getattr(args, key, None)) is not None}
    if not options:
        return settings
    try:
        serving = ServingSettings(**{**settings.serving.model_dump(), **options})
    except ValidationError as exc:
        raise ConfigError(
            describe_invalid(exc.errors(), lambda loc: f"--{loc[0]} (make serve {str(loc[0]).upper()}=...)")
        ) from None
    return settings.model_copy(update={"serving": serving})


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _configure_logging(args.command)
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(f"level 3: invalid settings: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except Exception as exc:  # a conf/ file that does not parse
        message = explain(exc)
        if message is None:
            raise
        print(f"level 3: {message}", file=sys.stderr)
        return EXIT_CONFIG
    apply_environment(settings)
    spec = COMMANDS[args.command]
    missing = [name.upper() for name in spec.positional if not getattr(args, name)]
    arguments = {name: getattr(args, name) for name in spec.arguments}
    if missing:
        wanted = " ".join(f"{name}=..." for name in missing)
        print(f"level 3 {args.command}: give {wanted} (make {args.command} {wanted})", file=sys.stderr)
        return EXIT_CONFIG
    try:
        if args.command in NEEDS_SERVERS:
            require_servers(settings, prefect=args.command in PREFECT_COMMANDS)
        with bootstrap.prepare(settings, spec.needs, arguments):
            return _command(args.command)(settings, **arguments)
    except Exception as exc:
        message = explain(exc)
        if message is None:
            raise
        print(f"level 3 failed: {message}{details()}", file=sys.stderr)
        return 1
