"""The gateway's own counters (beside dm_shared.metrics' request and cache metrics)."""

from dm_shared.metrics import LoopCounter

# Fresh cache hits answered inside the HTTP parser (gateway/hotpath.py), not through the ASGI app.
HOT_ANSWERS = LoopCounter("dm_gateway_hot_answers", "Cache hits answered in the HTTP parser", [])
