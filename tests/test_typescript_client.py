"""The typed TypeScript client (clients/typescript): its types are generated from the live OpenAPI document
of the suite on the sandbox, its example type-checks with tsc against them and runs with node against the
suite. A response model that drifts from the code breaks this build."""

import os
import subprocess
from pathlib import Path

CLIENT = Path(__file__).resolve().parents[1] / "clients" / "typescript"
BIN = CLIENT / "node_modules" / ".bin"


def run(*command: str, **env: str) -> str:
    result = subprocess.run(command, cwd=CLIENT, capture_output=True, text=True, timeout=300, check=False,
                            env={**os.environ, **env})
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout


def test_the_client_is_generated_from_the_live_document_type_checks_and_runs(suite):
    assert BIN.is_dir(), "clients/typescript has no node_modules: `make install` runs npm ci there"
    base = suite.url("traefik")
    run(str(BIN / "openapi-typescript"), f"{base}/openapi.json", "-o", "src/schema.d.ts")
    run(str(BIN / "tsc"), "-p", ".")
    output = run("node", "dist/examples/example.js", DM_API_URL=base)
    lines = output.splitlines()
    assert lines[0].startswith("price BTC/USDT ") and float(lines[0].split()[2]) > 0
    assert len([line for line in lines if line.startswith("candle ")]) == 3
    assert "market BTC,ETH" in lines and "error 404 INVALID_SYMBOL" in lines
    assert lines[-1].startswith("ticker BTC/USDT ")
