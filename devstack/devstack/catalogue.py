"""The components of the suite, as data: ports, command, env, readiness, what they need.

Adding a service (news-svc, ai-svc ...) is one `uvicorn_service(...)` entry in SERVICES: it gets
the common env, is started after the infrastructure and before the gateway, and the gateway
gets its URL in the variable named by `gateway_var`.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import string
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from devstack import binaries
from devstack.errors import DevstackError
from devstack.paths import TRAEFIK_PLUGINS, TRAEFIK_TEMPLATE, repo_root
from devstack.readiness import AllOf, Check, HttpGet, Tcp

if TYPE_CHECKING:
    from devstack.stack import Stack

# Contract offsets (sandbox/sandbox/ports.py is the source of truth once installed).
_CONTRACT_SANDBOX_SPAN = 17


@dataclass(frozen=True)
class PortSpec:
    """A port a component listens on: its default (make run/demo) and how many consecutive ports."""

    default: int
    span: int | Callable[[], int] = 1

    def size(self) -> int:
        """Number of consecutive ports to reserve from the base port."""
        return self.span() if callable(self.span) else self.span


def _nothing(stack: Stack) -> dict[str, str]:
    return {}


def _no_prep(stack: Stack) -> None:
    return None


@dataclass(frozen=True)
class Component:
    """One process of the suite. Callables receive the Stack (ports, urls, run_dir, mode).

    Every process runs with its data dir as cwd: never the repo root, where the `sandbox/`,
    `gateway/` and `devstack/` folders would shadow the installed packages for `python -m`.
    """

    name: str
    ports: Mapping[str, PortSpec]
    command: Callable[[Stack], list[str]]
    ready: Callable[[Stack], Check]
    scheme: str = "http"
    env: Callable[[Stack], dict[str, str]] = _nothing
    prepare: Callable[[Stack], None] = _no_prep
    needs: tuple[str, ...] = ()
    service: bool = False  # gets REDIS_URL, NATS_URL, MONGO_URL, LOG_LEVEL
    offline_only: bool = False
    gateway_var: str | None = None
    start_timeout: float = 30.0


@cache
def sandbox_offsets() -> dict[str, int]:
    """The sandbox's listener offsets (sandbox.ports.OFFSETS); a clear error if not installed."""
    try:
        return dict(importlib.import_module("sandbox.ports").OFFSETS)
    except ImportError:
        pass
    # Run from the repo root, the `sandbox/` folder can shadow the installed package (as a
    # namespace package); ask a fresh interpreter that runs elsewhere.
    probe = "import json, sandbox.ports as p; print(json.dumps(p.OFFSETS))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd="/", capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise DevstackError(
            "the sandbox package is not importable (sandbox.ports.OFFSETS); install it with "
            f"`.venv/bin/pip install -e sandbox`:\n{result.stderr.strip()[-800:]}"
        )
    return {str(k): int(v) for k, v in json.loads(result.stdout).items()}


def _sandbox_span() -> int:
    # Only reserves ports; starting the sandbox fails clearly if the package is missing.
    try:
        return max(sandbox_offsets().values()) + 1
    except DevstackError:
        return _CONTRACT_SANDBOX_SPAN


def sandbox_url(stack: Stack, upstream: str) -> str:
    """Base URL of the sandbox listener that stands in for `upstream`."""
    offsets = sandbox_offsets()
    if upstream not in offsets:
        raise DevstackError(f"the sandbox has no listener for {upstream!r} (has {sorted(offsets)})")
    return f"http://{stack.host}:{stack.port('sandbox') + offsets[upstream]}"


# The suite logs requests itself; per-message deflate would compress every fanned-out tick once per
# client (CPU and ~40 KB of memory per websocket client), so it is off, as in the Dockerfile; the event
# loop is the suite's uvloop (dm_shared/eventloop.py), as in the Dockerfile.
UVICORN_FLAGS = ("--no-access-log", "--ws-per-message-deflate", "false",
                 "--loop", "dm_shared.eventloop:new_event_loop")


def _uvicorn(stack: Stack, package: str, name: str, *flags: str) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", f"{package}.main:create_app", "--factory", *UVICORN_FLAGS, *flags,
        "--host", stack.host, "--port", str(stack.port(name)),
    ]


def uvicorn_service(
    name: str,
    package: str,
    *,
    port: int,
    gateway_var: str | None = None,
    upstreams: Mapping[str, tuple[str, str]] | None = None,
    peers: Mapping[str, str] | None = None,
    offline_env: Mapping[str, str] | None = None,
) -> Component:
    """A FastAPI service run by `python -m uvicorn <package>.main:create_app --factory`.

    `upstreams` maps an env var to (sandbox upstream, path suffix); in offline mode the var
    points at that sandbox listener, otherwise the service keeps its own default. A suffix
    starting with `ws:` asks for the listener's websocket URL (`ws://host:port` + the rest).
    `peers` maps an env var to another service of the suite it calls (`AI_MARKET_URL`: market), which
    then starts first; a peer the stack does not run leaves the variable to the service's default.
    """
    upstreams = dict(upstreams or {})
    peers = dict(peers or {})

    def url(stack: Stack, upstream: str, suffix: str) -> str:
        base = sandbox_url(stack, upstream)
        if suffix.startswith("ws:"):
            return "ws" + base.removeprefix("http") + suffix.removeprefix("ws:")
        return base + suffix

    def env(stack: Stack) -> dict[str, str]:
        found = {var: stack.url(peer) for var, peer in peers.items() if peer in stack.components}
        if not stack.offline:
            return found
        return {**found, **(offline_env or {}),
                **{var: url(stack, up, suffix) for var, (up, suffix) in upstreams.items()}}

    return Component(
        name=name,
        ports={name: PortSpec(port)},
        command=lambda stack: _uvicorn(stack, package, name),
        ready=lambda stack: HttpGet(f"{stack.url(name)}/healthz"),
        env=env,
        needs=("redis", "nats", "mongo", *(("sandbox",) if upstreams else ()), *peers.values()),
        service=True,
        gateway_var=gateway_var,
        start_timeout=60.0,
    )


# The router defined in deploy/traefik/dynamic.yml.tmpl, as traefik's API names it.
_ROUTER = "gateway@file"


def _render_traefik_config(stack: Stack) -> None:
    template = string.Template((repo_root() / TRAEFIK_TEMPLATE).read_text())
    target = stack.data_dir("traefik") / "dynamic.yml"
    # Every gateway the stack runs (the gateway's address even when it runs elsewhere or not yet).
    gateways = [name for name in stack.components if name == "gateway" or name.startswith("gateway-")] or ["gateway"]
    servers = "\n".join(f'          - url: "{stack.url(name)}"' for name in gateways)
    target.write_text(template.substitute(gateway_servers=servers))
    # The middlewares the routes name that are the suite's own, where traefik (in that folder) looks for them.
    shutil.copytree(repo_root() / TRAEFIK_PLUGINS, stack.data_dir("traefik") / "plugins-local", dirs_exist_ok=True)


def _require_sandbox(stack: Stack) -> None:
    sandbox_offsets()


def _clear_nx_pid_file(stack: Stack) -> None:
    # nx-27017 refuses to start while its pid file names a live process; a SIGKILLed
    # server leaves the file behind.
    (stack.data_dir("mongo") / "nx-27017.pid").unlink(missing_ok=True)


REDIS_MAXMEMORY = "256mb"  # compose's default (REDIS_MAXMEMORY)

REDIS = Component(
    name="redis",
    scheme="redis",
    ports={"redis": PortSpec(6380)},
    command=lambda stack: [
        binaries.redis_server(), "--port", str(stack.port("redis")), "--bind", stack.host,
        "--save", "", "--appendonly", "no", "--daemonize", "no",
        "--maxmemory", REDIS_MAXMEMORY, "--maxmemory-policy", "volatile-lru",  # as compose
        "--dir", str(stack.data_dir("redis")),
    ],
    ready=lambda stack: Tcp(stack.port("redis"), send=b"PING\r\n", expect=b"+PONG"),
)

NATS = Component(
    name="nats",
    scheme="nats",
    ports={"nats": PortSpec(4222), "nats_monitor": PortSpec(8222)},
    command=lambda stack: [
        binaries.nats_server(), "-a", stack.host, "-p", str(stack.port("nats")),
        "-m", str(stack.port("nats_monitor")), "-js", "-sd", str(stack.data_dir("nats")),
    ],
    # 200 only once JetStream is up, not just the listener.
    ready=lambda stack: AllOf((
        HttpGet(f"http://{stack.host}:{stack.port('nats_monitor')}/healthz?js-enabled-only=true"),
        Tcp(stack.port("nats")),
    )),
)

MONGO = Component(
    name="mongo",
    scheme="mongodb",
    ports={"mongo": PortSpec(27018)},
    command=lambda stack: [
        *binaries.nx_27017_command(), "--host", stack.host, "--port", str(stack.port("mongo")),
        "--data-dir", str(stack.data_dir("mongo") / "data"),
        "--pid-file", str(stack.data_dir("mongo") / "nx-27017.pid"),
        "--log-file", os.devnull,  # it also logs to stderr, which goes to the component log
    ],
    prepare=_clear_nx_pid_file,
    ready=lambda stack: Tcp(stack.port("mongo")),
)

SANDBOX = Component(
    name="sandbox",
    ports={"sandbox": PortSpec(8900, span=_sandbox_span)},
    command=lambda stack: [
        sys.executable, "-m", "sandbox", "--host", stack.host,
        "--port-base", str(stack.port("sandbox")),
    ],
    prepare=_require_sandbox,
    ready=lambda stack: HttpGet(f"{stack.url('sandbox')}/_sandbox/health"),
    env=lambda stack: {"LOG_LEVEL": stack.log_level},
    offline_only=True,
)

# name -> (package, default port, gateway variable, upstream variables[, peer services by variable])
_SERVICE_SPECS: dict[str, tuple] = {
    "market": ("market_svc", 8101, "GATEWAY_MARKET_URL", {
        "MARKET_COINGECKO_URL": ("coingecko", "/api/v3"),
        "MARKET_BINANCE_URL": ("binance", ""),
        "MARKET_KUCOIN_URL": ("kucoin", ""),
        "MARKET_OKX_URL": ("okx", ""),
        "MARKET_CMC_URL": ("coinmarketcap", ""),
        "MARKET_COINPAPRIKA_URL": ("coinpaprika", "/v1"),
    }),
    "stream": ("stream_svc", 8102, "GATEWAY_STREAM_URL", {
        "STREAM_BINANCE_WS_URL": ("binance", "ws:"),
    }),
    "news": ("news_svc", 8103, "GATEWAY_NEWS_URL", {
        "NEWS_RSS_URL": ("rss", ""),
        "NEWS_CRYPTOPANIC_URL": ("cryptopanic", "/api"),
        "NEWS_NEWSAPI_URL": ("newsapi", ""),
        "NEWS_ALTERNATIVE_ME_URL": ("alternative_me", ""),
    }, {"NEWS_MARKET_URL": "market"}),
    # ai-svc reads market-svc and news-svc (internal routes); its one upstream is the optional LLM.
    "ai": ("ai_svc", 8105, "GATEWAY_AI_URL", {"AI_LLM_URL": ("openai", "/v1")},
           {"AI_MARKET_URL": "market", "AI_NEWS_URL": "news"}),
    "chain": ("chain_svc", 8104, "GATEWAY_CHAIN_URL", {
        "CHAIN_ETHERSCAN_URL": ("etherscan", "/v2/api"),
        "CHAIN_EVM_FALLBACK_URL": ("etherscan_fallback", "/v2/network/mainnet/evm/{chainid}/etherscan/api"),
        "CHAIN_MEMPOOL_URL": ("mempool", "/api"),
        "CHAIN_ESPLORA_URL": ("esplora", "/api"),
        "CHAIN_WHALE_ALERT_URL": ("whale_alert", "/v1"),
    }, {"CHAIN_MARKET_URL": "market"}),
}

# Settings a service gets in offline mode besides its upstream URLs: the sandbox has recordings of the
# CoinDesk and Cointelegraph feeds, not of Decrypt's.
_OFFLINE_ENV: dict[str, dict[str, str]] = {
    "news": {"NEWS_RSS_FEEDS": json.dumps([
        {"name": "CoinDesk", "url": "https://www.coindesk.com/arc/outboundfeeds/rss/"},
        {"name": "Cointelegraph", "url": "https://cointelegraph.com/rss"}])},
}

SERVICES = tuple(
    uvicorn_service(name, spec[0], port=spec[1], gateway_var=spec[2], upstreams=spec[3],
                    peers=spec[4] if len(spec) > 4 else None, offline_env=_OFFLINE_ENV.get(name))
    for name, spec in _SERVICE_SPECS.items()
)


def replica(name: str, index: int) -> Component:
    """Another instance of service `name` (`name-index`, default port + 10 * index), e.g. to test
    how replicas share budgets and leases; the gateway keeps talking to the first."""
    package, port, _, upstreams, *peers = _SERVICE_SPECS[name]
    return uvicorn_service(f"{name}-{index}", package, port=port + 10 * index, upstreams=upstreams,
                           peers=peers[0] if peers else None, offline_env=_OFFLINE_ENV.get(name))

def gateway_component(name: str = "gateway", port: int = 8100) -> Component:
    """A gateway process; traefik balances over every one the stack runs (`gateway`, `gateway-1` ...)."""
    return Component(
        name=name,
        ports={name: PortSpec(port)},
        # The gateway's own server entry (gateway/__main__.py): its HTTP protocol answers fresh cache hits in
        # the parser, and it tunes the garbage collector after start-up; compose runs the same command.
        command=lambda stack: [sys.executable, "-m", "gateway", "--host", stack.host, "--port", str(stack.port(name))],
        ready=lambda stack: HttpGet(f"{stack.url(name)}/healthz"),
        env=lambda stack: {s.gateway_var: stack.url(s.name) for s in SERVICES if s.gateway_var},
        needs=("redis", "nats", *(s.name for s in SERVICES)),
        service=True,
        start_timeout=60.0,
    )


GATEWAY = gateway_component()


def gateway_replica(index: int) -> Component:
    """Another gateway (`gateway-<index>`, port 8100 + 10 * index) behind the same traefik: replicas share one
    cache, one set of rate limits and one key store. Traefik must start after it (list it before traefik)."""
    return gateway_component(f"gateway-{index}", 8100 + 10 * index)


# The edge's limits on what a client may send, the same in compose (docker-compose.yml): a whole request
# (headers and body) within 15 s, so a client trickling its headers is dropped; headers within 64 KiB (the
# gateway answers anything over 16 KiB with its 431 envelope); an idle keep-alive connection closed after 90 s;
# a body in chunked coding read whole before it is forwarded (deploy/traefik/plugins-local: a broken one is
# the 400 envelope, not traefik's own 500).
TRAEFIK_EDGE_FLAGS = (
    "--entrypoints.web.transport.respondingTimeouts.readTimeout=15s",
    "--entrypoints.web.transport.respondingTimeouts.idleTimeout=90s",
    "--entrypoints.web.http.maxHeaderBytes=65536",
    "--experimental.localPlugins.chunkedbody.moduleName=dreammaker/chunkedbody",
)

TRAEFIK = Component(
    name="traefik",
    ports={"traefik": PortSpec(8080), "traefik_ping": PortSpec(8081)},
    command=lambda stack: [
        binaries.traefik(),
        f"--entrypoints.web.address={stack.host}:{stack.port('traefik')}",
        f"--entrypoints.traefik.address={stack.host}:{stack.port('traefik_ping')}",
        "--ping=true",
        "--ping.entrypoint=traefik",
        "--api.insecure=true",  # read-only API on the ping entrypoint, for readiness
        "--api.dashboard=false",
        f"--providers.file.filename={stack.data_dir('traefik') / 'dynamic.yml'}",
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
        "--log.level=ERROR",
        # The default 2s throttle also delays a SIGTERM that arrives just after start-up.
        "--providers.providersThrottleDuration=100ms",
        *TRAEFIK_EDGE_FLAGS,
    ],
    prepare=_render_traefik_config,
    # traefik looks for a traefik.yml in cwd, $HOME/.config and $XDG_CONFIG_HOME before it
    # reads flags; those point at its own folder (also its cwd) so only the flags count.
    env=lambda stack: {
        "HOME": str(stack.data_dir("traefik")),
        "XDG_CONFIG_HOME": str(stack.data_dir("traefik")),
    },
    # Ping and the web port answer before the file provider's routes are loaded; the
    # (loopback-only) API on the ping entrypoint shows the router once it is.
    ready=lambda stack: AllOf((
        HttpGet(f"http://{stack.host}:{stack.port('traefik_ping')}/ping"),
        Tcp(stack.port("traefik")),
        HttpGet(f"http://{stack.host}:{stack.port('traefik_ping')}/api/http/routers/{_ROUTER}"),
    )),
    needs=("gateway",),
)

CATALOGUE: tuple[Component, ...] = (REDIS, NATS, MONGO, SANDBOX, *SERVICES, GATEWAY, TRAEFIK)


def start_order(components: list[Component]) -> list[Component]:
    """Order `components` so each starts after what it needs (catalogue order breaks ties)."""
    by_name = {c.name: c for c in components}
    ordered: list[Component] = []
    visiting: set[str] = set()

    def visit(component: Component) -> None:
        if any(done.name == component.name for done in ordered):
            return
        if component.name in visiting:
            raise DevstackError(f"dependency cycle through {component.name}")
        visiting.add(component.name)
        for need in component.needs:
            if need in by_name:
                visit(by_name[need])
        visiting.discard(component.name)
        ordered.append(component)

    for component in components:
        visit(component)
    return ordered
