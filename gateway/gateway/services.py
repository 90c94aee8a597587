"""Pooled HTTP to the suite's services; a service that cannot be reached becomes an envelope error."""

import httpx
import orjson

from dm_shared.errors import GatewayTimeoutError, ServiceUnavailableError


class ServiceResponse(Exception):
    """A service's non-200 answer, carried through the cache so a stale value can stand in for it."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str]):
        super().__init__(f"service answered {status}")
        self.status, self.body, self.headers = status, body, headers

    @property
    def code(self) -> str:
        """The envelope's error code, e.g. UPSTREAM_UNAVAILABLE."""
        try:
            return orjson.loads(self.body)["error"]["code"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return f"HTTP_{self.status}"


class ServiceClient:
    """One connection pool to every service."""

    def __init__(self, urls: dict[str, str], *, timeout: float):
        self.urls = {name: url.rstrip("/") for name, url in urls.items()}
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=2.0),
                                       limits=httpx.Limits(max_connections=200, max_keepalive_connections=100))

    async def close(self) -> None:
        await self._http.aclose()

    async def get(self, service: str, path: str, query: str = "", *, request_id: str | None = None) -> httpx.Response:
        """GET a service path; unreachable -> SERVICE_UNAVAILABLE, too slow -> GATEWAY_TIMEOUT."""
        return await self.send(service, "GET", path, query, request_id=request_id)

    async def send(self, service: str, method: str, path: str, query: str = "", *, body: bytes | None = None,
                   content_type: str | None = None, request_id: str | None = None) -> httpx.Response:
        """Send a request to a service path, with its body if any; failures as for `get`."""
        url = f"{self.urls[service]}{path}" + (f"?{query}" if query else "")
        headers = {"x-request-id": request_id} if request_id else {}
        if content_type:
            headers["content-type"] = content_type
        try:
            return await self._http.request(method, url, headers=headers, content=body)
        except httpx.TimeoutException as exc:
            raise GatewayTimeoutError(f"{service} did not answer in time", details={"service": service}) from exc
        except httpx.TransportError as exc:
            raise ServiceUnavailableError(f"{service} is unavailable", details={"service": service}) from exc
