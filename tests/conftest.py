"""Suite-level fixtures: the whole suite as local processes on free ports, with the sandbox upstreams.
Every body a suite test receives through `api` is checked against the suite's OpenAPI document."""

from collections.abc import Iterator

import httpx
import pytest

from devstack import Stack

from contract import Contract
from helpers import SandboxControl, forget_rate_limits, running_suite


@pytest.fixture(scope="session")
def suite(tmp_path_factory) -> Iterator[Stack]:
    with running_suite(tmp_path_factory.mktemp("suite")) as stack:
        yield stack


@pytest.fixture
def sandbox(suite: Stack) -> Iterator[SandboxControl]:
    control = SandboxControl(suite.url("sandbox"))
    control.clear()
    yield control
    control.clear()
    control.http.close()
    forget_rate_limits(suite)


@pytest.fixture(scope="session")
def contract(suite: Stack) -> Contract:
    """The merged OpenAPI document the suite serves."""
    return Contract.of(suite.url("traefik"))


@pytest.fixture
def api(suite: Stack, contract: Contract) -> Iterator[httpx.Client]:
    """A client of the public surface, through traefik; every answer must match its documented model."""
    with contract.client(suite.url("traefik")) as client:
        yield client
