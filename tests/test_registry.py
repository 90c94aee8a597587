"""The gateway's service registry against the services themselves: every route forwards exactly the
parameters its service accepts (a new parameter can never be dropped silently), and the merged document
shows each route under its public path."""

import httpx
import pytest

from gateway.registry import SERVICES, Route

ROUTED = [(service.name, route) for service in SERVICES for route in service.routes]


def parameters(operation: dict, where: str) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == where}


@pytest.fixture(scope="module")
def service_docs(suite) -> dict[str, dict]:
    return {name: httpx.get(f"{suite.url(name)}/openapi.json", timeout=30).json()
            for name in {name for name, _ in ROUTED}}


@pytest.mark.parametrize("service, route", ROUTED, ids=[route.path for _, route in ROUTED])
def test_each_route_forwards_every_parameter_its_service_accepts(service_docs, service: str, route: Route):
    operation = service_docs[service]["paths"].get(route.target, {}).get(route.method.lower())
    assert operation is not None, f"{service} has no {route.method} {route.target}"
    accepted = parameters(operation, "query")
    assert set(route.params) == accepted, (
        f"{route.path}: the registry forwards {sorted(route.params)}, {service} accepts {sorted(accepted)}")
    assert parameters(operation, "path") == ({route.param} if route.param else set())


def test_the_merged_document_shows_every_route_with_its_services_parameters(api, service_docs):
    merged = api.get("/openapi.json").json()
    for service, route in ROUTED:
        operation = merged["paths"][route.path][route.method.lower()]
        original = service_docs[service]["paths"][route.target][route.method.lower()]
        assert parameters(operation, "query") == parameters(original, "query"), route.path
        assert parameters(operation, "path") == parameters(original, "path"), route.path
