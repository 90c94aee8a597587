"""`python -m devstack run|demo`: the whole suite on the default ports until Ctrl-C, each component
restarted (with backoff, on its ports) when it exits on its own."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from devstack.errors import DevstackError
from devstack.paths import default_run_dir
from devstack.stack import Stack
from devstack.supervisor import Event, Supervisor


class _Shutdown(Exception):
    """Raised in the main thread by the SIGINT/SIGTERM handler."""


def _raise_shutdown(signum: int, frame: object) -> None:
    raise _Shutdown(signal.Signals(signum).name)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument(
        "mode",
        choices=["run", "demo"],
        help="run: real upstream APIs; demo: offline, every upstream pointed at the sandbox",
    )
    parser.add_argument("--run-dir", type=Path, help="data and logs (default: <repo>/.run)")
    parser.add_argument("--log-level", help="LOG_LEVEL given to the services (default INFO)")
    parser.add_argument(
        "--components",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        help="comma-separated subset to start, e.g. redis,nats,mongo,traefik (default: all)",
    )
    parser.add_argument(
        "--free-ports", action="store_true", help="pick free ports instead of the default ones"
    )
    return parser


def _status(name: str, text: str) -> None:
    print(f"  {name:<8} {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Start the suite, print its URLs, wait for Ctrl-C or SIGTERM, then stop every child."""
    args = _parser().parse_args(argv)
    offline = args.mode == "demo"
    signal.signal(signal.SIGINT, _raise_shutdown)
    signal.signal(signal.SIGTERM, _raise_shutdown)
    stack: Stack | None = None
    code = 0
    try:
        run_dir = args.run_dir or default_run_dir()
        stack = Stack(
            run_dir,
            offline=offline,
            ports=None if args.free_ports else "default",
            log_level=args.log_level,
            components=args.components,
        )
        mode = "offline demo, upstreams -> sandbox" if offline else "real upstreams"
        print(f"devstack {args.mode} ({mode}); data and logs in {stack.run_dir}", flush=True)
        for name in stack.components:
            seconds = stack.start(name)
            _status(name, f"ready in {seconds:.1f}s  {stack.url(name)}  pid {stack.pid(name)}")
        if "traefik" in stack.components:
            edge = stack.url("traefik")
            print(f"up: {edge}/api/...  {edge}/docs  {edge}/health   (Ctrl-C to stop)", flush=True)
        Supervisor(stack, report=_report).run()
    except _Shutdown as exc:
        print(f"{exc}: stopping", flush=True)
    except DevstackError as exc:
        print(f"devstack: {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if stack is not None:
            stack.close()
            print("devstack: every component stopped", flush=True)
    return code


def _report(event: Event) -> None:
    _status(event.name, f"{time.strftime('%H:%M:%S')} {event}")
