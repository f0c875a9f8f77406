"""Security basics, read from what the service actually mounts (a new endpoint is covered without editing here):
the API key guards every endpoint but the probes and the docs; every POST endpoint has a body limit and every
list a length limit; no request can name a model, path or URL to load (models come from the registry only); and
no secret is committed in conf/base.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from level3_support import with_serving
from support import PROJECT_ROOT

KEY = "test-key-not-a-secret"
OPEN = {"/health", "/ready", "/metrics", "/model", "/docs", "/openapi.json", "/docs/oauth2-redirect"}
LIMIT = 2_000


@pytest.fixture(scope="module")
def guarded(champion: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from level3_system.serving.app import create_app

    settings = with_serving(champion.settings, api_key=KEY, max_body_bytes=LIMIT)
    with TestClient(create_app(settings)) as client:
        yield client


def _operations(client: Any) -> list[tuple[str, str, dict[str, Any]]]:
    spec = client.get("/openapi.json").json()
    return [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()]


def test_every_endpoint_but_probes_and_docs_needs_the_key(guarded: Any) -> None:
    checked = []
    for path, method, _ in _operations(guarded):
        if path in OPEN or path.startswith("/docs"):
            continue
        answer = guarded.request(method.upper(), path, json={})
        assert answer.status_code == 401, f"{method.upper()} {path} without the key: {answer.status_code}"
        checked.append(path)
    assert {"/predict", "/predict/batch", "/feedback", "/feedback/batch", "/admin/reload"} <= set(checked), checked


def test_every_post_endpoint_bounds_its_body(guarded: Any) -> None:
    for path, method, _ in _operations(guarded):
        if method != "post":
            continue
        body = b'{"pad": "' + b"x" * LIMIT + b'"}'
        headers = {"X-API-Key": KEY, "content-type": "application/json"}
        answer = guarded.post(path, content=body, headers=headers)
        assert answer.status_code == 413, f"POST {path} with a {len(body)}-byte body: {answer.status_code}"


def _request_schemas(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The component schemas a request body uses, with those they refer to."""
    schemas, found, todo = spec["components"]["schemas"], {}, []
    for item in spec["paths"].values():
        for op in item.values():
            todo += re.findall(r"#/components/schemas/(\w+)", str(op.get("requestBody", {})))
    while todo:
        name = todo.pop()
        if name not in found:
            found[name] = schemas[name]
            todo += re.findall(r"#/components/schemas/(\w+)", str(schemas[name]))
    return found


def test_every_list_in_a_request_is_bounded(guarded: Any) -> None:
    lists = []
    for name, schema in _request_schemas(guarded.get("/openapi.json").json()).items():
        for field, prop in schema.get("properties", {}).items():
            if prop.get("type") == "array":
                lists.append(f"{name}.{field}")
                assert "maxItems" in prop, f"{name}.{field} is a list without maxItems"
    assert len(lists) >= 2, f"the batch and feedback lists were not found: {lists}"


SUSPICIOUS = {"path", "uri", "url", "file", "location", "source", "version", "alias", "model", "run"}


def test_no_request_names_what_model_to_load(guarded: Any) -> None:
    """Models come from the registry's alias only: no parameter or body field can carry a path, URI or version."""
    spec = guarded.get("/openapi.json").json()
    for path, _, op in _operations(guarded):
        for parameter in op.get("parameters", []):
            if parameter["in"] != "header":
                assert not SUSPICIOUS & set(parameter["name"].lower().split("_")), f"{path}: {parameter['name']}"
    for name, schema in _request_schemas(spec).items():
        for field in schema.get("properties", {}):
            assert not SUSPICIOUS & set(field.lower().split("_")), f"request schema {name} has a field {field!r}"
    reload = spec["paths"]["/admin/reload"]["post"]
    inputs = [p["name"] for p in reload.get("parameters", []) if p["name"].lower() != "x-api-key"]
    assert "requestBody" not in reload and not inputs, f"/admin/reload takes input: {inputs}"


def _values(node: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _values(v, f"{key}.{k}" if key else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _values(v, f"{key}[{i}]")
    else:
        yield key, node


def test_conf_base_holds_no_secret() -> None:
    named = re.compile(r"(password|passwd|secret|token|api_key|apikey|credential)", re.IGNORECASE)
    in_url = re.compile(r"://[^/\s:@]+:[^/\s@]+@")  # user:password@host
    found = []
    files = sorted((PROJECT_ROOT / "conf" / "base").glob("*.yml"))
    assert files, "no conf/base/*.yml"
    for file in files:
        for key, value in _values(yaml.safe_load(Path(file).read_text())):
            if named.search(key.rsplit(".", 1)[-1]) and value not in (None, "", False):
                found.append(f"{file.name}: {key} = {value!r}")
            if isinstance(value, str) and in_url.search(value):
                found.append(f"{file.name}: {key} has credentials in a URL")
    assert not found, f"secrets in conf/base (set them by environment variable): {found}"
