"""The servers a command needs, checked before it starts: one line naming the variable, instead of minutes of
client retries and a traceback per retry (MLflow's HTTP client alone retries for ~2 minutes)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from level2_pipeline.errors import UserFacingError
from level3_system.settings import Level3Settings


def unreachable(url: str, timeout: float = 3.0) -> str | None:
    """None when something accepts connections at the URL's host and port (http(s)://, tcp://), else why not."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout).close()
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__
    return None


def _servers(settings: Level3Settings, prefect: bool) -> list[tuple[str, str, str]]:
    """(what, url, setting) of each configured server: the MLflow server, and the Prefect server (`prefect`)."""
    found = []
    if settings.tracking_uri and settings.tracking_uri.startswith(("http://", "https://")):
        found.append(("MLflow server", settings.tracking_uri, "MLFLOW_TRACKING_URI / tracking_uri"))
    if prefect and settings.prefect_api_url:
        found.append(("Prefect server", settings.prefect_api_url, "PREFECT_API_URL / prefect_api_url"))
    return found


def require_servers(settings: Level3Settings, prefect: bool = True) -> None:
    """The configured MLflow server and (`prefect`) Prefect server answer, when they are servers, not embedded."""
    for what, url, setting in _servers(settings, prefect):
        why = unreachable(url)
        if why is not None:
            raise UserFacingError(
                f"no {what} answers at {url} ({why}): start it, or unset {setting} to use the embedded one"
            )


def lost_server(settings: Level3Settings, error: object) -> str | None:
    """A run that failed on transient I/O while a configured server is down: one line naming that server (what
    the client's error hides under a URL and a retry count), else None."""
    from level3_system.runtime.retry import is_transient

    if not isinstance(error, BaseException) or not is_transient(error):
        return None
    for what, url, _ in _servers(settings, prefect=True):
        why = unreachable(url)
        if why is not None:
            return (
                f"the {what} at {url} stopped answering during the run ({why}) and was still down after "
                f"{settings.retries} retries: start it and run again"
            )
    return None
