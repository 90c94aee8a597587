"""One OpenAPI document for the whole public surface, merged from the services' own documents."""

import logging
import time
from typing import Any

import orjson

from dm_shared.schemas import ErrorResponse

from gateway.access import ADMIN_PATHS, INTERNAL
from gateway.keys import ADMIN
from gateway.registry import SERVICES, Service
from gateway.services import ServiceClient

log = logging.getLogger("gateway.openapi")
_REF = "#/components/schemas/"
_METHODS = ("get", "post", "put", "patch", "delete")
# How a caller presents a key (or, when configured, a JWT): /docs shows an Authorize button for both.
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "An API key (`dmk_...`), or a JWT when the deployment accepts them"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "An API key (`dmk_...`)"},
}
_CREDENTIALS = [{"bearer": []}, {"apiKey": []}]
_LIMITED = "Over the caller's rate limit (RateLimit headers on every answer say how close it is)"


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
                for operation in _operations(merged["paths"][route.path]):
                    operation["x-scope"] = route.scope
                    if route.rate:
                        operation["x-rate-limit"] = route.rate
    merged["components"]["schemas"] = schemas
    _secure(merged)
    return merged


def _operations(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [operation for method, operation in item.items() if method in _METHODS]


def _secure(doc: dict[str, Any]) -> None:
    """Declare the credentials, which operations need which scope, and the 401/403/429 every operation can
    answer (a bad key anywhere is a 401; a rate limit applies everywhere)."""
    components = doc["components"]
    components["securitySchemes"] = SECURITY_SCHEMES
    error_schema = ErrorResponse.model_json_schema(ref_template=_REF + "{model}")
    components["schemas"].update(error_schema.pop("$defs", {}))
    components["schemas"].setdefault("ErrorResponse", error_schema)
    answer = {"content": {"application/json": {"schema": {"$ref": _REF + "ErrorResponse"}}}}
    for path, item in doc["paths"].items():
        for operation in _operations(item):
            scope = operation.pop("x-scope", ADMIN if path.startswith(ADMIN_PATHS) or path == INTERNAL else None)
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", {"description": "No valid credential where one is needed, or a key or "
                                                        "token that is not valid", **answer})
            responses.setdefault("429", {"description": _LIMITED, **answer})
            if scope is None:
                operation["security"] = [{}, *_CREDENTIALS]  # open: anonymous at the per-address limit
                continue
            operation["security"] = _CREDENTIALS
            responses.setdefault("403", {"description": f"The key or token lacks the `{scope}` scope", **answer})
            note = f"Needs an API key or token with the `{scope}` scope."
            operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()


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
