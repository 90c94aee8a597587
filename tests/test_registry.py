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
    method = route.methods[0].lower()
    operation = service_docs[service]["paths"].get(route.target, {}).get(method)
    assert operation is not None, f"{service} has no {method.upper()} {route.target}"
    accepted = parameters(operation, "query")
    forwarded = set(route.params) | ({route.as_query} if route.as_query else set())
    assert forwarded == accepted, (
        f"{route.path}: the registry forwards {sorted(forwarded)}, {service} accepts {sorted(accepted)}")
    in_path = {route.param} if route.param and not route.as_query else set()
    assert parameters(operation, "path") == in_path


def test_the_merged_document_shows_every_route_with_its_services_parameters(api, service_docs):
    merged = api.get("/openapi.json").json()
    for service, route in ROUTED:
        method = route.methods[0].lower()
        operation = merged["paths"][route.path][method]
        original = service_docs[service]["paths"][route.target][method]
        moved = {route.as_query} if route.as_query else set()
        assert parameters(operation, "query") == parameters(original, "query") - moved, route.path
        assert parameters(operation, "path") == parameters(original, "path") | moved, route.path
