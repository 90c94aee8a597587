"""One OpenAPI document for the whole public surface, merged from the services' own documents."""

import logging
import time
from typing import Any

import orjson

from gateway.registry import SERVICES, Service
from gateway.services import ServiceClient

log = logging.getLogger("gateway.openapi")
_REF = "#/components/schemas/"


def merge(gateway_doc: dict[str, Any], service_docs: dict[str, dict[str, Any]],
          services: tuple[Service, ...] = SERVICES) -> dict[str, Any]:
    """The gateway's document plus every routed path of each service, under its public path.

    Schema names are prefixed with the service name so two services' `Candle` never collide.
    """
    merged = {**gateway_doc, "paths": dict(gateway_doc.get("paths", {}))}
    schemas = dict(merged.setdefault("components", {}).get("schemas", {}))
    for service in services:
        doc = service_docs.get(service.name)
        if doc is None:
            continue
        prefix = f"{service.name}_"
        doc = orjson.loads(orjson.dumps(doc).decode().replace(f'"{_REF}', f'"{_REF}{prefix}'))
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            schemas[prefix + name] = schema
        for route in service.routes:
            if route.target in doc.get("paths", {}):
                merged["paths"][route.path] = _aliased(doc["paths"][route.target], route.as_query)
    merged["components"]["schemas"] = schemas
    return merged


def _aliased(item: dict[str, Any], as_query: str | None) -> dict[str, Any]:
    """A service path's operations as an alias route shows them: the query parameter it takes from the path
    becomes a required path parameter."""
    if as_query is None:
        return item
    aliased = {}
    for method, operation in item.items():
        parameters = [{**p, "in": "path", "required": True} if p.get("in") == "query" and p["name"] == as_query
                      else p for p in operation.get("parameters", [])]
        aliased[method] = {**operation, "parameters": parameters, "operationId": f"{operation.get('operationId')}_path",
                           "description": f"The same as the query form, with `{as_query}` in the path."}
    return aliased


class OpenApiMerger:
    """Fetches service documents when asked, keeping them a minute; a down service drops out, logged."""

    def __init__(self, services: ServiceClient, ttl: float = 60.0):
        self.services = services
        self.ttl = ttl
        self._docs: dict[str, tuple[float, dict[str, Any]]] = {}

    async def document(self, gateway_doc: dict[str, Any]) -> dict[str, Any]:
        docs = {}
        for service in SERVICES:
            if not service.routes:
                continue
            fetched_at, doc = self._docs.get(service.name, (0.0, None))
            if doc is None or time.monotonic() - fetched_at > self.ttl:
                try:
                    response = await self.services.get(service.name, "/openapi.json")
                    doc = orjson.loads(response.content)
                    self._docs[service.name] = (time.monotonic(), doc)
                except Exception as exc:  # the docs page must render even while a service is down
                    log.warning("no OpenAPI document from %s: %s", service.name, exc)
            if doc is not None:
                docs[service.name] = doc
        return merge(gateway_doc, docs)
