"""UpstreamClient.get_bytes: raw bodies through the guard, and conditional GETs that cost a 304 when nothing
changed (the transport is a real httpx transport serving a feed with an ETag, as a server would)."""

import httpx
import pytest

from dm_shared.errors import UpstreamError
from dm_shared.guard import Guard
from dm_shared.upstream import Upstream, UpstreamClient

FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"


def server(seen: list[httpx.Request], status: int = 200):
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304, headers={"ETag": '"v1"'})
        headers = {"ETag": '"v1"', "Last-Modified": "Mon, 13 Mar 2023 10:39:40 GMT"}
        return httpx.Response(status, content=FEED, headers=headers)
    return httpx.MockTransport(answer)


async def test_an_unchanged_resource_costs_a_304_with_no_body():
    seen: list[httpx.Request] = []
    client = UpstreamClient(transport=server(seen))
    upstream = Upstream(Guard("feed"), "http://feeds.test", headers={"Accept": "application/rss+xml"})
    first = await client.get_bytes(upstream, "/rss")
    assert first.content == FEED and not first.not_modified and first.etag == '"v1"'
    assert first.last_modified == "Mon, 13 Mar 2023 10:39:40 GMT"
    again = await client.get_bytes(upstream, "/rss", etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.content == b"" and again.etag == '"v1"'
    assert seen[1].headers["if-none-match"] == '"v1"' and seen[1].headers["if-modified-since"] == first.last_modified
    assert seen[0].headers["accept"] == "application/rss+xml" and "if-none-match" not in seen[0].headers
    assert seen[0].headers["user-agent"].startswith("dreammaker-crypto-api/")
    await client.close()


async def test_an_error_status_is_an_upstream_error_as_for_json():
    client = UpstreamClient(transport=server([], status=404))
    with pytest.raises(UpstreamError) as raised:
        await client.get_bytes(Upstream(Guard("feed"), "http://feeds.test"), "/missing")
    assert raised.value.details["status"] == 404
    await client.close()
