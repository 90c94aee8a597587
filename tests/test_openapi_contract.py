"""schemathesis over the merged OpenAPI document: every operation, called with generated valid and invalid
input against the suite on the sandbox, with all of schemathesis' checks (no server error, documented
statuses, content types and headers, response schema conformance, invalid input rejected, valid input
accepted, 405 with Allow for other methods). A bounded number of examples keeps it inside CI time."""

import subprocess
import sys
from pathlib import Path

# The schemathesis command of this interpreter's environment.
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"


def test_every_operation_of_the_merged_document_keeps_its_contract(suite, tmp_path):
    url = f"{suite.url('traefik')}/openapi.json"
    result = subprocess.run(
        [str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", url, "--checks", "all", "--max-examples", "12",
         "--seed", "1", "--request-timeout", "30", "--continue-on-failure", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path)  # its cache stays out of the repo
    assert result.returncode == 0, result.stdout[-12_000:] + result.stderr[-2_000:]
