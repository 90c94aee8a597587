"""Cache hits answered inside the gateway's HTTP parser: the same answer as the application path, in
order on a pipelined connection, and every request the parser must not answer left to the application.

These talk to the gateway's own port over a raw socket, because traefik neither pipelines nor passes
`Connection: close` through."""

import socket

import h11
import orjson

from helpers import unique_limit


def _reader() -> h11.Connection:
    """An h11 client ready to parse one answer (the request itself went out raw)."""
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method="GET", target="/", headers=[("host", "gateway")]))
    conn.send(h11.EndOfMessage())
    return conn


def exchange(port: int, raw: bytes, responses: int) -> list[tuple[h11.Response, bytes]]:
    """Send `raw` on one connection and read `responses` answers, in the order they arrive."""
    conn, answers, head, body = _reader(), [], None, b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        while len(answers) < responses:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(sock.recv(65536))  # b"" when the gateway closes: ConnectionClosed
            elif isinstance(event, h11.Response):
                head, body = event, b""
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                answers.append((head, body))
                rest = conn.trailing_data[0]  # the next answers, already read
                conn = _reader()
                if rest:  # (empty data would tell h11 the connection closed)
                    conn.receive_data(rest)
            else:
                break
    return answers


def get(target: str, *extra: str) -> bytes:
    return "\r\n".join((f"GET {target} HTTP/1.1", "Host: gateway", *extra, "", "")).encode()


def headers_of(response: h11.Response) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in response.headers}


def test_a_hit_from_the_parser_is_the_answer_the_application_gives(suite):
    port, target = suite.port("gateway"), f"/api/market?limit={unique_limit()}"
    (miss, _), = exchange(port, get(target), 1)
    assert headers_of(miss)["x-cache"] == "MISS"
    # Keep-alive: answered in the parser. Connection: close: left to the application, which closes after.
    (hot, hot_body), = exchange(port, get(target, "X-Request-ID: hot-1", "Origin: https://app.example"), 1)
    (app, app_body), = exchange(port, get(target, "X-Request-ID: app-1", "Origin: https://app.example",
                                         "Connection: close"), 1)
    hot_headers, app_headers = headers_of(hot), headers_of(app)
    assert hot.status_code == app.status_code == 200
    assert hot_headers.keys() == app_headers.keys() - {"connection"} and app_headers["connection"] == "close"
    assert hot_headers["x-cache"] == app_headers["x-cache"] == "HIT"
    assert (hot_headers["x-request-id"], app_headers["x-request-id"]) == ("hot-1", "app-1")
    assert hot_headers["access-control-allow-origin"] == "*"
    assert int(hot_headers["content-length"]) == len(hot_body)
    hot_json, app_json = orjson.loads(hot_body), orjson.loads(app_body)
    assert hot_json["provenance"]["cached"] is True and hot_json["provenance"]["stale"] is False
    for answer in (hot_json, app_json):
        del answer["timestamp"], answer["provenance"]["age_ms"]
    assert hot_json == app_json


def test_pipelined_requests_are_answered_in_order(suite):
    port = suite.port("gateway")
    cached, cold = 5 + unique_limit() % 50, unique_limit()  # answers of 5-54 items, and of 100 (all recorded)
    exchange(port, get(f"/api/market?limit={cached}"), 1)  # now a hit
    answers = exchange(port, b"".join((
        get(f"/api/market?limit={cached}"),
        get(f"/api/market?limit={cold}"),          # a miss: the application fetches it
        get(f"/api/market?limit={cached}"),        # queued behind the miss, answered after it
        get("/api/market?limit=0"),                 # a 422 from the application
        get(f"/api/market?limit={cached}"),
    )), 5)
    assert [r.status_code for r, _ in answers] == [200, 200, 200, 422, 200]
    assert [headers_of(r).get("x-cache") for r, _ in answers] == ["HIT", "MISS", "HIT", None, "HIT"]
    sizes = [len(orjson.loads(body).get("items", ())) for _, body in answers]
    assert sizes == [cached, 100, cached, 0, cached]
    assert orjson.loads(answers[3][1])["error"]["code"] == "VALIDATION_ERROR"


def test_requests_the_parser_must_not_answer_reach_the_application(suite):
    port, target = suite.port("gateway"), f"/api/market?limit={unique_limit()}"
    exchange(port, get(target), 1)  # now a hit
    (post, post_body), = exchange(port, f"POST {target} HTTP/1.1\r\nHost: gateway\r\nContent-Length: 2\r\n\r\n{{}}"
                                  .encode(), 1)
    assert post.status_code == 405 and orjson.loads(post_body)["error"]["code"] == "METHOD_NOT_ALLOWED"
    (with_body, _), = exchange(port, get(target, "Content-Length: 3").rstrip(b"\r\n") + b"\r\n\r\nabc", 1)
    assert with_body.status_code == 200 and headers_of(with_body)["x-cache"] == "HIT"
    (old, _), = exchange(port, get(target).replace(b"HTTP/1.1", b"HTTP/1.0"), 1)
    assert old.status_code == 200 and old.http_version == b"1.1"
