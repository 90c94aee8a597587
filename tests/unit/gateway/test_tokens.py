"""JWT bearer tokens: HS256 with a secret; RS256 with keys read from a JWKS URL (a real local HTTP server)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.tokens import InvalidToken, TokenVerifier, UnknownSigningKey

SECRET = "a-shared-secret-of-at-least-thirty-two-bytes"


def token(claims: dict, key=SECRET, algorithm="HS256", **headers) -> str:
    return jwt.encode({"sub": "alice", "exp": int(time.time()) + 60, **claims}, key, algorithm=algorithm,
                      headers=headers or None)


def test_a_token_signed_with_the_secret_names_its_subject_and_scopes():
    verifier = TokenVerifier(secret=SECRET)
    assert verifier.verify(token({"scope": "read analyze"})).scopes == {"read", "analyze"}
    assert verifier.verify(token({"scp": ["admin"]})).scopes == {"admin"}
    assert verifier.verify(token({})).subject == "alice"


@pytest.mark.parametrize("bad", [
    token({"exp": int(time.time()) - 120}),  # expired beyond the leeway
    token({}, key="another-secret-of-at-least-thirty-two-bytes"),
    jwt.encode({"sub": "alice"}, SECRET, algorithm="HS256"),  # no exp
    jwt.encode({"exp": int(time.time()) + 60}, SECRET, algorithm="HS256"),  # no sub
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6OTk5OTk5OTk5OX0.",  # alg none
    "eyJ.not.a-token",
])
def test_expired_forged_incomplete_or_unsigned_tokens_are_invalid(bad):
    with pytest.raises(InvalidToken):
        TokenVerifier(secret=SECRET).verify(bad)


def test_audience_and_issuer_are_checked_when_set():
    verifier = TokenVerifier(secret=SECRET, audience="dreammaker", issuer="https://id.example")
    assert verifier.verify(token({"aud": "dreammaker", "iss": "https://id.example"})).subject == "alice"
    with pytest.raises(InvalidToken):
        verifier.verify(token({"aud": "someone-else", "iss": "https://id.example"}))


@pytest.fixture
def jwks_server():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    served = {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}
    reads = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            reads.append(self.path)
            body = json.dumps(served).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json", private, reads
    server.shutdown()
    server.server_close()


async def test_keys_come_from_the_jwks_once_and_then_verify_without_a_round_trip(jwks_server):
    url, private, reads = jwks_server
    verifier = TokenVerifier(jwks_url=url)
    signed = token({"scope": "read"}, key=private, algorithm="RS256", kid="k1")
    with pytest.raises(UnknownSigningKey):
        verifier.verify(signed)  # the parser's path cannot fetch: the request takes the async path
    assert (await verifier.verify_async(signed)).scopes == {"read"}
    assert verifier.verify(signed).subject == "alice" and len(reads) == 1
    with pytest.raises(InvalidToken):
        await verifier.verify_async(token({}, key=private, algorithm="RS256", kid="unknown"))
    with pytest.raises(InvalidToken):  # an HS256 token against RS256 keys
        await verifier.verify_async(token({}, kid="k1"))
