"""`make serve`: the champion on uvicorn; refuses to start without one, or beyond loopback without a key."""

from __future__ import annotations

import logging
import signal
import sys

from level3_system.settings import Level3Settings

logger = logging.getLogger("level3_system")

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def serve(settings: Level3Settings, wait_for_champion: bool = False) -> int:
    """`wait_for_champion` (the platform's service): start unready and load the first champion when one appears."""
    from level3_system.lifecycle.registry import NoModelError, resolve

    serving = settings.serving
    if serving.host not in LOOPBACK and not serving.api_key:
        if not serving.allow_public_without_key:
            print(
                f"level 3 serve: refusing to bind {serving.host} without an API key (anyone who can reach it could "
                "call /predict, /feedback and /admin/reload): set CHURN_SERVING__API_KEY, or "
                "CHURN_SERVING__ALLOW_PUBLIC_WITHOUT_KEY=true on a network you trust",
                file=sys.stderr,
            )
            return 2
        logger.warning("WARNING: binding to %s without an API key (allow_public_without_key is set)", serving.host)
    try:
        version = resolve(settings).version
    except NoModelError as exc:
        if not (wait_for_champion and serving.reload_interval_seconds > 0):
            print(f"level 3 serve: {exc}", file=sys.stderr)
            return 1
        version = "none yet: waiting for the first champion"
    import uvicorn

    from level3_system.serving.app import create_app

    app = create_app(settings)
    print(
        f"serving {settings.registered_model}@{serving.model_alias} (version {version}) on "
        f"http://{serving.host}:{serving.port}  — try http://{serving.host}:{serving.port}/docs",
        flush=True,
    )
    # uvicorn shuts down gracefully on SIGTERM / Ctrl-C (requests in flight finish, the lifespan flushes the
    # prediction log), then re-raises the signal through the handlers it found: these make that a clean exit 0.
    stopped: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda number, frame: stopped.append(number))
    uvicorn.run(app, host=serving.host, port=serving.port, log_level="warning", access_log=False)
    if stopped:
        logger.info("stopped by %s: requests in flight done, log flushed", signal.Signals(stopped[0]).name)
    return 0
