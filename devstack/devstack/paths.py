"""Where the repository and its files are, seen from the installed devstack package."""

from __future__ import annotations

from pathlib import Path

TRAEFIK_TEMPLATE = Path("deploy") / "traefik" / "dynamic.yml.tmpl"
# Traefik middlewares of the suite's own (local plugins), read from `plugins-local/` in traefik's working directory.
TRAEFIK_PLUGINS = Path("deploy") / "traefik" / "plugins-local"


def repo_root() -> Path:
    """The repository root: the package's grandparent (editable install), else cwd or a parent."""
    candidates = [Path(__file__).resolve().parents[2], *[Path.cwd(), *Path.cwd().parents]]
    for candidate in candidates:
        if (candidate / TRAEFIK_TEMPLATE).is_file():
            return candidate
    raise FileNotFoundError(
        f"cannot find the repository root (a folder holding {TRAEFIK_TEMPLATE}) "
        f"from {candidates[0]} or {Path.cwd()}"
    )


def default_run_dir() -> Path:
    """The ignored `.run/` folder at the repository root: data dirs and logs of a local run."""
    return repo_root() / ".run"
