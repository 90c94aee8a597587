"""The gateway's websocket protocol: uvicorn's, with a lingering close after a frame it refuses.

When a client's frame breaks the protocol (over GATEWAY_WS__MAX_FRAME_BYTES: 1009; malformed: 1002; not UTF-8:
1007), uvicorn sends the close frame and closes the socket at once, while the rest of the client's frame is
still arriving. A socket closed with data unread is reset, not closed, and traefik in front then resets the
client's connection too: the close frame and its reason were lost on the way (10 of 40 frames of 200 KB sent
through traefik ended 1006, not 1009). As a web server's lingering close does, this one reads and drops what
the client still sends (the rest of its frame, then its own close frame) until the client has been quiet for
LINGER_QUIET_SECONDS, LINGER_MAX_SECONDS at most, and only then closes.

    uvicorn ... --ws gateway.wsprotocol:LingeringWebSocketProtocol
"""

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

LINGER_QUIET_SECONDS = 0.5
LINGER_MAX_SECONDS = 5.0


class LingeringWebSocketProtocol(WebSocketsSansIOProtocol):
    _linger_until: float | None = None

    def handle_parser_exception(self) -> None:
        close = self.conn.close_sent
        self.queue.put_nowait({"type": "websocket.disconnect", "code": close.code, "reason": close.reason})
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self._linger_until = self.loop.time() + LINGER_MAX_SECONDS
        if self.read_paused:  # a message was waiting for the app: the rest must still be read
            self.read_paused = False
            self.transport.resume_reading()
        self._linger()

    def data_received(self, data: bytes) -> None:
        if self._linger_until is None:
            super().data_received(data)
        else:
            self._linger()  # dropped: the connection has failed, only its end is awaited

    def _linger(self) -> None:
        """(Re)start the quiet period; close once it passes or the lingering time is over. uvicorn's close timer
        holds it: while one is set, the app's end does not close the connection; the connection's end or a
        server shutdown cancels it."""
        if self.close_timer is not None:
            self.close_timer.cancel()
        delay = min(LINGER_QUIET_SECONDS, self._linger_until - self.loop.time())
        self.close_timer = self.loop.call_later(max(delay, 0.0), self.transport.close)
