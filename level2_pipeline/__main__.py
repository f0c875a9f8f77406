"""`python -m level2_pipeline`: run the Kedro pipelines and print where the results went."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from level2_pipeline.errors import UserFacingError
from level2_pipeline.project import apply_quiet_environment
from level2_pipeline.runner import run

logger = logging.getLogger("level2_pipeline")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m level2_pipeline", description=__doc__)
    parser.add_argument("--pipeline", action="append", help="pipeline to run (default: all)")
    parser.add_argument("--env", default=None, help="Kedro configuration environment (default: local)")
    parser.add_argument("--data-dir", default=None, help="root of the data layers (default: data/)")
    args = parser.parse_args(argv)
    apply_quiet_environment()

    started = time.perf_counter()
    try:
        catalog = run(args.pipeline or ["__default__"], env=args.env, data_dir=args.data_dir)
    except UserFacingError as exc:
        logging.getLogger("level2_pipeline").error("level 2 failed: %s", exc)
        return 1
    seconds = time.perf_counter() - started
    if catalog.exists("metrics") and not args.pipeline:
        metrics = catalog.load("metrics")
        shown = ", ".join(f"{k}={metrics[k]:.4f}" for k in ("roc_auc", "pr_auc", "f1", "accuracy"))
        logger.info("level 2 done in %.1f s: %s", seconds, shown)
        logger.info("metrics: %s", json.dumps(metrics, sort_keys=True))
    else:
        logger.info("level 2 done in %.1f s", seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
