"""Suite-level fixtures: the whole suite as local processes on free ports, with the sandbox upstreams.
Every body a suite test receives through `api` is checked against the suite's OpenAPI document."""

import json
from collections.abc import Iterator

import httpx
import pytest

from devstack import Stack
from devstack.catalogue import CATALOGUE, gateway_replica

from contract import Contract
from helpers import SandboxControl, running_suite, sandbox_control


@pytest.fixture(scope="session")
def suite(tmp_path_factory) -> Iterator[Stack]:
    with running_suite(tmp_path_factory.mktemp("suite")) as stack:
        yield stack


@pytest.fixture
def sandbox(suite: Stack) -> Iterator[SandboxControl]:
    with sandbox_control(suite, forget_limits=True) as control:
        yield control


@pytest.fixture(scope="session")
def contract(suite: Stack) -> Contract:
    """The merged OpenAPI document the suite serves."""
    return Contract.of(suite.url("traefik"))


@pytest.fixture
def api(suite: Stack, contract: Contract) -> Iterator[httpx.Client]:
    """A client of the public surface, through traefik; every answer must match its documented model."""
    with contract.client(suite.url("traefik")) as client:
        yield client


# The edge as a public deployment has it: two gateway replicas behind traefik, the spec's limits (and one
# route with its own), traefik the only trusted proxy, 127.0.0.1 the only internal address. Tests call from
# their own loopback addresses (127.0.0.N: `edge_client`), each its own client identity.
EDGE_ENV = {
    "GATEWAY_RATE_ANONYMOUS": "100/minute",
    "GATEWAY_RATE_KEYED": "1000/minute",
    "GATEWAY_RATE_ROUTES": json.dumps({"/api/stats": "5/minute"}),
    "GATEWAY_CACHE_TTL": "{}",
    "GATEWAY_TRUSTED_PROXIES": json.dumps(["127.0.0.1/32"]),
    "GATEWAY_INTERNAL_NETWORKS": json.dumps(["127.0.0.1/32"]),
    "GATEWAY_WS__MAX_CONNECTIONS_PER_IP": "3",
    "GATEWAY_HEADER_TIMEOUT_SECONDS": "2",
    "GATEWAY_JWT_SECRET": "an-identity-providers-shared-secret-of-32-bytes+",
}


@pytest.fixture(scope="session")
def edge(tmp_path_factory) -> Iterator[Stack]:
    catalogue = (*CATALOGUE[:-1], gateway_replica(1), CATALOGUE[-1])  # traefik last: it lists both gateways
    components = ["redis", "nats", "mongo", "sandbox", "market", "stream", "news", "ai", "gateway", "gateway-1",
                  "traefik"]  # news and ai: spec 004's protected routes, with their own scopes and limits
    with running_suite(tmp_path_factory.mktemp("edge"), EDGE_ENV, catalogue=catalogue,
                       components=components) as stack:
        yield stack
