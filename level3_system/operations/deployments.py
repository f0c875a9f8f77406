"""`python -m level3_system.operations.deployments`: the project's deployments, served by one process with
Prefect's `serve`.

- `train/train`: on a cron schedule (`continuous_training.cron`, parameter trigger=schedule), and triggered by the
  monitor's alert event (trigger=drift, the event's payload as `alert`). The trigger is a debounce: proactive,
  firing once `quiet_period_seconds` pass with no further alert of the same model, so a burst of alerts starts
  one training (with the last alert's payload). A concurrency limit of one: a second training waits for the first,
  so two never race to move `champion`.
- `monitor/monitor`: every `monitor_interval_seconds` (one at a time).

Schedules run only on a real Prefect server (`make platform` starts one; ephemeral mode runs no scheduler).
`make platform` runs this file; `PREFECT_API_URL` points it at another server.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from level2_pipeline.project import apply_quiet_environment
from level3_system.settings import Level3Settings, apply_environment, load_settings

logger = logging.getLogger("level3_system")

# Interval schedules are anchored here, not at each start of `serve` (which would shift them at every restart).
ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)


def model_resource(settings: Level3Settings) -> str:
    """The Prefect resource the alert events are about: one per registered model (forks do not cross-trigger)."""
    return f"churn.model.{settings.registered_model}"


def drift_trigger(settings: Level3Settings) -> Any:
    from prefect.events import DeploymentEventTrigger
    from prefect.events.schemas.automations import Posture

    ct = settings.continuous_training
    return DeploymentEventTrigger(
        name=f"{settings.registered_model}: retrain on drift",
        # Proactive, after = expect, per resource: fires once the quiet period passes with no further alert. (A
        # reactive trigger with `within` only throttles on a fixed time grid; without for_each a proactive one
        # fires on its own every other period: both measured.)
        after={ct.event},
        expect={ct.event},
        match={"prefect.resource.id": model_resource(settings)},
        for_each={"prefect.resource.id"},
        posture=Posture.Proactive,
        threshold=1,
        within=timedelta(seconds=ct.quiet_period_seconds),
        parameters={"trigger": "drift", "alert": "{{ event.payload }}"},
    )


def deployments(settings: Level3Settings) -> list[Any]:
    from prefect.schedules import Cron, Interval

    from level3_system.monitoring.flow import monitor
    from level3_system.training.flow import train

    ct = settings.continuous_training
    return [
        train.to_deployment(
            name="train",
            description="Train, validate, register and maybe promote: on a schedule, on drift, or by hand.",
            schedules=[Cron(ct.cron, timezone="UTC", parameters={"trigger": "schedule"})],
            triggers=[drift_trigger(settings)],
            parameters={"trigger": "manual"},
            concurrency_limit=1,
            tags=["level3", "continuous-training"],
        ),
        monitor.to_deployment(
            name="monitor",
            description="The served version's traffic against its reference; an alert triggers training.",
            schedules=[Interval(timedelta(seconds=ct.monitor_interval_seconds), anchor_date=ANCHOR)],
            concurrency_limit=1,
            tags=["level3", "monitoring"],
        ),
    ]


def main() -> int:
    apply_quiet_environment()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    settings = load_settings()
    apply_environment(settings)
    from prefect import serve

    served = deployments(settings)
    logger.info("serving deployments %s", ", ".join(f"{d.flow_name}/{d.name}" for d in served))
    # Stopping must not pause them: the scheduler keeps creating runs, executed at the next start.
    serve(*served, pause_on_shutdown=False, print_starting_message=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
