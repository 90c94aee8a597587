"""CLI: python -m sandbox --host 127.0.0.1 --port-base 8900 [--stream-rate 1]"""

import argparse
import asyncio
import logging
import signal

from sandbox.runtime import serve


def _positive_rate(raw: str) -> float:
    value = float(raw)
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError("must be > 0 and <= 1000")
    return value


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and run the sandbox until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port-base", type=int, default=8900, help="control port; upstreams at fixed offsets")
    parser.add_argument("--stream-rate", type=_positive_rate, default=1.0,
                        help="websocket messages per second per stream (changeable at POST /_sandbox/streams)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(args.host, args.port_base, stop, args.stream_rate)

    asyncio.run(run())


if __name__ == "__main__":
    main()
