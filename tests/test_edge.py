"""The edge of a public deployment (the `edge` stack: two gateway replicas behind traefik): one rate limit per
client address and per key whichever replica answers, cache hits answered in the HTTP parser included;
client addresses only from trusted proxies; API keys created, used and revoked; scopes; JWT bearer tokens;
websocket connects counted and capped; Redis down."""

import asyncio
import hashlib
import itertools
import re
import time

import httpx
import jwt
import pytest
import websockets
from pymongo import MongoClient

from helpers import create_key

_addresses = itertools.count(10)
SECRET = "an-identity-providers-shared-secret-of-32-bytes+"


def new_address() -> str:
    """A loopback address no other test calls from: a client identity of its own."""
    return f"127.0.0.{next(_addresses)}"


def edge_client(edge, address: str, target: str = "traefik", **options) -> httpx.Client:
    return httpx.Client(base_url=edge.url(target), timeout=30,
                        transport=httpx.HTTPTransport(local_address=address), **options)


def hot_answers(edge) -> float:
    """Cache hits the gateways answered inside their HTTP parser so far (both replicas)."""
    total = 0.0
    for name in ("gateway", "gateway-1"):
        text = httpx.get(f"{edge.url(name)}/metrics", timeout=10).text
        total += sum(float(v) for v in re.findall(r"^dm_gateway_hot_answers_total (\S+)$", text, re.M))
    return total


def replica_of(response: httpx.Response) -> str:
    """Which gateway process answered: request ids start with a per-process prefix."""
    return response.headers["x-request-id"][:16]


def assert_limited(response: httpx.Response, policy: str) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == "RATE_LIMITED"
    assert body["error"]["details"]["policy"] == policy
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["ratelimit"].startswith(f'"{policy}";r=0;')
    assert response.headers["x-ratelimit-remaining"] == "0"


def test_the_101st_request_of_an_address_is_refused_whichever_replica_and_cache_hits_count(edge):
    with edge_client(edge, new_address()) as http:
        http.get("/api/market", params={"limit": 5})  # the value each replica then holds in its parser's reach
        before = hot_answers(edge)
        answers = [http.get("/api/market", params={"limit": 5}) for _ in range(99)]
        hits_in_parser = hot_answers(edge) - before
        assert [a.status_code for a in answers] == [200] * 99
        assert len({replica_of(a) for a in answers}) == 2  # traefik spread them over both replicas
        assert hits_in_parser >= 90  # answered in the HTTP parser, and counted all the same
        assert answers[-1].headers["x-ratelimit-remaining"] == "0"
        assert answers[-1].headers["ratelimit-policy"] == '"ip";q=100;w=60'
        assert_limited(http.get("/api/market", params={"limit": 5}), "ip")  # the 101st: a cached value
        assert_limited(http.get("/api/ticker/BTC"), "ip")  # the limit is the address's, on every route


async def test_a_key_has_its_own_limit_the_1001st_request_is_refused(edge):
    key = create_key(edge, name="bulk")
    headers = {"Authorization": f"Bearer {key}"}
    transport = httpx.AsyncHTTPTransport(local_address=new_address())
    async with httpx.AsyncClient(base_url=edge.url("traefik"), transport=transport, timeout=30,
                                 headers=headers) as http:
        gate = asyncio.Semaphore(16)

        async def one(index: int) -> int:
            async with gate:
                return (await http.get("/api/market", params={"limit": 3 + index % 5})).status_code

        statuses = await asyncio.gather(*(one(i) for i in range(1000)))
        assert statuses == [200] * 1000
        refused = await http.get("/api/market", params={"limit": 3})
        assert_limited(refused, "key")
        assert refused.headers["ratelimit-policy"] == '"key";q=1000;w=60'
        anonymous = await http.get("/api/market", params={"limit": 3}, headers={"Authorization": ""})
        assert anonymous.status_code == 200  # the address's own limit is untouched


def test_a_route_with_its_own_limit_refuses_past_it_while_others_answer(edge):
    with edge_client(edge, new_address()) as http:
        for _ in range(5):
            response = http.get("/api/stats")
            assert response.status_code == 200
        assert response.headers["ratelimit-policy"] == '"ip";q=100;w=60, "/api/stats";q=5;w=60'
        assert_limited(http.get("/api/stats"), "/api/stats")
        assert http.get("/api/stats/dominance").status_code == 200


def test_spec_004s_protected_routes_need_their_scope_and_hold_their_own_limits(edge):
    reader = {"X-API-Key": create_key(edge, name="ai-reader", scopes="read")}
    analyst = {"X-API-Key": create_key(edge, name="ai-analyst", scopes="analyze")}
    admin = {"X-API-Key": create_key(edge, name="ai-operator", scopes="admin")}
    with edge_client(edge, new_address()) as http:
        prompt = http.get("/api/ai/prompt", headers=admin).json()
        edit = {"system": prompt["system"], "user": prompt["user"], "note": "unchanged"}
        for method, path, body in (("POST", "/api/ai/storage/clear", None), ("PUT", "/api/ai/prompt", edit)):
            missing = http.request(method, path, json=body)
            assert missing.status_code == 401 and missing.json()["error"]["code"] == "UNAUTHORIZED"
            forbidden = http.request(method, path, json=body, headers=reader)
            assert forbidden.status_code == 403 and forbidden.json()["error"]["details"]["scope"] == "admin"
        assert http.post("/api/ai/analyze", json={"symbol": "BTC"}, headers=reader).status_code == 403
        # Spec 004: analysis 10 a minute per caller, storage clear 1 a minute; the caller's own limit beside.
        for _ in range(10):
            answered = http.post("/api/ai/analyze", json={"symbol": "BTC"}, headers=analyst)
            assert answered.status_code == 200, answered.text
        assert answered.headers["ratelimit-policy"] == '"key";q=1000;w=60, "/api/ai/analyze";q=10;w=60'
        assert_limited(http.post("/api/ai/analyze", json={"symbol": "BTC"}, headers=analyst), "/api/ai/analyze")
        cleared = http.post("/api/ai/storage/clear", headers=admin)
        assert cleared.status_code == 200 and "cleared_analyses" in cleared.json()
        assert_limited(http.post("/api/ai/storage/clear", headers=admin), "/api/ai/storage/clear")
        assert http.get("/api/ai/storage/stats", headers=admin).status_code == 200  # other routes still answer


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(edge):
    # Straight to a gateway from an untrusted peer: X-Forwarded-For and Forwarded are not believed.
    with edge_client(edge, new_address(), target="gateway") as http:
        for index in range(5):
            spoofed = {"X-Forwarded-For": f"203.0.113.{index}", "Forwarded": f"for=198.51.100.{index}"}
            assert http.get("/api/stats", headers=spoofed).status_code == 200
        assert_limited(http.get("/api/stats", headers={"X-Forwarded-For": "203.0.113.99"}), "/api/stats")
    # Through traefik, a client's own X-Forwarded-For is replaced by its address, which the gateway believes:
    # the same spoofing client is still one identity, and two addresses are two.
    spoofer = new_address()
    with edge_client(edge, spoofer) as http:
        for index in range(5):
            assert http.get("/api/stats", headers={"X-Forwarded-For": f"203.0.113.{index}"}).status_code == 200
        assert_limited(http.get("/api/stats", headers={"X-Forwarded-For": "203.0.113.50"}), "/api/stats")
    with edge_client(edge, new_address()) as http:
        assert http.get("/api/stats").status_code == 200  # another address behind traefik: its own limit


def test_keys_are_created_used_and_revoked_on_every_replica_and_stored_hashed(edge):
    admin_key = create_key(edge, name="ops", scopes="read,admin")
    with edge_client(edge, new_address(), headers={"X-API-Key": admin_key}) as admin:
        created = admin.post("/api/admin/keys", json={"name": "frontend", "scopes": ["read"], "rate": "300/minute"})
        assert created.status_code == 201, created.text
        key, record = created.json()["key"], created.json()["api_key"]
        assert key.startswith(f"dmk_{record['id']}_") and record["scopes"] == ["read"]
        listed = admin.get("/api/admin/keys").json()["keys"]
        assert record["id"] in {k["id"] for k in listed} and all("hash" not in k and "key" not in k for k in listed)
        with edge_client(edge, new_address(), headers={"Authorization": f"Bearer {key}"}) as user:
            used = user.get("/api/market", params={"limit": 4})
            assert used.status_code == 200 and used.headers["ratelimit-policy"] == '"key";q=300;w=60'
        with MongoClient(edge.url("mongo")) as mongo:
            stored = mongo.dreammaker.api_keys.find_one({"_id": record["id"]})
        assert stored["hash"] == hashlib.sha256(key.encode()).hexdigest()
        assert key not in str(stored) and key.split("_")[-1] not in str(stored)  # the key is nowhere
        assert admin.delete(f"/api/admin/keys/{record['id']}").json()["api_key"]["revoked_at"] > 0
    revoked_at = time.monotonic()
    refused = set()
    while refused != {"gateway", "gateway-1"} and time.monotonic() - revoked_at < 5:
        for name in ("gateway", "gateway-1"):  # each replica asked directly
            answer = httpx.get(f"{edge.url(name)}/api/market", params={"limit": 4},
                               headers={"Authorization": f"Bearer {key}"})
            if answer.status_code == 401:
                refused.add(name)
        time.sleep(0.1)
    assert refused == {"gateway", "gateway-1"}, f"still accepted after 5 s by {({'gateway', 'gateway-1'} - refused)}"


def test_a_revoked_key_is_refused_on_a_connection_that_repeated_a_cache_hit_with_it(edge):
    """The parser's hit path keeps each connection's last request worked out (caller, quotas): a key revoked
    meanwhile is still refused there within seconds."""
    key = create_key(edge, name="poller")
    with httpx.Client(base_url=edge.url("gateway"), timeout=30, headers={"X-API-Key": key}) as poller:
        poller.get("/api/market", params={"limit": 6})  # cached from here on
        before = hot_answers(edge)
        assert all(poller.get("/api/market", params={"limit": 6}).status_code == 200 for _ in range(20))
        assert hot_answers(edge) - before >= 20  # answered in the parser, on one kept connection
        with edge_client(edge, new_address(), headers={"X-API-Key": create_key(edge, name="ops",
                                                                                  scopes="read,admin")}) as admin:
            assert admin.delete(f"/api/admin/keys/{key.split('_')[1]}").status_code == 200
        revoked_at = time.monotonic()
        while poller.get("/api/market", params={"limit": 6}).status_code != 401:
            assert time.monotonic() - revoked_at < 5, "the revoked key still answers on its kept connection"
            time.sleep(0.05)


def test_bad_credentials_are_401_alike_and_scopes_403(edge):
    read_key = create_key(edge, name="reader", scopes="read")
    revoked = create_key(edge, name="gone")
    with edge_client(edge, new_address(), target="gateway") as http:
        key_id = revoked.split("_")[1]
        http.delete(f"/api/admin/keys/{key_id}", headers={"X-API-Key": create_key(edge, scopes="admin")})
        bodies = []
        for bad in (f"dmk_{key_id}_{'x' * 43}", "dmk_0123456789abcdef_" + "y" * 43, revoked, "dmk_short",
                    "not-a-key"):
            answer = http.get("/api/market", params={"limit": 4}, headers={"X-API-Key": bad})
            assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer")
            bodies.append({k: v for k, v in answer.json()["error"].items()})
        assert all(body == bodies[0] for body in bodies)  # unknown, wrong secret, revoked: one answer
        assert http.get("/api/admin/keys").status_code == 401  # no credential
        forbidden = http.get("/api/admin/keys", headers={"Authorization": f"Bearer {read_key}"})
        assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "FORBIDDEN"
        # A bearer value that is not ours (another API's token a frontend also sends) is not judged on reads.
        assert http.get("/api/market", params={"limit": 4},
                        headers={"Authorization": "Bearer hf_token"}).status_code == 200


def test_a_jwt_signed_with_the_configured_secret_is_a_caller_and_a_bad_one_is_401(edge):
    now = int(time.time())
    good = jwt.encode({"sub": "alice", "exp": now + 60, "scope": "read admin"}, SECRET, algorithm="HS256")
    expired = jwt.encode({"sub": "alice", "exp": now - 120}, SECRET, algorithm="HS256")
    forged = jwt.encode({"sub": "alice", "exp": now + 60}, "another-secret-of-at-least-32-bytes!!", algorithm="HS256")
    with edge_client(edge, new_address()) as http:
        ok = http.get("/api/market", params={"limit": 4}, headers={"Authorization": f"Bearer {good}"})
        assert ok.status_code == 200 and ok.headers["ratelimit-policy"] == '"token";q=1000;w=60'
        assert http.get("/api/admin/keys", headers={"Authorization": f"Bearer {good}"}).status_code == 200
        for bad in (expired, forged, good[:-4] + "AAAA"):
            answer = http.get("/api/market", params={"limit": 4}, headers={"Authorization": f"Bearer {bad}"})
            assert answer.status_code == 401 and answer.json()["error"]["code"] == "UNAUTHORIZED"


def test_operators_details_need_an_internal_address_or_an_admin_key(edge):
    admin_key = create_key(edge, scopes="admin")
    with edge_client(edge, new_address()) as outside:
        public = outside.get("/health").json()
        assert set(public) == {"success", "timestamp", "status", "version", "uptime"}  # no components
        assert outside.get("/metrics").status_code == 401
        assert outside.get("/metrics", headers={"X-API-Key": create_key(edge)}).status_code == 403
        admin = outside.get("/metrics", headers={"X-API-Key": admin_key})
        assert admin.status_code == 200 and "dm_http_requests_total" in admin.text
        assert "components" in outside.get("/api/health", headers={"X-API-Key": admin_key}).json()
    with edge_client(edge, "127.0.0.1") as inside:
        assert "components" in inside.get("/health").json() and inside.get("/metrics").status_code == 200
    # Liveness stays open to anyone, uncounted, for load balancers.
    assert httpx.get(f"{edge.url('gateway')}/healthz").json() == {"status": "healthy"}


async def test_websocket_connects_count_and_an_address_holds_at_most_its_cap(edge):
    address = new_address()
    url = edge.url("traefik").replace("http://", "ws://") + "/ws"
    held = []
    try:
        for _ in range(3):
            held.append(await websockets.connect(url, local_addr=(address, 0)))
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(url, local_addr=(address, 0))
        assert refused.value.response.status_code == 429
        assert b"RATE_LIMITED" in refused.value.response.body
        await held.pop().close()
        await asyncio.sleep(0.2)
        held.append(await websockets.connect(url, local_addr=(address, 0)))  # a place freed
    finally:
        for ws in held:
            await ws.close()
    # A connect counts against the address's request limit like any request.
    other = new_address()
    with edge_client(edge, other) as http:
        for _ in range(100):
            http.get("/api/market", params={"limit": 5})
    with pytest.raises(websockets.InvalidStatus) as limited:
        await websockets.connect(url, local_addr=(other, 0))
    assert limited.value.response.status_code == 429


def test_without_redis_requests_are_answered_and_the_limiter_says_so(edge):
    unavailable = r"^dm_gateway_ratelimit_unavailable_total (\S+)$"

    def count() -> float:
        return sum(float(v) for name in ("gateway", "gateway-1")
                   for v in re.findall(unavailable, httpx.get(f"{edge.url(name)}/metrics").text, re.M))

    before = count()
    edge.kill("redis")
    try:
        with edge_client(edge, new_address()) as http:
            answers = [http.get("/api/market", params={"limit": 5}) for _ in range(10)]
        assert all(a.status_code == 200 and "ratelimit" not in a.headers for a in answers)  # failed open
        assert count() - before >= 10
        logs = edge.log_path("gateway").read_text() + edge.log_path("gateway-1").read_text()
        assert "rate limits unavailable" in logs and "failing open" in logs
    finally:
        edge.start("redis")
    time.sleep(1.5)  # the limiter asks Redis again after its cool-down
    with edge_client(edge, new_address()) as http:
        assert "ratelimit" in http.get("/api/market", params={"limit": 5}).headers
