"""Access to the recorded payloads shipped in sandbox/data."""

import os
from functools import cache
from pathlib import Path

import orjson

DATA_DIR_ENV = "SANDBOX_DATA_DIR"


def data_dir() -> Path:
    """Folder holding the recorded payloads (SANDBOX_DATA_DIR overrides the packaged one)."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1] / "data"


@cache
def load_json(relative: str):
    """Parsed content of a JSON file under the data folder (cached; callers must not mutate it)."""
    return orjson.loads((data_dir() / relative).read_bytes())
