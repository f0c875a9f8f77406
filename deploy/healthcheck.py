"""A container's health probe: exit 0 when a URL answers 200, else exit 1 with the reason on stderr.

The slim image has no curl or wget; Python's urllib is enough. Without an argument it probes the model service's
/ready on CHURN_SERVING__PORT (default 8000) — the image's HEALTHCHECK. compose.yaml passes the URL for the other
processes of the same image (MLflow's /health, Prefect's /api/health, the deployments' runner's /health).
"""

from __future__ import annotations

import os
import sys
import urllib.request


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else f"http://127.0.0.1:{os.environ.get('CHURN_SERVING__PORT', '8000')}/ready"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            if response.status == 200:
                return 0
            sys.exit(f"{url}: HTTP {response.status}")
    except OSError as exc:  # URLError and HTTPError (503 while no model is loaded) are OSErrors
        sys.exit(f"{url}: {exc}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
