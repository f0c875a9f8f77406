"""`make lint`: what the Compose schema cannot see in compose.yaml and the Dockerfile, checked offline.

The schema (deploy/schemas/compose-spec.json) checks each key's shape; `docker compose config` would check the
references, but it needs the Compose plugin, which a lint run cannot assume. So, here: every `depends_on` names a
service, and one it waits healthy for has a probe; every named volume is declared and every bound file exists;
published ports are bound to 127.0.0.1; no secret is written in the file (passwords and keys come from
`${VARIABLE:?...}`); the image's telemetry switches are level2_pipeline/project.py's QUIET_ENVIRONMENT; the
Grafana dashboards are JSON. Exit 0, or 1 with one line per problem.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from level2_pipeline.project import QUIET_ENVIRONMENT  # noqa: E402

SECRET_NAME = re.compile(r"PASSWORD|API_KEY|SECRET|TOKEN", re.IGNORECASE)
REQUIRED_VARIABLE = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*:\?[^}]*\}$")
URL_PASSWORD = re.compile(r"://[^:/@\s]+:(\$\{[^}]*\}|[^@\s]+)@")


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): str(value) for key, value in env.items()}


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


def compose_problems(compose: dict[str, Any]) -> list[str]:
    services: dict[str, dict[str, Any]] = compose.get("services") or {}
    declared = set(compose.get("volumes") or {})
    problems = []
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        for target, rule in depends.items() if isinstance(depends, dict) else ((t, {}) for t in depends):
            if target not in services:
                problems.append(f"services.{name}.depends_on: no service {target!r}")
            elif (rule or {}).get("condition") == "service_healthy":
                probe = services[target].get("healthcheck") or {}
                if not probe.get("test") or probe.get("disable"):
                    problems.append(f"services.{name} waits for {target} to be healthy: {target} has no healthcheck")
        for mount in service.get("volumes") or []:
            source = str(mount.get("source", "") if isinstance(mount, dict) else mount.split(":", 1)[0])
            if source.startswith((".", "/")):
                if not (ROOT / source).exists():
                    problems.append(f"services.{name}.volumes: {source} does not exist")
            elif source and source not in declared:
                problems.append(f"services.{name}.volumes: named volume {source!r} is not declared under volumes:")
        for port in service.get("ports") or []:
            if not str(port).startswith("127.0.0.1:"):
                problems.append(f"services.{name}.ports: {port} is published beyond 127.0.0.1")
        for key, value in _environment(service).items():
            if SECRET_NAME.search(key) and not REQUIRED_VARIABLE.match(value):
                problems.append(f"services.{name}.environment.{key}: a secret in the file (use ${{VARIABLE:?...}})")
        for text in _strings({k: v for k, v in service.items() if k != "healthcheck"}):
            for password in URL_PASSWORD.findall(text):
                if not REQUIRED_VARIABLE.match(password):
                    problems.append(f"services.{name}: a URL with a literal password ({text.split('@')[-1]})")
    return problems


def dockerfile_problems(dockerfile: str) -> list[str]:
    joined = re.sub(r"\\\n", " ", dockerfile)
    env = dict(re.findall(r'\b([A-Z][A-Z0-9_]*)=("[^"]*"|\S+)', " ".join(re.findall(r"^ENV (.*)$", joined, re.M))))
    return [
        f"Dockerfile: ENV {name}={env.get(name, '(unset)')}, expected {value} (level2_pipeline/project.py)"
        for name, value in QUIET_ENVIRONMENT.items()
        if env.get(name, "").strip('"') != value
    ]


def main() -> int:
    problems = compose_problems(yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8")))
    problems += dockerfile_problems((ROOT / "Dockerfile").read_text(encoding="utf-8"))
    for dashboard in sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json")):
        try:
            json.loads(dashboard.read_text(encoding="utf-8"))
        except ValueError as exc:
            problems.append(f"{dashboard.relative_to(ROOT)}: not JSON ({exc})")
    if problems:
        sys.exit("deploy/check.py: compose.yaml / Dockerfile:\n  " + "\n  ".join(problems))
    return 0


if __name__ == "__main__":
    sys.exit(main())
