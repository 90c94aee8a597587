"""Who may call what, how often: the caller of a request, its rate limits, the scope a route needs.

A caller is anonymous (its client address, at GATEWAY_RATE_ANONYMOUS), a key (`Authorization: Bearer
dmk_...` or `X-API-Key`, at the key's own rate or GATEWAY_RATE_KEYED) or a token subject (a JWT, when
configured). Every request counts against its caller's limit and, on a route with its own rate, against
that too; a refused request is a 429 `RATE_LIMITED` with Retry-After, and every answer carries the
RateLimit headers. A credential of ours that is not valid (unknown, revoked, expired, badly signed) is a
401 after it has counted against its address, so guessing keys is rate-limited like anything else; a
bearer value that is not ours at all (another API's token a frontend also sends) is not judged on open
routes. A route's scope (`Route.scope`) needs a key or token that has it: 401 without one, 403 with one
that lacks it.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dm_shared.envelope import error_body
from dm_shared.errors import ApiError, ForbiddenError, RateLimitedError, UnauthorizedError

from gateway.clientip import Networks, client_ip
from gateway.connections import ConnectionCap
from gateway.keys import ADMIN, PREFIX, KeyRing
from gateway.limiter import Decision, Limiter, Quota, Rate
from gateway.settings import GatewaySettings
from gateway.tokens import InvalidToken, TokenVerifier, UnknownSigningKey, looks_like_jwt

# Paths no limit or credential applies to: load balancers' liveness probes.
EXEMPT = frozenset({"/healthz"})
# Gateway-served paths that need more than an open read (routed paths say it in their Route row).
INTERNAL, ADMIN_PATHS = "/metrics", "/api/admin/"


@dataclass(frozen=True)
class Caller:
    """Who is asking: `policy` is how they are known (ip, key, token), `identity` what their limit counts."""

    policy: str
    identity: str
    address: str
    rate: Rate
    scopes: frozenset[str] = frozenset()
    key_id: str | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes or ADMIN in self.scopes


@dataclass
class Admission:
    """The outcome of admitting one request: its caller, the rate headers every answer carries, and the
    error to answer instead when it is refused."""

    caller: Caller
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    error: ApiError | None = None


class Access:
    """The edge's rules, shared by the /api fast path, the parser's hit path, FastAPI routes and /ws."""

    def __init__(self, settings: GatewaySettings, *, ring: KeyRing, limiter: Limiter | None,
                 tokens: TokenVerifier | None = None, connections: ConnectionCap | None = None):
        self.ring = ring
        self.limiter = limiter
        self.tokens = tokens
        self.connections = connections
        self.trusted = Networks(settings.trusted_proxies)
        self.internal = Networks(settings.internal_networks)
        self.anonymous_rate = Rate.parse(settings.rate_anonymous)
        self.keyed_rate = Rate.parse(settings.rate_keyed)
        self.route_rates = {path: Rate.parse(rate) for path, rate in settings.rate_routes.items()}
        self._key_rates: dict[str, Rate] = {}

    # ---- who -----------------------------------------------------------------------------------

    def identify(self, peer: str | None, headers: Sequence[tuple[bytes, bytes]]) -> tuple[Caller, ApiError | None]:
        """The caller, and the error of a credential of ours that is not valid (the caller is then its
        address). Raises UnknownSigningKey when a token's key must be fetched first (`identify_async`)."""
        address = client_ip(peer, headers, self.trusted)
        anonymous = Caller("ip", f"ip:{address}", address, self.anonymous_rate)
        key, token = _credential(headers)
        if key is not None:
            record = self.ring.verify(key)
            if record is None:
                return anonymous, UnauthorizedError()
            return Caller("key", f"key:{record.id}", address, self._rate_of(record.rate), record.scopes,
                          record.id), None
        if token is not None:
            if self.tokens is None or not looks_like_jwt(token):
                return anonymous, None  # not ours to judge: an open route serves it anonymously
            try:
                claims = self.tokens.verify(token)
            except InvalidToken:
                return anonymous, UnauthorizedError()
            return Caller("token", f"sub:{claims.subject}"[:200], address, self.keyed_rate, claims.scopes), None
        return anonymous, None

    async def identify_async(self, peer: str | None,
                             headers: Sequence[tuple[bytes, bytes]]) -> tuple[Caller, ApiError | None]:
        try:
            return self.identify(peer, headers)
        except UnknownSigningKey:
            _, token = _credential(headers)
            try:
                await self.tokens.verify_async(token)
            except InvalidToken:
                address = client_ip(peer, headers, self.trusted)
                return Caller("ip", f"ip:{address}", address, self.anonymous_rate), UnauthorizedError()
            return self.identify(peer, headers)

    def sees_internals(self, caller: Caller) -> bool:
        """Admins, and clients on the internal networks, see /metrics and the detailed /health."""
        return caller.has(ADMIN) or self.internal.contains(caller.address)

    # ---- how often -----------------------------------------------------------------------------

    def quotas(self, caller: Caller, route: str | None = None, route_rate: str | None = None) -> tuple[Quota, ...]:
        """The limits one request of `caller` on `route` counts against."""
        own = Quota(caller.policy, caller.identity, caller.rate)
        rate = self.route_rates.get(route) if route else None
        if rate is None and route_rate:
            rate = self._parsed(route_rate)
        return (own,) if rate is None else (own, Quota(route, caller.identity, rate))

    # ---- may they -----------------------------------------------------------------------------

    @staticmethod
    def refusal(caller: Caller, credential_error: ApiError | None, needed: str | None) -> ApiError | None:
        """Why `caller` may not call a route needing scope `needed` (None: open), if they may not."""
        if credential_error is not None:
            return credential_error
        if needed is None:
            return None
        if caller.policy == "ip":
            return UnauthorizedError(details={"scope": needed})
        if not caller.has(needed):
            return ForbiddenError(details={"scope": needed})
        return None

    async def admit(self, scope: dict, *, route: str | None, needed: str | None,
                    route_rate: str | None = None) -> Admission:
        """Identify, count, and check the scope of one request (HTTP or a websocket connect)."""
        peer = scope["client"][0] if scope.get("client") else None
        caller, credential_error = await self.identify_async(peer, scope["headers"])
        scope["dm.caller"] = caller
        admission = Admission(caller)
        if self.limiter is not None:
            quotas = self.quotas(caller, route, route_rate)
            decision = await self.limiter.check(quotas)
            admission.headers = decision.headers(quotas)
            if not decision.allowed:
                admission.error = limited(decision)
                return admission
        admission.error = self.refusal(caller, credential_error, needed)
        return admission

    def _rate_of(self, text: str | None) -> Rate:
        return self._parsed(text) if text else self.keyed_rate

    def _parsed(self, text: str) -> Rate:
        rate = self._key_rates.get(text)
        if rate is None:
            rate = self._key_rates[text] = Rate.parse(text)
        return rate


def limited(decision: Decision) -> RateLimitedError:
    quota = decision.quota
    return RateLimitedError(f"Rate limit of {quota.rate.limit} requests per {quota.rate.window:g} s reached",
                            retry_after=max(1.0, decision.seconds),
                            details={"policy": quota.policy, "limit": quota.rate.limit,
                                     "window_seconds": quota.rate.window})


def needed_scope(path: str) -> str | None:
    """The scope a gateway-served (not routed) path needs: admin routes need `admin`."""
    return ADMIN if path.startswith(ADMIN_PATHS) else None


def _credential(headers: Sequence[tuple[bytes, bytes]]) -> tuple[str | None, str | None]:
    """(an API key, a bearer token that is not one) from the request's headers."""
    key = token = None
    for name, value in headers:
        if name == b"x-api-key":
            key = value.decode("latin-1").strip()
        elif name == b"authorization":
            scheme, _, credential = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer":
                credential = credential.strip()
                if credential.startswith(PREFIX):
                    key = key or credential
                else:
                    token = credential or None
    return key, token


class AccessMiddleware:
    """`Access` around the gateway's own routes (health, docs, metrics, admin) and /ws: every request and
    websocket connect is counted and checked; /metrics needs an internal address or an admin key."""

    def __init__(self, app: ASGIApp, access: Callable[[], Access]):
        self.app = app
        self._access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or scope["path"] in EXEMPT or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        access = self._access()
        admission = await access.admit(scope, route=None, needed=needed_scope(scope["path"]))
        if admission.error is None and scope["path"] == INTERNAL and not access.sees_internals(admission.caller):
            admission.error = (UnauthorizedError if admission.caller.policy == "ip" else ForbiddenError)(
                details={"scope": ADMIN})
        if admission.error is not None:
            await _refuse(scope, send, admission.error, admission.headers)
            return
        if kind == "websocket":
            await self._connect(access, admission, scope, receive, send)
            return

        async def with_rate_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *admission.headers]
            await send(message)

        await self.app(scope, receive, with_rate_headers)

    async def _connect(self, access: Access, admission: Admission, scope: Scope, receive: Receive,
                       send: Send) -> None:
        cap = access.connections
        slot = await cap.take(admission.caller.address) if cap is not None else None
        if cap is not None and slot is None:
            error = RateLimitedError(f"At most {cap.limit} open websocket connections per client address",
                                     retry_after=30, details={"max_connections": cap.limit})
            await _refuse(scope, send, error, admission.headers)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            if slot is not None:
                await cap.give_back(slot)


async def _refuse(scope: Scope, send: Send, error: ApiError, headers: list[tuple[bytes, bytes]]) -> None:
    """The error's envelope as the answer to a request, or to a websocket handshake (HTTP, before any
    upgrade, when the server can; else a policy close)."""
    body = orjson.dumps(error_body(error.code, error.message, error.details))
    all_headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body)),
                   *((k.lower().encode(), v.encode()) for k, v in error.response_headers().items()), *headers]
    kind = scope["type"]
    prefix = "http" if kind == "http" else "websocket.http"
    if kind == "websocket" and "websocket.http.response" not in (scope.get("extensions") or {}):
        await send({"type": "websocket.close", "code": 1008, "reason": error.code})
        return
    await send({"type": f"{prefix}.response.start", "status": error.status, "headers": all_headers})
    await send({"type": f"{prefix}.response.body", "body": body})
