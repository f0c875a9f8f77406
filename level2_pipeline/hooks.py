"""Kedro hooks: every parameter checked before the first node, and one log line per node with its time."""

from __future__ import annotations

import logging
import time
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.pipeline import Node

logger = logging.getLogger(__name__)


class ConfigCheckHook:
    """`kedro run` and `make level2` check conf/ with the typed models first: a bad value is one line naming the
    file and key (level2_pipeline/config.py), before Kedro's own validation prints it as a traceback."""

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        from level2_pipeline.config import check_parameters

        loader = context.config_loader
        check_parameters(loader["parameters"], env=loader.env, runtime=loader.runtime_params)


class RunRecorder:
    """What the last run produced, in memory: its context (validated parameters, catalog) and every node output.

    `level2_pipeline.runner.run` hands these to its caller (level 3) instead of building a second catalog after
    the run and reading the outputs back from disk (a CSV round trip is not always bit-exact for floats).
    """

    def __init__(self) -> None:
        self.context: Any = None
        self.outputs: dict[str, Any] = {}

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        self.context = context
        self.outputs = {}

    @hook_impl
    def after_node_run(self, outputs: dict[str, Any]) -> None:
        self.outputs.update(outputs)


RECORDER = RunRecorder()


class StepLogHook:
    """One log line per node, with its time: the run reads as the pipeline."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    @hook_impl
    def before_node_run(self, node: Node) -> None:
        self._started[node.name] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node: Node, outputs: dict[str, Any]) -> None:
        seconds = time.perf_counter() - self._started.pop(node.name, time.perf_counter())
        logger.info("  %-15s %5.2f s -> %s", node.name, seconds, ", ".join(outputs) or "-")
