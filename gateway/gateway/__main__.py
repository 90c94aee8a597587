"""The gateway's server: uvicorn with the gateway's HTTP protocol (fresh cache hits answered in the
parser, gateway/hotpath.py), websockets that linger before closing on a refused frame (gateway/wsprotocol.py),
no per-message deflate, no access log (the suite logs JSON itself), and the garbage collector tuned once
start-up is done.

    python -m gateway [--host 127.0.0.1] [--port 8000]
"""

import argparse
import gc

import uvicorn

from gateway.hotpath import HotPathProtocol
from gateway.settings import get_settings
from gateway.wsprotocol import LingeringWebSocketProtocol


class _Server(uvicorn.Server):
    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        settings = get_settings()
        if settings.gc_freeze:
            # Everything allocated so far lives as long as the process: keep it out of every GC pass.
            gc.freeze()
            gc.set_threshold(settings.gc_threshold, 20, 20)


def main(argv: list[str] | None = None) -> None:
    """Serve the gateway until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m gateway", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    # Per-message deflate would compress every fanned-out tick once per websocket client.
    config = uvicorn.Config("gateway.main:create_app", factory=True, host=args.host, port=args.port,
                            loop="dm_shared.eventloop:new_event_loop", http=HotPathProtocol,
                            ws=LingeringWebSocketProtocol,
                            ws_per_message_deflate=False, access_log=False,
                            # The client's address is the edge's to work out (gateway.clientip), from
                            # trusted proxies only; no Server header names what answers.
                            proxy_headers=False, server_header=False,
                            ws_max_size=get_settings().ws.max_frame_bytes)
    _Server(config).run()


if __name__ == "__main__":
    main()
