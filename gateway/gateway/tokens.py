"""JWT bearer tokens from an identity provider (optional): HS256 with a shared secret, or RS/ES keys from a
JWKS URL. A valid token's `sub` is the caller's rate-limit identity; its scopes come from the `scope`
claim (space-separated, OAuth 2.0) or `scp`/`scopes` (a list). `exp` is required.

Verification is PyJWT's. JWKS keys are fetched with httpx (never blocking the event loop) and kept for
GATEWAY_JWT_JWKS_CACHE_SECONDS; a token whose `kid` is not known yet makes one fetch.
"""

import time
from dataclasses import dataclass

import httpx
import jwt

_SCOPE_CLAIMS = ("scope", "scp", "scopes")


@dataclass(frozen=True)
class Claims:
    subject: str
    scopes: frozenset[str]


class InvalidToken(Exception):
    """Expired, badly signed, malformed, or missing a claim."""


class UnknownSigningKey(Exception):
    """The token names a key the JWKS has not been read for yet: `verify_async` fetches it."""


def looks_like_jwt(value: str) -> bool:
    return value.count(".") == 2 and value.startswith("eyJ")


class TokenVerifier:
    """Checks bearer tokens against the configured secret or JWKS."""

    def __init__(self, *, secret: str | None = None, jwks_url: str | None = None,
                 algorithms: list[str] | None = None, audience: str | None = None, issuer: str | None = None,
                 leeway: float = 30.0, jwks_cache_seconds: float = 300.0):
        if not secret and not jwks_url:
            raise ValueError("a JWT secret or a JWKS URL is needed")
        self.secret = secret
        self.jwks_url = jwks_url
        self.algorithms = algorithms or (["HS256"] if secret else ["RS256", "ES256"])
        self.audience, self.issuer, self.leeway = audience, issuer, leeway
        self.jwks_cache_seconds = jwks_cache_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_read_at = 0.0

    def verify(self, token: str) -> Claims:
        """The claims of a valid token; InvalidToken, or UnknownSigningKey when a JWKS fetch is needed."""
        key = self.secret
        if self.jwks_url:
            try:
                kid = jwt.get_unverified_header(token).get("kid")
            except jwt.PyJWTError as exc:
                raise InvalidToken(str(exc)) from exc
            fresh = time.monotonic() - self._keys_read_at < self.jwks_cache_seconds
            if kid not in self._keys or not fresh:
                raise UnknownSigningKey(kid)
            key = self._keys[kid]
        try:
            claims = jwt.decode(token, key, algorithms=self.algorithms, audience=self.audience, issuer=self.issuer,
                                leeway=self.leeway, options={"require": ["exp", "sub"],
                                                             "verify_aud": self.audience is not None})
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        return Claims(subject=str(claims["sub"]), scopes=_scopes(claims))

    async def verify_async(self, token: str) -> Claims:
        """`verify`, reading the JWKS first when the token's key is not known (or the cache is old)."""
        try:
            return self.verify(token)
        except UnknownSigningKey:
            await self._read_jwks()
        try:
            return self.verify(token)
        except UnknownSigningKey as exc:
            raise InvalidToken(f"no key {exc} in the JWKS") from exc

    async def _read_jwks(self) -> None:
        async with httpx.AsyncClient(timeout=5.0) as client:
            try:
                response = await client.get(self.jwks_url)
                response.raise_for_status()
                keys = jwt.PyJWKSet.from_dict(response.json()).keys
            except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
                raise InvalidToken(f"JWKS not readable: {exc}") from exc
        self._keys = {k.key_id: k for k in keys if k.key_id}
        self._keys_read_at = time.monotonic()


def _scopes(claims: dict) -> frozenset[str]:
    for name in _SCOPE_CLAIMS:
        value = claims.get(name)
        if isinstance(value, str):
            return frozenset(value.split())
        if isinstance(value, list):
            return frozenset(str(v) for v in value)
    return frozenset()
